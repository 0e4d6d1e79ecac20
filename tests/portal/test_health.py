"""GET /healthz: what a load balancer and the person on call see (API.md, Verification and
health)."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

pytestmark = pytest.mark.django_db


def test_a_healthy_instance_answers_200_with_each_check(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "storage", "task_queue"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


def test_a_load_balancer_probing_by_address_over_http_gets_the_health(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["portal.example.gov.cn"]

    response = client.get("/healthz", HTTP_HOST="10.0.0.5:8000")

    assert response.status_code == 200
    # Everything else still gets the host check.
    assert client.get("/accounts/login/", HTTP_HOST="10.0.0.5:8000").status_code == 400


def test_an_unreachable_database_is_503_naming_it_without_details(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "db.internal" failed: password')

    monkeypatch.setattr("portal.health.connection.cursor", refuse)
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail" and "database" in body["failing"]
    assert body["checks"]["database"] == {"status": "fail", "error": "OperationalError"}
    assert "db.internal" not in response.content.decode()


def test_a_missing_bucket_is_503_naming_storage(client, s3, settings):
    settings.S3_BUCKET = "no-such-bucket"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]


def test_the_bucket_reachable_is_healthy(client, s3):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["checks"]["storage"] == {"status": "ok", "mode": "s3"}


def test_jobs_waiting_too_long_for_a_worker_are_503_naming_the_task_queue(client, settings):
    settings.TASKS_BACKEND = "database"
    settings.HEALTH_TASK_QUEUE_MAX_LAG_SECONDS = 300
    waiting = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="documents.pdf.tasks.convert_document_pdf",
        backend_name="default",
        run_after=get_date_max(),  # queued to run at once
    )
    DBTaskResult.objects.filter(pk=waiting.pk).update(
        enqueued_at=timezone.now() - timedelta(minutes=10)
    )

    response = client.get("/healthz")

    assert response.status_code == 503
    queue = response.json()["checks"]["task_queue"]
    assert queue["status"] == "fail" and 590 < queue["lag_seconds"] < 700


def test_a_job_due_a_moment_ago_is_healthy(client, settings):
    settings.TASKS_BACKEND = "database"
    DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="documents.pdf.tasks.convert_document_pdf",
        backend_name="default",
        run_after=timezone.now() - timedelta(seconds=5),
    )

    response = client.get("/healthz")

    assert response.status_code == 200
    assert 0 < response.json()["checks"]["task_queue"]["lag_seconds"] < 60
