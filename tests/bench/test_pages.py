"""The periods measurement 2 adds: valid, and ones the tally's first-inspection flags cannot
count firms for (bench/pages.py)."""

from datetime import date
from urllib.parse import parse_qs

import pytest

from bench.pages import periods
from reporting.stats import _firms_column


@pytest.mark.parametrize("today", [date(2026, 12, 7), date(2026, 3, 10), date(2026, 1, 2)])
def test_the_added_periods_begin_mid_month_and_end_after_they_begin(today):
    for _label, query in periods(today):
        params = parse_qs(query.removeprefix("?"))
        start, end = (date.fromisoformat(params[name][0]) for name in ("from", "to"))
        assert start.day == 15 and start <= end <= today
        assert _firms_column(start, end, per_agency=False) is None
