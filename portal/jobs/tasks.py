"""The background job that runs one period of a periodic job (django-tasks)."""

from django_tasks import task

from portal.jobs.runs import do_run_periodic_job


@task()
def run_periodic_job(run_id):
    do_run_periodic_job(run_id=run_id)
