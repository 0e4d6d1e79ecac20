"""Running one period of a periodic job: what the background task does."""

import logging
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.jobs.models import PeriodicRun
from portal.jobs.registry import periodic_job

logger = logging.getLogger("portal.jobs")


def do_run_periodic_job(*, run_id):
    """Run a queued period once. A run already taken by another worker, or finished, is left
    alone; a failure is recorded with its next attempt (backoff) and raised again, so that the
    worker records it too."""
    run = _start(run_id)
    if run is None:
        return None
    try:
        outcome = periodic_job(run.job).run()
    except Exception as error:
        record_failure(run, error)
        raise
    run.status = PeriodicRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.next_attempt_at = None
    run.last_error = ""
    run.outcome = "" if outcome is None else str(outcome)[:200]
    run.save(update_fields=["status", "finished_at", "next_attempt_at", "last_error", "outcome"])
    return run


@transaction.atomic
def _start(run_id):
    run = PeriodicRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.status != PeriodicRun.Status.QUEUED:
        return None
    run.status = PeriodicRun.Status.RUNNING
    run.attempts += 1
    run.started_at = timezone.now()
    run.finished_at = None
    run.save(update_fields=["status", "attempts", "started_at", "finished_at"])
    return run


def record_failure(run, error):
    logger.error(
        "periodic job %s (%s) failed, attempt %d: %s",
        run.job,
        run.period.isoformat(),
        run.attempts,
        error,
        exc_info=error,
    )
    run.status = PeriodicRun.Status.FAILED
    run.finished_at = timezone.now()
    run.next_attempt_at = _next_attempt(run)
    run.last_error = "".join(traceback.format_exception_only(error)).strip()[:2000]
    run.save(update_fields=["status", "finished_at", "next_attempt_at", "last_error"])


def _next_attempt(run):
    """Exponential backoff; None once the run has used its attempts (it shows in /healthz)."""
    if run.attempts >= settings.PERIODIC_JOB_MAX_ATTEMPTS:
        return None
    delay = settings.PERIODIC_JOB_RETRY_SECONDS * 2 ** (run.attempts - 1)
    return timezone.now() + timedelta(seconds=min(delay, 3600))
