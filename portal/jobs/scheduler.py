"""The scheduler process (`manage.py run_schedule`): APScheduler fires each registered job on its
crontab and the runs are claimed in the database, so one scheduler per app machine is safe."""

import logging

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.db import close_old_connections

from portal.jobs.registry import periodic_job, periodic_jobs
from portal.jobs.services import do_claim_period, do_retry_periodic_runs

logger = logging.getLogger("portal.jobs")

RETRY_JOB_ID = "retry-periodic-runs"


def build_scheduler(*, scheduler_class=BlockingScheduler):
    scheduler = scheduler_class(timezone=settings.TIME_ZONE)
    for job in periodic_jobs():
        scheduler.add_job(
            fire,
            job.trigger(),
            args=[job.name],
            id=job.name,
            name=job.description,
            # A scheduler that was down or busy fires once for what it missed, not once per
            # missed period; the claim in the database keeps it to one run per period.
            coalesce=True,
            misfire_grace_time=int(settings.PERIODIC_JOB_MISFIRE_SECONDS),
            max_instances=1,
        )
    scheduler.add_job(
        retry,
        IntervalTrigger(seconds=settings.PERIODIC_JOB_RETRY_CHECK_SECONDS),
        id=RETRY_JOB_ID,
        name="retry failed and interrupted periodic runs",
        coalesce=True,
        max_instances=1,
    )
    return scheduler


def fire(name):
    # Each firing runs in a thread of the scheduler's pool: give it a live connection.
    close_old_connections()
    try:
        run = do_claim_period(job=periodic_job(name))
        if run is None:
            logger.info("periodic job %s: this period is claimed already", name)
        else:
            logger.info("periodic job %s: queued for %s", name, run.period.isoformat())
    finally:
        close_old_connections()


def retry():
    close_old_connections()
    try:
        for run in do_retry_periodic_runs():
            logger.info("periodic job %s (%s): queued again", run.job, run.period.isoformat())
    finally:
        close_old_connections()
