"""Several schedulers at the same moment (one per app machine), on PostgreSQL's real row locks."""

import threading

import pytest
from django.db import connection

from portal.jobs.models import PeriodicRun
from portal.jobs.services import do_claim_period, do_retry_periodic_runs

from .conftest import NOON, Calls

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks of PostgreSQL"),
]


def at_once(count, action):
    """Run `action()` in `count` threads released together, each with its own connection."""
    barrier = threading.Barrier(count)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(action())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


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
