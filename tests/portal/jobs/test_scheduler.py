"""The scheduler process: each registered job on its crontab, and the retry sweep."""

import pytest
from apscheduler.triggers.cron import CronTrigger

from portal.jobs.models import PeriodicRun
from portal.jobs.scheduler import RETRY_JOB_ID, build_scheduler, fire

from .conftest import Calls


def test_the_scheduler_fires_every_registered_job_on_its_crontab(timetable):
    timetable(name="t", cron="*/5 * * * *", run=Calls(), description="every five minutes")

    scheduler = build_scheduler()
    jobs = {job.id: job for job in scheduler.get_jobs()}

    assert {"mark_overdue", "purge_uploads", "convert_pdfs", "recount_figures", "t"} < set(jobs)
    assert RETRY_JOB_ID in jobs
    assert isinstance(jobs["t"].trigger, CronTrigger)
    assert str(jobs["t"].trigger.timezone) == "Asia/Shanghai"
    assert jobs["t"].coalesce and jobs["t"].max_instances == 1


# Committed for real: a firing closes stale connections first, as a long-lived process must.
@pytest.mark.django_db(transaction=True)
def test_a_firing_claims_the_current_period(timetable, database_tasks):
    timetable(name="t", cron="* * * * *", run=Calls(), description="every minute")

    fire("t")
    fire("t")  # a second scheduler in the same minute

    assert PeriodicRun.objects.filter(job="t").count() == 1
