"""`GET /healthz`: whether this instance can serve, for a load balancer and a person on call.

Answered by a middleware ahead of the host check and the HTTPS redirect: a load balancer probes
each instance by its address over plain HTTP, and must get the health, not a 400 or a 301. The
answer names each check and its state, never data or error details (it needs no login); the
details go to the log.
"""

import logging

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    renderer_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from portal.jobs.selectors import failing_periodic_jobs, task_queue_lag
from portal.storage import evidence_store

logger = logging.getLogger("portal.health")

HEALTH_PATH = "/healthz"
STORAGE_TIMEOUT_SECONDS = 3


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def check_storage():
    evidence_store(timeout_seconds=STORAGE_TIMEOUT_SECONDS).check()
    return {"mode": "s3" if settings.S3_BUCKET else "local"}


def check_task_queue():
    """Fails when a due job has waited too long for a worker (no worker runs, or too few), or
    when a periodic job keeps failing after all its attempts."""
    lag = round(task_queue_lag(), 1)
    failing = failing_periodic_jobs()
    problems = []
    if settings.TASKS_BACKEND == "database" and lag > settings.HEALTH_TASK_QUEUE_MAX_LAG_SECONDS:
        problems.append("lag")
    if failing:
        problems.append("failing_jobs")
    details = {"backend": settings.TASKS_BACKEND, "lag_seconds": lag, "failing_jobs": failing}
    if problems:
        raise UnhealthyCheck(details)
    return details


class UnhealthyCheck(Exception):
    """A check that ran and found a fault; its details are safe to show."""

    def __init__(self, details):
        super().__init__(details)
        self.details = details


CHECKS = {"database": check_database, "storage": check_storage, "task_queue": check_task_queue}


def run_health_checks():
    """Every check's state, by name."""
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = {"status": "ok", **check()}
        except UnhealthyCheck as fault:
            logger.warning("health check %s failed: %s", name, fault.details)
            results[name] = {"status": "fail", **fault.details}
        except Exception as error:
            logger.warning("health check %s failed: %r", name, error)
            results[name] = {"status": "fail", "error": type(error).__name__}
    return results


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "fail"])
    failing = serializers.ListField(
        child=serializers.ChoiceField(choices=list(CHECKS)),
        required=False,
        help_text="the checks that failed (503 only)",
    )
    checks = serializers.DictField(
        child=serializers.DictField(),
        help_text='each check: {"status": "ok"|"fail", ...its details}',
    )


@extend_schema(
    operation_id="healthz",
    tags=["health"],
    summary="Health of this instance (no login)",
    auth=[],
    responses={200: HealthSerializer, 503: HealthSerializer},
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@renderer_classes([JSONRenderer])
def healthz(request):
    checks = run_health_checks()
    failing = [name for name, result in checks.items() if result["status"] != "ok"]
    body = {"status": "fail", "failing": failing} if failing else {"status": "ok"}
    body["checks"] = checks
    return Response(body, status=503 if failing else 200, headers={"Cache-Control": "no-store"})


class HealthCheckMiddleware:
    """Routes /healthz to its view before the rest of the stack (see the module's docstring);
    the URL map names it too, for the API schema and `reverse()`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            response = healthz(request)
            response.render()
            return response
        return self.get_response(request)
