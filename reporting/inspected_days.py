"""The days each firm was inspected (`InspectedDays`), for the distinct firms of any period.

The tally's first-inspection flags count the firms of a period from 1 January or from the 1st
of a month; any other period would count its distinct firms from the period's inspections, a
sort of most of a year's rows. A firm's inspected days of a year fit in twelve integers, one
bit per day, so the firms of any period are the rows with a bit inside it: a year of the
district is one row per firm and agency, read with no sort for distinct days.

The rows are recounted with the tally (`reporting/figures.py`), from the same notes: every
change to which day an agency inspected a firm notes the days it had and has, so the rows that
may have changed are those of the firms inspected on a noted day now, and those with a noted
day's bit set before the change.
"""

import calendar
from collections import defaultdict
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, ExtractDay, ExtractYear
from django.db.models.lookups import GreaterThan

from contractors.inspections.models import Inspection
from contractors.register.models import Firm
from portal.models import AgencyInspectedDays, InspectedDays

BATCH_SIZE = 1000
CHUNK_SIZE = 10_000
MONTHS = tuple(f"month_{month}" for month in range(1, 13))


def _bit(day):
    return 1 << (day.day - 1)


def _period_masks(date_from, date_to):
    """{(year, month): the bits of the days of that month from `date_from` to `date_to`}."""
    masks = {}
    year, month = date_from.year, date_from.month
    while (year, month) <= (date_to.year, date_to.month):
        first = date_from.day if (year, month) == (date_from.year, date_from.month) else 1
        last = calendar.monthrange(year, month)[1]
        if (year, month) == (date_to.year, date_to.month):
            last = date_to.day
        masks[(year, month)] = (1 << last) - (1 << (first - 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return masks


def _day_masks(days):
    masks = defaultdict(int)
    for day in days:
        masks[(day.year, day.month)] |= _bit(day)
    return masks


def _any_bit(masks):
    """The rows with a bit in `masks` ({(year, month): bits})."""
    months_of = defaultdict(dict)
    for (year, month), mask in masks.items():
        months_of[year][month] = mask
    if not months_of:
        return Q(pk__in=[])
    conditions = []
    for year, months in months_of.items():
        if len(months) == 12 and all(
            mask == (1 << calendar.monthrange(year, month)[1]) - 1 for month, mask in months.items()
        ):
            conditions.append(Q(year=year))
            continue
        hit = reduce(
            or_,
            (Q(GreaterThan(F(f"month_{month}").bitand(mask), 0)) for month, mask in months.items()),
        )
        conditions.append(Q(year=year) & hit)
    return reduce(or_, conditions)


def firms_inspected(bureau, date_from, date_to, *keys, agency=None, street=None, per_agency=False):
    """The distinct firms inspected from `date_from` to `date_to` (both included), by `agency`
    and in `street` where given, per value of `keys` (fields of the rows; none: the total), and
    with `per_agency` counted once per agency that inspected them: {(values of keys): firms}."""
    model = AgencyInspectedDays if per_agency or agency else InspectedDays
    rows = model.objects.filter(_any_bit(_period_masks(date_from, date_to)), bureau=bureau)
    if agency:
        rows = rows.filter(agency=agency)
    if street:
        rows = rows.filter(street=street)
    # A year has one row per firm (and agency): within one, the rows are the firms.
    if date_from.year == date_to.year:
        firms = Count("pk")
    else:
        firms = Count("firm", distinct=True)
    if not keys:
        return {(): rows.aggregate(firms=firms)["firms"]}
    grouped = rows.order_by().values(*keys).annotate(firms=firms)
    return {tuple(row[key] for key in keys): row["firms"] for row in grouped}


def recount_inspected_days(bureau, days):
    """Recount the bits of `days` (None: every day) in the rows of `bureau`, by any agency and
    by each: the rows with one of those bits set lose them, the inspections of those days set
    them again. A few days are a few thousand rows, merged here."""
    visits = Inspection.objects.filter(bureau=bureau, submitted_at__isnull=False).order_by()
    if days is None:
        _count_all(InspectedDays, bureau, visits)
        _count_all(AgencyInspectedDays, bureau, visits, "agency_id")
        return
    visits = visits.filter(inspected_on__in=days)
    firms = _kept(InspectedDays, bureau, days, visits)
    agencies = _kept(AgencyInspectedDays, bureau, days, visits, "agency_id")
    # Where each firm is, by id: a join would hash the whole register for a day's firms.
    place = Firm.objects.filter(pk=OuterRef("firm_id"))
    for firm, agency, street, park, day in visits.values_list(
        "firm_id",
        "agency_id",
        Subquery(place.values("street_id")),
        Subquery(place.values("park_id")),
        "inspected_on",
    ).iterator(CHUNK_SIZE):
        for built, key in ((firms, (day.year, firm)), (agencies, (day.year, firm, agency))):
            # A firm moved to another street or park has all its days noted: its rows all
            # come by here and take where it is now.
            row = built.setdefault(key, {"pk": None, "was": None, "months": [0] * 12})
            row.update(street_id=street, park_id=park)
            row["months"][day.month - 1] |= _bit(day)
    _write(InspectedDays, bureau, firms, ("firm_id",))
    _write(AgencyInspectedDays, bureau, agencies, ("firm_id", "agency_id"))


def _count_all(model, bureau, visits, *extra):
    """Replace every row of `model` with a count in the database: a year of a district is a
    quarter of a million inspections, too many to fetch and write back one by one. The bits
    of distinct days add up to their OR."""
    model.objects.filter(bureau=bureau).delete()
    bit = Value(1).bitleftshift(Cast(ExtractDay("inspected_on"), IntegerField()) - 1)
    counted = visits.values(
        "bureau_id",
        "firm_id",
        *extra,
        year_key=ExtractYear("inspected_on"),
        street_key=F("firm__street_id"),
        park_key=F("firm__park_id"),
    ).annotate(
        **{
            name: Coalesce(Sum(bit, filter=Q(inspected_on__month=month), distinct=True), 0)
            for month, name in enumerate(MONTHS, 1)
        }
    )
    select, params = counted.query.sql_with_params()
    columns = {
        "bureau_id": "bureau_id",
        "firm_id": "firm_id",
        **{name: name for name in extra},
        "year": "year_key",
        "street_id": "street_key",
        "park_id": "park_key",
        **{name: name for name in MONTHS},
    }
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(map(quote, columns))}) "
            f"SELECT {', '.join(map(quote, columns.values()))} FROM ({select}) counted",
            params,
        )


