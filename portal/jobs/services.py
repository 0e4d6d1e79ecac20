"""The periodic runs' writes: claim a period and queue it, queue a failed or interrupted run
again (running one is in runs.py, which the task calls)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from portal.jobs.models import PeriodicRun
from portal.jobs.runs import record_failure
from portal.jobs.tasks import run_periodic_job

logger = logging.getLogger("portal.jobs")

# The fire time a scheduler computes may be a little late (a busy machine, a slow thread pool):
# a period is the job's latest scheduled time within this tolerance of the moment it fires.
FIRE_TOLERANCE = timedelta(minutes=2)


def period_of(job, *, now):
    """The scheduled time a firing at `now` stands for, the same on every machine whose clock
    is within the tolerance: the key that makes a period's run unique."""
    period = job.trigger().get_next_fire_time(None, now - FIRE_TOLERANCE)
    if period is None or period > now:
        return now.replace(second=0, microsecond=0)
    return period


def do_claim_period(*, job, now=None):
    """Claim the job's current period and queue its run, in one transaction; None when another
    scheduler claimed it first."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            run = PeriodicRun.objects.create(
                job=job.name, period=period_of(job, now=now), queued_at=now
            )
            _queue(run)
    except IntegrityError:
        return None
    return run


def _queue(run):
    # In the same transaction as the run's row: with the database task backend both land or
    # neither does, so a claimed period is never left without its job.
    run_periodic_job.enqueue(run_id=str(run.pk))


@transaction.atomic
def do_retry_periodic_runs(*, now=None):
    """Queue again the failed runs whose next attempt is due, and the runs still marked running
    past their lease: their worker was stopped mid-job (killed, machine lost). A job's writes
    are atomic, so such a run left nothing half-done, and running it again is safe. Rows taken
    by another scheduler doing the same are skipped. The runs queued again."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.PERIODIC_JOB_LEASE_SECONDS)
    due = list(
        PeriodicRun.objects.select_for_update(skip_locked=True).filter(
            Q(status=PeriodicRun.Status.FAILED, next_attempt_at__lte=now)
            | Q(status=PeriodicRun.Status.RUNNING, started_at__lt=now - lease)
        )
    )
    for run in due:
        if run.status == PeriodicRun.Status.RUNNING:
            logger.warning("periodic job %s (%s) was interrupted", run.job, run.period.isoformat())
            if run.attempts >= settings.PERIODIC_JOB_MAX_ATTEMPTS:
                record_failure(run, InterruptedError("the worker stopped before the job finished"))
                continue
        run.status = PeriodicRun.Status.QUEUED
        run.queued_at = now
        run.next_attempt_at = None
        run.save(update_fields=["status", "queued_at", "next_attempt_at"])
        _queue(run)
    return [run for run in due if run.status == PeriodicRun.Status.QUEUED]
