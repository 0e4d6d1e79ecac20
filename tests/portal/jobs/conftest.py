from datetime import UTC, datetime

import pytest

from portal.jobs import registry
from portal.jobs.registry import register_periodic_job

# A Monday noon in Shanghai, in UTC: far from any midnight or hour of the real jobs.
NOON = datetime(2026, 3, 2, 4, 0, 30, tzinfo=UTC)


@pytest.fixture
def timetable(monkeypatch):
    """The registry as the apps left it, to which a test adds jobs of its own; undone after."""
    monkeypatch.setattr(registry, "_jobs", dict(registry._jobs))
    return register_periodic_job


@pytest.fixture
def database_tasks(settings):
    """Jobs go to the database queue, as under `make serve`, instead of the tests' dummy."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.TASKS_BACKEND = "database"


class Calls:
    """A job that records its calls and fails while told to."""

    def __init__(self, failures=0):
        self.count = 0
        self.failures = failures

    def __call__(self):
        self.count += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("storage unreachable")
        return self.count