def _kept(model, bureau, days, visits, *extra):
    """The rows of `model` that the recount of `days` may change, with the bits of the other
    days they keep: {(year, firm, *extra): row}."""
    masks = _day_masks(days)
    # The rows a noted day's bit is set in, and those its inspections will set one in.
    rows = model.objects.filter(
        _any_bit(masks) | Q(year__in={day.year for day in days}, firm__in=visits.values("firm_id")),
        bureau=bureau,
    ).order_by()
    kept_bits = {
        year: [~masks.get((year, month), 0) for month in range(1, 13)]
        for year in {day.year for day in days}
    }
    fields = ("pk", "year", "firm_id", *extra, "street_id", "park_id")
    kept = {}
    for pk, year, *values in rows.values_list(*fields, *MONTHS).iterator(CHUNK_SIZE):
        key, (street, park, *months) = values[: 1 + len(extra)], values[1 + len(extra) :]
        kept[(year, *key)] = {
            "pk": pk,
            "was": (street, park, months),
            "street_id": street,
            "park_id": park,
            "months": [bits & keep for bits, keep in zip(months, kept_bits[year], strict=True)],
        }
    return kept


def _write(model, bureau, built, keys):
    """Write the rows of `built` whose place or bits the recount changed: after a change to one
    inspection, that is a row or two, however many firms its day's inspections name. A row
    left without a bit goes."""
    changed = [
        (key, row)
        for key, row in built.items()
        if row["was"] != (row["street_id"], row["park_id"], row["months"])
    ]
    emptied = [row["pk"] for _key, row in changed if row["pk"] and not any(row["months"])]
    for start in range(0, len(emptied), BATCH_SIZE):
        model.objects.filter(pk__in=emptied[start : start + BATCH_SIZE]).delete()
    model.objects.bulk_create(
        (
            model(
                bureau=bureau,
                year=year,
                **dict(zip(keys, key, strict=True)),
                street_id=row["street_id"],
                park_id=row["park_id"],
                **dict(zip(MONTHS, row["months"], strict=True)),
            )
            for (year, *key), row in changed
            if any(row["months"])
        ),
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["bureau", "year", *(name.removesuffix("_id") for name in keys)],
        update_fields=["street", "park", *MONTHS],
    )
