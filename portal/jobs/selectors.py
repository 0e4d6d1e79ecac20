"""The periodic runs and the task queue as the health check sees them (no user: nothing of
any tenant is read)."""

from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from portal.jobs.models import PeriodicRun
from portal.jobs.registry import periodic_jobs


def failing_periodic_jobs():
    """The jobs whose latest period failed and has used all its attempts, by name: they keep
    failing and need a person. A later period that succeeds clears the job."""
    failing = []
    for job in periodic_jobs():
        latest = PeriodicRun.objects.filter(job=job.name).order_by("-period").first()
        if latest is not None and latest.gave_up:
            failing.append(job.name)
    return failing


def task_queue_lag(*, now=None):
    """Seconds the job that has waited longest for a worker has been due (0 when none waits)."""
    now = now or timezone.now()
    ready = DBTaskResult.objects.ready()
    due_times = [
        # Queued to run at once: due since it was queued.
        ready.filter(run_after=get_date_max())
        .order_by("enqueued_at")
        .values_list("enqueued_at", flat=True)
        .first(),
        # Queued to run later (a retry's backoff): due since its time came.
        ready.exclude(run_after=get_date_max())
        .order_by("run_after")
        .values_list("run_after", flat=True)
        .first(),
    ]
    due_times = [due for due in due_times if due is not None]
    if not due_times:
        return 0.0
    return max((now - min(due_times)).total_seconds(), 0.0)
