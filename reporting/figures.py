"""The statistics' tally (`DailyFigures`), kept exact.

Every service that changes what the statistics count notes the days it changed, in its own
transaction (`reporting/notes.py`): submitting an inspection or changing its date, recording,
editing or removing a hazard of a submitted inspection, a hazard's state, signing a document,
moving a firm to another street or park. Before the statistics are read, `do_refresh_figures`
recounts the noted days from the inspections, hazards and documents themselves. The figures are
exact as of the read, and a write costs one small insert.

The notes are appended, never merged into an existing one. A reader deletes the notes it saw
once it has recounted their days from what was committed before its recount. A writer whose
change merged into a note being consumed could commit after that recount, and the change would
be lost; a note of its own survives the reader's delete, and the next read recounts its day.
"""

from collections import defaultdict
from datetime import datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncDate, TruncMonth, TruncYear
from django.utils import timezone

from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.inspections.models import Inspection
from documents.models import Document
from portal.models import Bureau, DailyFigures, FiguresChange
from reporting.inspected_days import recount_inspected_days

BATCH_SIZE = 1000
KEYS = ("day", "agency", "street", "park")


def do_refresh_figures(*, bureau):
    """Recount the noted days of `bureau`; nothing when nothing was noted."""
    if not FiguresChange.objects.filter(bureau=bureau).exists():
        return
    with transaction.atomic():
        _lock_recounts(bureau)
        notes = list(FiguresChange.objects.filter(bureau=bureau).values_list("pk", "day"))
        if not notes:
            return
        _without_parallel_workers()
        _recount(bureau, {day for _pk, day in notes})
        ids = [pk for pk, _day in notes]
        for start in range(0, len(ids), BATCH_SIZE):
            FiguresChange.objects.filter(pk__in=ids[start : start + BATCH_SIZE]).delete()


def _lock_recounts(bureau):
    # One recount of a bureau at a time: two would each delete and insert the same rows.
    # No-key, so that rows referring to the bureau can still be written meanwhile.
    Bureau.objects.select_for_update(no_key=True).filter(pk=bureau.pk).first()


def _without_parallel_workers():
    # A few days are a few thousand rows, read through indexes. PostgreSQL's planner still
    # prefers parallel sequential scans of the whole tables for them, three times slower.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


def do_recount_all_figures():
    """Recount every bureau, each in its own transaction; the number of bureaus."""
    bureaus = list(Bureau.objects.order_by("name"))
    for bureau in bureaus:
        do_recount_figures(bureau=bureau)
    return len(bureaus)


def do_recount_figures(*, bureau):
    """Recount every day of `bureau` (after data was loaded or repaired outside the services)."""
    with transaction.atomic():
        _lock_recounts(bureau)
        FiguresChange.objects.filter(bureau=bureau).delete()
        _recount(bureau, None)


def _recount(bureau, days):
    """Replace the tally of `days` (None: all days), and the inspected days of the firms they
    changed, with a fresh count."""
    tally = DailyFigures.objects.filter(bureau=bureau)
    if days is not None:
        tally = tally.filter(day__in=days)
    tally.delete()
    rows = defaultdict(dict)
    for source in (_inspection_groups, _hazard_groups, _document_groups):
        for group in source(bureau, days):
            key = tuple(group.pop(f"{name}_key") for name in KEYS)
            rows[key].update(group)
    DailyFigures.objects.bulk_create(
        [
            DailyFigures(
                bureau=bureau,
                day=day,
                agency_id=agency,
                street_id=street,
                park_id=park,
                **figures,
            )
            for (day, agency, street, park), figures in rows.items()
        ],
        batch_size=BATCH_SIZE,
    )
    recount_inspected_days(bureau, days)


def _keys(*, day, agency, firm):
    """The group keys of a tally row, from the fields the counted rows reach them by."""
    return {
        "day_key": day,
        "agency_key": F(agency),
        "street_key": F(f"{firm}street"),
        "park_key": F(f"{firm}park"),
    }


def _counted_inspections(bureau, days, prefix=""):
    conditions = {f"{prefix}bureau": bureau, f"{prefix}submitted_at__isnull": False}
    if days is not None:
        conditions[f"{prefix}inspected_on__in"] = days
    return Q(**conditions)


def _first(period, *, by_agency):
    """The inspection is its firm's first submitted one of the year or month (`period`, the
    name of the outer query's annotation with its first day), by any agency or by its own;
    same-day inspections are ordered by id."""
    earlier = Inspection.objects.filter(
        Q(inspected_on__lt=OuterRef("inspected_on"))
        | Q(inspected_on=OuterRef("inspected_on"), pk__lt=OuterRef("pk")),
        firm=OuterRef("firm"),
        submitted_at__isnull=False,
        inspected_on__gte=OuterRef(period),
    )
    if by_agency:
        earlier = earlier.filter(agency=OuterRef("agency"))
    return ~Exists(earlier)


def _inspection_groups(bureau, days):
    return (
        Inspection.objects.filter(_counted_inspections(bureau, days))
        .order_by()
        .annotate(year_start=TruncYear("inspected_on"), month_start=TruncMonth("inspected_on"))
        .values(**_keys(day=F("inspected_on"), agency="agency", firm="firm__"))
        .annotate(
            inspections=Count("pk"),
            firms_year=Count("pk", filter=_first("year_start", by_agency=False)),
            firms_month=Count("pk", filter=_first("month_start", by_agency=False)),
            agency_firms_year=Count("pk", filter=_first("year_start", by_agency=True)),
            agency_firms_month=Count("pk", filter=_first("month_start", by_agency=True)),
        )
    )


def _hazard_groups(bureau, days):
    figures = {}
    for category in HazardCategory:
        of_category = Q(category=category)
        figures[f"{category}_hazards"] = Count("pk", filter=of_category)
        figures[f"{category}_major"] = Count("pk", filter=of_category & Q(level=HazardLevel.MAJOR))
        figures[f"{category}_rectified"] = Count(
            "pk", filter=of_category & Q(status=Hazard.Status.VERIFIED)
        )
        figures[f"{category}_overdue"] = Count(
            "pk", filter=of_category & Q(status=Hazard.Status.OVERDUE)
        )
    return (
        Hazard.objects.filter(_counted_inspections(bureau, days, "inspection__"))
        .order_by()
        .values(
            **_keys(day=F("inspection__inspected_on"), agency="inspection__agency", firm="firm__")
        )
        .annotate(**figures)
    )


def _document_groups(bureau, days):
    zone = timezone.get_current_timezone()
    documents = Document.objects.filter(bureau=bureau, status=Document.Status.APPROVED)
    if days is not None:
        # The range lets the index narrow the rows; the dates keep only the noted days.
        start = timezone.make_aware(datetime.combine(min(days), time.min), zone)
        end = timezone.make_aware(datetime.combine(max(days) + timedelta(days=1), time.min), zone)
        documents = documents.filter(
            approved_at__gte=start, approved_at__lt=end, approved_at__date__in=days
        )
    return (
        documents.order_by()
        .values(**_keys(day=TruncDate("approved_at", tzinfo=zone), agency="agency", firm="firm__"))
        .annotate(documents_issued=Count("pk"))
    )
