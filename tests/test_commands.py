"""Every command of ours explains itself: `manage.py <command> --help` must not crash."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command, get_commands, load_command_class

from portal.models import DailyFigures, FiguresChange
from tests.reporting.test_stats import Work

OURS = sorted(
    (app, name)
    for name, app in get_commands().items()
    if app in {"portal", "contractors", "documents", "reporting", "demo"}
)


@pytest.mark.parametrize(("app", "name"), OURS, ids=[name for _, name in OURS])
def test_help_is_readable(app, name):
    text = load_command_class(app, name).create_parser("manage.py", name).format_help()
    assert name in text


def test_the_commands_of_the_contract_exist():
    names = {name for _, name in OURS}
    assert {"seed_demo", "import_firms", "mark_overdue"} <= names


def test_recount_figures_rebuilds_the_statistics_of_every_bureau(cast):
    work = Work(cast)
    firms = work.firms(3)
    work.hazards(work.inspections(firms, on=date(2021, 3, 2)), (4, "fire", "verified"))
    FiguresChange.objects.all().delete()  # as if the rows had been loaded behind our back
    assert not DailyFigures.objects.exists()

    out = StringIO()
    call_command("recount_figures", stdout=out)

    (row,) = DailyFigures.objects.all()
    assert (row.day, row.inspections, row.firms_year, row.fire_hazards, row.fire_rectified) == (
        date(2021, 3, 2),
        3,
        3,
        4,
        4,
    )
    assert f"{cast.bureau.name}：已重新统计" in out.getvalue()
