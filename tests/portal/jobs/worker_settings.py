"""Settings of the worker process that test_worker_killed.py starts and kills."""

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.portal.jobs.worker_app"]  # noqa: F405
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
TASKS_BACKEND = "database"
