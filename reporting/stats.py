"""The bureau's figures, counted the way its reports count them.

Definitions (the same for the dashboard, the API, the workbook and the monthly report):

- A period is the inspection dates `from`..`to`, both included; by default 1 January of the
  current year to today. "截至X月底" in the report sentence names the month of `to`.
- Only submitted inspections count (`submitted_at` set, whatever happened to them since);
  drafts never do.
- `inspections`: those inspections; `firms_inspected`: the distinct firms among them.
- Hazards: the hazards recorded in those inspections, per category and level.
- `rectified`: those hazards with status `verified` (closed after re-inspection, or rectified on
  the spot); the rectification rate is rectified / hazards x 100, two decimals, rounded half up,
  and 0.00 when there are no hazards.
- `overdue`: those hazards with status `overdue` (the deadline passed before the firm reported
  rectification).
- `overdue_reinspections` (per agency): those hazards that wait on the agency past their
  deadline: overdue ones, and rectified ones not yet verified whose deadline has passed.
- `documents_issued`: documents with status `approved` whose `approved_at`, as a local date,
  falls in the period.
- Contract progress (per agency): `quota` and `assigned` (firms currently assigned) of the
  agency's contracts whose service period overlaps the period; `progress` is
  firms_inspected / quota x 100, rounded like the rate.
- Filters: `street` keeps the work on firms of that street or town; `agency` the work done by
  that agency. An agency manager only ever sees the work of its own agency.

Every figure is counted in the database, by conditional aggregates and grouped queries; Python
only merges the few grouped rows with their labels.
"""

import calendar
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum, UUIDField
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.inspections.models import Inspection
from contractors.register.models import Park, Street
from contractors.tenancy.models import Agency, Assignment, Contract
from portal.models import DailyFigures
from reporting.figures import do_refresh_figures
from reporting.inspected_days import firms_inspected

HUNDREDTH = Decimal("0.01")
OVERDUE_LISTED = 50

# The names the report gives the five categories. Its sentence says "职业健康安全171项",
# without 隐患, and the sentence is reproduced word for word.
REPORT_CATEGORY_NAMES = {
    HazardCategory.PRODUCTION: gettext_lazy("生产安全隐患"),
    HazardCategory.FIRE: gettext_lazy("消防安全隐患"),
    HazardCategory.SPECIAL_EQUIPMENT: gettext_lazy("特种设备安全隐患"),
    HazardCategory.OCCUPATIONAL_HEALTH: gettext_lazy("职业健康安全"),
    HazardCategory.OTHER: gettext_lazy("其他隐患"),
}


def percent(part, whole):
    """part / whole in percent, two decimals rounded half up; 0.00 for an empty whole."""
    if not whole:
        return Decimal("0.00")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


# --- The counts ---------------------------------------------------------------------------------

# The tallied figures (`DailyFigures`) that add up across days and groups.
CATEGORIES = tuple(category.value for category in HazardCategory)
CATEGORY_FIGURES = tuple(
    f"{category}_{figure}" for category in CATEGORIES for figure in DailyFigures.HAZARD_FIGURES
)
TALLIED = (
    "inspections",
    "firms_year",
    "firms_month",
    "agency_firms_year",
    "agency_firms_month",
    "documents_issued",
    *CATEGORY_FIGURES,
)
ZERO_ROW = {
    "inspections": 0,
    "firms_inspected": 0,
    "hazards": 0,
    "major": 0,
    "rectified": 0,
    "overdue": 0,
    "documents_issued": 0,
    **{category.value: 0 for category in HazardCategory},
}


def _with_rate(row):
    row["rate"] = percent(row["rectified"], row["hazards"])
    return row


def _group_row(group):
    """A tally group as a row of the statistics: its keys, its sums, and the hazards of all
    categories added up."""
    row = {name: group.pop(f"sum_{name}") or 0 for name in TALLIED}
    row.update(group)
    for figure in DailyFigures.HAZARD_FIGURES:
        row[figure] = sum(row[f"{category}_{figure}"] for category in CATEGORIES)
    for category in CATEGORIES:
        row[category] = row[f"{category}_hazards"]
    return row


