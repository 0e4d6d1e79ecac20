"""Several schedulers at the same moment (one per app machine), on PostgreSQL's real row locks."""

import pytest
from django.db import connection

from portal.jobs.models import PeriodicRun
from portal.jobs.services import do_claim_period, do_retry_periodic_runs
from tests.concurrency import at_once

from .conftest import NOON, Calls

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks of PostgreSQL"),
]


def test_four_schedulers_firing_at_once_queue_the_period_once(timetable, database_tasks):
    job = timetable(name="t", cron="*/5 * * * *", run=Calls(), description="t")

    claims = at_once(4, lambda: do_claim_period(job=job, now=NOON))

    assert sum(run is not None for run in claims) == 1
    assert PeriodicRun.objects.count() == 1


def test_two_schedulers_retrying_at_once_queue_a_failed_run_once(timetable, database_tasks):
    job = timetable(name="t", cron="*/5 * * * *", run=Calls(), description="t")
    run = do_claim_period(job=job, now=NOON)
    PeriodicRun.objects.filter(pk=run.pk).update(status="failed", attempts=1, next_attempt_at=NOON)

    retried = at_once(2, lambda: do_retry_periodic_runs(now=NOON))

    assert sorted(len(runs) for runs in retried) == [0, 1]
