"""The timetable: each app registers its periodic jobs in its `AppConfig.ready()`, so the core
runs them without importing the apps above it (the same direction as portal/hooks.py)."""

from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.triggers.cron import CronTrigger
from django.conf import settings


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    cron: str
    run: Callable[[], object]
    description: str

    def trigger(self):
        return CronTrigger.from_crontab(self.cron, timezone=settings.TIME_ZONE)


_jobs = {}


def register_periodic_job(*, name, cron, run, description):
    """Add a job. `cron` is a five-field crontab in the bureau's time zone; `run()` must be
    idempotent and commit its writes atomically, since a run may be tried again. Registering
    the same name again replaces it, as `ready()` may run more than once in tests."""
    job = PeriodicJob(name=name, cron=cron, run=run, description=description)
    job.trigger()  # a malformed timetable fails at start-up, not at 3 a.m.
    _jobs[name] = job
    return job


def periodic_jobs():
    return tuple(_jobs[name] for name in sorted(_jobs))


def periodic_job(name):
    """The job registered under `name`; LookupError for a name no app registers (a run left
    behind by a job since removed)."""
    try:
        return _jobs[name]
    except KeyError:
        raise LookupError(f"no periodic job named {name!r}") from None