def _firms_column(date_from, date_to, *, per_agency):
    """The tally column that counts each firm inspected from `date_from` to `date_to` once,
    or None where none does: the first inspections of a calendar year answer a period from
    1 January to a day of that year, those of a month a period from the 1st to a day of that
    month. `per_agency` counts a firm once per agency that inspected it."""
    if date_from.day != 1 or date_to.year != date_from.year:
        return None
    prefix = "agency_" if per_agency else ""
    if date_from.month == 1:
        return f"{prefix}firms_year"
    if date_to.month == date_from.month:
        return f"{prefix}firms_month"
    return None


class Statistics:
    """The figures of one scope and one set of filters. Each method is a fixed number of
    queries, whatever the amount of data: the additive figures are summed from the tally of
    `reporting/figures.py`, brought up to date first."""

    def __init__(self, scope, filters):
        self.scope = scope
        self.filters = filters
        self.today = timezone.localdate()

    @property
    def agency(self):
        return self.scope.agency or self.filters.agency

    # --- The base sets ------------------------------------------------------------------------

    def _work(self, prefix=""):
        """The submitted inspections of the period in scope, as a filter on a model that reaches
        them through `prefix`."""
        conditions = {
            f"{prefix}bureau": self.scope.bureau,
            f"{prefix}submitted_at__isnull": False,
            f"{prefix}inspected_on__range": (self.filters.date_from, self.filters.date_to),
        }
        if self.agency:
            conditions[f"{prefix}agency"] = self.agency
        if self.filters.street:
            conditions[f"{prefix}firm__street"] = self.filters.street
        return Q(**conditions)

    def hazards(self):
        return Hazard.objects.filter(self._work("inspection__")).order_by()

    # The tally of the period, summed per street, park, agency, month and category: every
    # breakdown adds up these few hundred rows rather than counting the year's rows again.

    @cached_property
    def _bureau(self):
        """The bureau in scope, its tally and inspected days brought up to date once for all of
        this reader's sums."""
        do_refresh_figures(bureau=self.scope.bureau)
        return self.scope.bureau

    def _tally(self, **keys):
        """The tally of the period in scope, summed per value of `keys`."""
        figures = DailyFigures.objects.filter(
            bureau=self._bureau, day__range=(self.filters.date_from, self.filters.date_to)
        )
        if self.agency:
            figures = figures.filter(agency=self.agency)
        if self.filters.street:
            figures = figures.filter(street=self.filters.street)
        grouped = (
            figures.order_by()
            .values(**keys)
            .annotate(**{f"sum_{name}": Sum(name) for name in TALLIED})
        )
        return [_group_row(group) for group in grouped]

    @cached_property
    def _groups(self):
        """Per street, park and agency: the totals and every breakdown but the months add up
        these few rows."""
        return self._tally(street_key=F("street"), park_key=F("park"), agency_key=F("agency"))

    @cached_property
    def _month_groups(self):
        return self._tally(month_key=TruncMonth("day"))

    def _summed(self, key, *, firms=None, per_agency=None, groups=None):
        """Per value of `key` (None: one total), the figures of the period. With `firms` (the
        field of `InspectedDays` that `key` stands for, "" for the total), also the distinct
        firms inspected, from the firms' inspected days where the tally's flags cannot count
        them."""
        if per_agency is None:
            per_agency = self.agency is not None
        column = None
        if firms is not None:
            column = _firms_column(
                self.filters.date_from, self.filters.date_to, per_agency=per_agency
            )
        summed = {}
        for row in self._groups if groups is None else groups:
            target = summed.setdefault(row[key] if key else None, dict(ZERO_ROW))
            for name in ZERO_ROW:
                target[name] += row.get(name, 0)
            if column:
                target["firms_inspected"] += row[column]
        if firms is not None and column is None:
            for value, count in self._firms_counted(firms).items():
                summed.setdefault(value, dict(ZERO_ROW))["firms_inspected"] = count
        return summed

    def _firms_in(self, date_from, date_to, *keys, per_agency=False):
        """Distinct firms in scope inspected from `date_from` to `date_to`, per value of `keys`
        (fields of `InspectedDays`; none: the total), per agency with `per_agency`."""
        scope = {"agency": self.agency, "street": self.filters.street, "per_agency": per_agency}
        return firms_inspected(self._bureau, date_from, date_to, *keys, **scope)

    @cached_property
    def _firms_by_place(self):
        return self._firms_in(self.filters.date_from, self.filters.date_to, "street", "park")

    def _firms_counted(self, field):
        """Distinct firms inspected in the period per value of `field` ("street", "park",
        "agency"; "": the total). A firm has one street and one park, so a count per street
        and park adds up to the total and to either breakdown."""
        period = (self.filters.date_from, self.filters.date_to)
        if field == "agency":
            counted = self._firms_in(*period, "agency", per_agency=True)
            return {agency: firms for (agency,), firms in counted.items()}
        counted = defaultdict(int)
        for (street, park), firms in self._firms_by_place.items():
            counted[{"street": street, "park": park}.get(field)] += firms
        return counted

    # --- Totals -------------------------------------------------------------------------------

    @cached_property
    def totals(self):
        return _with_rate(self._summed(None, firms="").get(None, dict(ZERO_ROW)))

    @cached_property
    def _waiting_on_agency(self):
        """Per agency, the hazards rectified by the firm whose deadline has passed and that the
        agency has not re-inspected yet. They are few, so each finds its inspection by id:
        PostgreSQL would otherwise join them to every inspection of the period. Unordered and
        counted without ids, they are read from the (status, deadline, inspection) index."""
        agency = Inspection.objects.filter(self._work(), pk=OuterRef("inspection_id"))
        waiting = (
            Hazard.objects.filter(status=Hazard.Status.RECTIFIED, deadline__lt=self.today)
            .order_by()
            # Typed as the agency's id: SQLite would give the subquery's value as a hex string,
            # which matches no agency.
            .values(
                agency_key=Subquery(
                    agency.order_by().values("agency")[:1], output_field=UUIDField()
                )
            )
            .annotate(waiting=Count("*"))
        )
        # Hazards of inspections outside the scope or the period have no agency here.
        return {row["agency_key"]: row["waiting"] for row in waiting if row["agency_key"]}

    def summary(self):
        """The figures of API.md's summary, with the report's sentence."""
        totals = self.totals
        return {
            "firms_inspected": totals["firms_inspected"],
            "inspections": totals["inspections"],
            "hazards": {
                "total": totals["hazards"],
                **{category.value: totals[category.value] for category in HazardCategory},
                "major": totals["major"],
            },
            "rectified": totals["rectified"],
            "rectification_rate": totals["rate"],
            "overdue": totals["overdue"],
            "documents_issued": totals["documents_issued"],
            "report_text": self.report_text(),
        }

    def subject(self):
        """Who the sentence speaks of: the district, a street, or an agency's work there."""
        area = self.filters.street.name if self.filters.street else _("全区")
        if self.agency:
            return _("%(agency)s在%(area)s") % {"agency": self.agency.name, "area": area}
        return area

    def report_text(self):
        """The figures in the sentence form of the bureau's annual report."""
        totals = self.totals
        categories = "，".join(
            _("%(name)s%(count)d项")
            % {"name": REPORT_CATEGORY_NAMES[category], "count": totals[category.value]}
            for category in HazardCategory
        )
        return _(
            "截至%(month)d月底，%(subject)s共监督检查各类企业%(firms)d家，发现事故隐患%(hazards)d项"
            "（其中：%(categories)s），已完成隐患整改%(rectified)d项，整改率%(rate)s%%；"
            "共发出各类法律文书%(documents)d份。"
        ) % {
            "month": self.filters.date_to.month,
            "subject": self.subject(),
            "firms": totals["firms_inspected"],
            "hazards": totals["hazards"],
            "categories": categories,
            "rectified": totals["rectified"],
            "rate": totals["rate"],
            "documents": totals["documents_issued"],
        }

    # --- Breakdowns ---------------------------------------------------------------------------

    def by_category(self):
        """One row per hazard category, in the report's order: hazards, general, major,
        rectified, rate, overdue."""
        rows = []
        for category in HazardCategory:
            row = {
                figure: sum(group[f"{category}_{figure}"] for group in self._groups)
                for figure in DailyFigures.HAZARD_FIGURES
            }
            row.update(
                category=category.value,
                name=category.label,
                general=row["hazards"] - row["major"],
            )
            rows.append(_with_rate(row))
        return rows

    def by_level(self):
        totals = self.totals
        return [
            {
                "level": HazardLevel.GENERAL.value,
                "name": HazardLevel.GENERAL.label,
                "hazards": totals["hazards"] - totals["major"],
            },
            {
                "level": HazardLevel.MAJOR.value,
                "name": HazardLevel.MAJOR.label,
                "hazards": totals["major"],
            },
        ]

    def _labelled(self, labels, grouped):
        """`labels` ((key, fields) pairs) in order, each with its group's figures or zeros."""
        return [
            _with_rate({**ZERO_ROW, **grouped.get(key, {}), **fields}) for key, fields in labels
        ]

    def by_street(self):
        streets = Street.objects.filter(bureau=self.scope.bureau).order_by("code")
        if self.filters.street:
            streets = streets.filter(pk=self.filters.street.pk)
        grouped = self._summed("street_key", firms="street")
        labels = [
            (street.pk, {"id": street.pk, "name": street.name, "kind": street.get_kind_display()})
            for street in streets
        ]
        return self._labelled(labels, grouped)

    def by_park(self):
        """One row per industrial park, then the firms outside any park (id None)."""
        grouped = self._summed("park_key", firms="park")
        labels = [
            (park.pk, {"id": park.pk, "name": park.name})
            for park in Park.objects.filter(bureau=self.scope.bureau).order_by("name")
        ]
        labels.append((None, {"id": None, "name": _("园区外企业")}))
        return self._labelled(labels, grouped)

    def by_agency(self):
        """One row per agency with its contract progress (see the module's definitions)."""
        overlapping = {
            "period_start__lte": self.filters.date_to,
            "period_end__gte": self.filters.date_from,
        }
        quota = (
            Contract.objects.filter(agency=OuterRef("pk"), **overlapping)
            .order_by()
            .values("agency")
            .annotate(total=Sum("quota"))
            .values("total")
        )
        assigned = (
            Assignment.objects.filter(
                contract__agency=OuterRef("pk"),
                ended_at__isnull=True,
                **{f"contract__{lookup}": value for lookup, value in overlapping.items()},
            )
            .order_by()
            .values("contract__agency")
            .annotate(total=Count("pk"))
            .values("total")
        )
        agencies = (
            Agency.objects.filter(bureau=self.scope.bureau)
            .annotate(
                quota=Coalesce(Subquery(quota, output_field=IntegerField()), 0),
                assigned=Coalesce(Subquery(assigned, output_field=IntegerField()), 0),
            )
            .order_by("name")
        )
        if self.agency:
            agencies = agencies.filter(pk=self.agency.pk)
        grouped = self._summed("agency_key", firms="agency", per_agency=True)
        rows = self._labelled(
            [
                (
                    agency.pk,
                    {
                        "id": agency.pk,
                        "name": agency.name,
                        "quota": agency.quota,
                        "assigned": agency.assigned,
                    },
                )
                for agency in agencies
            ],
            grouped,
        )
        for row in rows:
            row["progress"] = percent(row["firms_inspected"], row["quota"])
            row["overdue_reinspections"] = row["overdue"] + self._waiting_on_agency.get(
                row["id"], 0
            )
        return rows

    def by_month(self):
        """One row per calendar month of the period (the first and last may be partial)."""
        grouped = self._summed("month_key", groups=self._month_groups)
        per_agency = self.agency is not None
        rows = []
        for month in _months(self.filters.date_from, self.filters.date_to):
            first = max(month, self.filters.date_from)
            last = min(_month_end(month), self.filters.date_to)
            row = {**ZERO_ROW, **grouped.get(month, {})}
            column = _firms_column(first, last, per_agency=per_agency)
            if column is None:
                # A month begun mid-way: its firms are counted from its inspections.
                firms = self._firms_in(first, last)[()]
            else:
                firms = sum(
                    group[column] for group in self._month_groups if group["month_key"] == month
                )
            row.update(
                firms_inspected=firms,
                month=month,
                name=_("%(year)d年%(month)d月") % {"year": month.year, "month": month.month},
                date_from=first,
                date_to=last,
            )
            rows.append(_with_rate(row))
        return rows

    def overdue_hazards(self, *, limit=OVERDUE_LISTED):
        """The overdue hazards of the period in scope, the longest overdue first, each with
        `days_overdue`."""
        hazards = (
            self.hazards()
            .filter(status=Hazard.Status.OVERDUE)
            .select_related("firm", "firm__street", "inspection__agency")
            .order_by("deadline", "created_at", "pk")[:limit]
        )
        hazards = list(hazards)
        for hazard in hazards:
            hazard.days_overdue = (self.today - hazard.deadline).days
        return hazards


def _months(start, end):
    month = start.replace(day=1)
    while month <= end:
        yield month
        month = (month + timedelta(days=32)).replace(day=1)


def _month_end(month):
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


# --- A firm's own summary ----------------------------------------------------------------------
