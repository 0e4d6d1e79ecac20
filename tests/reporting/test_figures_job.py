"""The background job that recounts the statistics' noted days after each change commits."""

from datetime import date

from django_tasks import default_task_backend

from portal.models import DailyFigures, FiguresChange
from tests.reporting.test_stats import VERIFIED, Work


def test_a_committed_change_queues_the_recount_of_its_bureau(
    cast, django_capture_on_commit_callbacks
):
    work = Work(cast)
    default_task_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        work.inspections(work.firms(1), on=date(2021, 3, 2))

    queued = [
        result.args
        for result in default_task_backend.results
        if result.task.name == "refresh_figures"
    ]
    assert queued == [[str(cast.bureau.pk)]]


def test_the_job_leaves_nothing_for_the_next_reader_to_recount(
    cast, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    work = Work(cast)
    with django_capture_on_commit_callbacks(execute=True):
        inspections = work.inspections(work.firms(2), on=date(2021, 3, 2))
        work.hazards(inspections, (3, "fire", VERIFIED))

    assert not FiguresChange.objects.exists()
    (row,) = DailyFigures.objects.all()
    assert (row.inspections, row.fire_hazards, row.fire_rectified) == (2, 3, 3)
