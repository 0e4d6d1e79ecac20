"""Periodic runs: once per period whoever fires, tried again after a failure or a lost worker,
and a job that keeps failing shows."""

from datetime import timedelta

import pytest
from django_tasks_db.models import DBTaskResult

from portal.jobs.models import PeriodicRun
from portal.jobs.registry import periodic_jobs
from portal.jobs.runs import do_run_periodic_job
from portal.jobs.selectors import failing_periodic_jobs
from portal.jobs.services import do_claim_period, do_retry_periodic_runs, period_of

from .conftest import NOON, Calls

pytestmark = pytest.mark.django_db


def test_a_late_firing_stands_for_the_scheduled_time(timetable):
    every_five = timetable(name="t", cron="*/5 * * * *", run=Calls(), description="t")
    daily = timetable(name="d", cron="10 0 * * *", run=Calls(), description="d")

    assert period_of(every_five, now=NOON + timedelta(seconds=75)) == NOON.replace(second=0)
    # 00:10 in Shanghai is 16:10 UTC the day before.
    midnight_job_fired = NOON.replace(hour=16, minute=10, second=42) - timedelta(days=1)
    assert period_of(daily, now=midnight_job_fired) == midnight_job_fired.replace(second=0)


def test_two_schedulers_firing_for_one_period_queue_one_run(timetable, database_tasks):
    job = timetable(name="t", cron="*/5 * * * *", run=Calls(), description="t")

    first = do_claim_period(job=job, now=NOON)
    second = do_claim_period(job=job, now=NOON + timedelta(seconds=50))

    assert first is not None and second is None
    assert PeriodicRun.objects.count() == 1
    assert DBTaskResult.objects.filter(task_path__endswith="run_periodic_job").count() == 1
    # The next period is a run of its own.
    assert do_claim_period(job=job, now=NOON + timedelta(minutes=5)) is not None


def test_a_queued_run_runs_once(timetable, database_tasks):
    calls = Calls()
    job = timetable(name="t", cron="*/5 * * * *", run=calls, description="t")
    run = do_claim_period(job=job, now=NOON)

    do_run_periodic_job(run_id=run.pk)
    assert do_run_periodic_job(run_id=run.pk) is None  # a second delivery of the same task

    run.refresh_from_db()
    assert (run.status, run.attempts, run.outcome, calls.count) == ("succeeded", 1, "1", 1)


def test_a_failed_run_is_tried_again_with_backoff_then_shows_as_failing(
    timetable, database_tasks, settings
):
    settings.PERIODIC_JOB_MAX_ATTEMPTS = 3
    settings.PERIODIC_JOB_RETRY_SECONDS = 60
    calls = Calls(failures=5)
    job = timetable(name="flaky", cron="*/5 * * * *", run=calls, description="flaky")
    run = do_claim_period(job=job, now=NOON)

    waits = []
    for _attempt in range(3):
        with pytest.raises(RuntimeError):
            do_run_periodic_job(run_id=run.pk)
        run.refresh_from_db()
        assert run.status == "failed" and run.last_error == "RuntimeError: storage unreachable"
        if run.next_attempt_at is None:
            break
        waits.append(round((run.next_attempt_at - run.finished_at).total_seconds()))
        assert do_retry_periodic_runs(now=run.next_attempt_at - timedelta(seconds=1)) == []
        assert [r.pk for r in do_retry_periodic_runs(now=run.next_attempt_at)] == [run.pk]

    assert waits == [60, 120]
    assert run.attempts == 3 and run.gave_up
    assert failing_periodic_jobs() == ["flaky"]
    assert do_retry_periodic_runs(now=NOON + timedelta(days=1)) == []

    calls.failures = 0
    later = do_claim_period(job=job, now=NOON + timedelta(minutes=5))
    do_run_periodic_job(run_id=later.pk)
    assert failing_periodic_jobs() == []


def test_a_run_whose_worker_stopped_is_queued_again_after_its_lease(
    timetable, database_tasks, settings
):
    settings.PERIODIC_JOB_LEASE_SECONDS = 1800
    calls = Calls()
    job = timetable(name="t", cron="*/5 * * * *", run=calls, description="t")
    run = do_claim_period(job=job, now=NOON)
    # What a worker killed mid-job leaves: the run marked running, its writes rolled back.
    PeriodicRun.objects.filter(pk=run.pk).update(status="running", attempts=1, started_at=NOON)

    assert do_retry_periodic_runs(now=NOON + timedelta(minutes=29)) == []
    assert [r.pk for r in do_retry_periodic_runs(now=NOON + timedelta(minutes=31))] == [run.pk]
    do_run_periodic_job(run_id=run.pk)

    run.refresh_from_db()
    assert (run.status, run.attempts, calls.count) == ("succeeded", 2, 1)


def test_a_run_interrupted_on_its_last_attempt_gives_up(timetable, database_tasks, settings):
    settings.PERIODIC_JOB_MAX_ATTEMPTS = 2
    job = timetable(name="t", cron="*/5 * * * *", run=Calls(), description="t")
    run = do_claim_period(job=job, now=NOON)
    PeriodicRun.objects.filter(pk=run.pk).update(status="running", attempts=2, started_at=NOON)

    assert do_retry_periodic_runs(now=NOON + timedelta(hours=1)) == []
    run.refresh_from_db()
    assert run.gave_up and "worker stopped" in run.last_error
    assert failing_periodic_jobs() == ["t"]


def test_every_app_registers_its_periodic_jobs():
    assert {job.name for job in periodic_jobs()} == {
        "mark_overdue",
        "purge_uploads",
        "convert_pdfs",
        "recount_figures",
    }
