"""Noting what changed for the statistics' tally (`reporting/figures.py` recounts).

Every service that changes what the statistics count fires a hook of `contractors/hooks.py` in
its own transaction (submitting an inspection or changing its date, a hazard recorded, edited,
removed or changing state, a document signed, a firm moved to another street or park); these
handlers, registered in `reporting/apps.py`, note the days it changed. A note costs one small
insert; the recount runs in the background once the change commits (`reporting/tasks.py`) and
before any read.
"""

from collections import defaultdict
from datetime import date
from functools import partial

from django.db import transaction
from django.utils import timezone

from contractors.inspections.models import Inspection
from documents.models import Document
from portal.models import FiguresChange
from reporting.tasks import refresh_figures

BATCH_SIZE = 1000


def note_days_changed(*, bureau_id, days):
    """The figures of `days` of the bureau are out of date; they are recounted in the
    background once the change commits (and by the next reader, if that comes first)."""
    days = sorted(set(days))
    if not days:
        return
    FiguresChange.objects.bulk_create(
        [FiguresChange(bureau_id=bureau_id, day=day) for day in days], batch_size=BATCH_SIZE
    )
    transaction.on_commit(partial(refresh_figures.enqueue, str(bureau_id)))


def note_inspections_changed(*, inspections):
    """`inspections` (a queryset) changed in what the statistics count: their hazards, their
    date, or being submitted. Notes their days if they count, and the later days of the year
    of their firms' other submitted inspections, which may no longer be a firm's first."""
    counted = inspections.filter(submitted_at__isnull=False).order_by()
    changed = list(counted.values_list("bureau_id", "firm_id", "inspected_on").distinct())
    if not changed:
        return
    earliest = min(day for _bureau, _firm, day in changed)
    year_end = date(max(day for _bureau, _firm, day in changed).year, 12, 31)
    later = Inspection.objects.filter(
        firm_id__in={firm for _bureau, firm, _day in changed},
        submitted_at__isnull=False,
        inspected_on__range=(earliest, year_end),
    ).order_by()
    days = defaultdict(set)
    for bureau_id, _firm, day in changed:
        days[bureau_id].add(day)
    for bureau_id, day in later.values_list("bureau_id", "inspected_on").distinct():
        days[bureau_id].add(day)
    for bureau_id, noted in days.items():
        note_days_changed(bureau_id=bureau_id, days=noted)


def note_hazards_changed(*, hazards):
    """The state of `hazards` (a queryset) changed: the days of their inspections, where those
    count. No other day changes: which inspection is a firm's first does not depend on them."""
    counted = hazards.filter(inspection__submitted_at__isnull=False).order_by()
    days = defaultdict(set)
    for bureau_id, day in counted.values_list(
        "inspection__bureau_id", "inspection__inspected_on"
    ).distinct():
        days[bureau_id].add(day)
    for bureau_id, noted in days.items():
        note_days_changed(bureau_id=bureau_id, days=noted)


def note_firms_changed(*, firm_ids):
    """Firms moved to another street or park: every day they were counted on."""
    inspections = Inspection.objects.filter(firm_id__in=firm_ids, submitted_at__isnull=False)
    documents = Document.objects.filter(firm_id__in=firm_ids, status=Document.Status.APPROVED)
    days = defaultdict(set)
    for bureau_id, day in inspections.order_by().values_list("bureau_id", "inspected_on"):
        days[bureau_id].add(day)
    for bureau_id, signed_at in documents.order_by().values_list("bureau_id", "approved_at"):
        days[bureau_id].add(timezone.localdate(signed_at))
    for bureau_id, noted in days.items():
        note_days_changed(bureau_id=bureau_id, days=noted)
