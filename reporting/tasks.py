"""Background work of the reporting app (django-tasks): each job is idempotent."""

from django_tasks import task

from portal.models import Bureau
from reporting.figures import do_refresh_figures


@task()
def refresh_figures(bureau_id):
    """Recount the statistics' noted days off the request path, so that the next reader finds
    nothing left to recount. Readers recount whatever is still noted, so a job that failed or
    never ran costs that reader time, never a wrong figure."""
    bureau = Bureau.objects.filter(pk=bureau_id).first()
    if bureau is not None:
        do_refresh_figures(bureau=bureau)
