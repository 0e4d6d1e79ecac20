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
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contractors.models import (
    Agency,
    Assignment,
    Contract,
    Hazard,
    HazardCategory,
    HazardLevel,
    Inspection,
    Park,
    Street,
)
from contractors.selectors import hazards_visible_to
from documents.models import Document
from documents.selectors import documents_visible_to
from portal.access import require_role
from portal.models import Role

STATS_ROLES = (Role.BUREAU_ADMIN, Role.BUREAU_REVIEWER, Role.AGENCY_MANAGER)
DATE_FORMAT = "%Y-%m-%d"
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


def default_period():
    today = timezone.localdate()
    return date(today.year, 1, 1), today


# --- Who sees what, and for which period -------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a reader may count: the whole bureau, or one agency's work (an agency manager)."""

    bureau: object
    agency: object = None


def scope_of(user):
    """The scope of `user`'s figures: the bureau for its staff, the own agency for an agency
    manager; 403 for everyone else."""
    membership = require_role(user, *STATS_ROLES)
    if membership.is_agency_staff:
        return Scope(bureau=membership.bureau, agency=membership.agency)
    return Scope(bureau=membership.bureau)


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    street: Street = None
    agency: Agency = None

    def query(self):
        """The filters as query parameters, for links and exports."""
        params = {
            "from": self.date_from.strftime(DATE_FORMAT),
            "to": self.date_to.strftime(DATE_FORMAT),
        }
        if self.street:
            params["street"] = str(self.street.pk)
        if self.agency:
            params["agency"] = str(self.agency.pk)
        return params


class KnownChoice(forms.ModelChoiceField):
    """A choice by id, where a malformed id is as unknown as a missing one: the reader is told
    the same reason for both."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None


class StatsFilterForm(forms.Form):
    """The period and the filters, from a query string; each problem in Chinese on its field.
    A missing or empty date takes the default period's."""

    def __init__(self, data, *, streets, agencies):
        """`data`: a QueryDict; `streets`, `agencies`: the choices a reader may filter by."""
        start, end = default_period()
        data = data.copy()
        for name, default in (("from", start), ("to", end)):
            if not data.get(name):
                data[name] = default.strftime(DATE_FORMAT)
        super().__init__(data)
        for name, label in (("from", gettext_lazy("开始日期")), ("to", gettext_lazy("结束日期"))):
            self.fields[name] = forms.DateField(
                label=label,
                input_formats=[DATE_FORMAT],
                widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT),
                error_messages={"invalid": _("日期格式不正确，应为 YYYY-MM-DD，例如 2020-10-31。")},
            )
        self.fields["street"] = KnownChoice(
            label=gettext_lazy("街道镇"),
            queryset=streets,
            required=False,
            empty_label=gettext_lazy("全部街道镇"),
            error_messages={"invalid_choice": _("没有这个街道镇。")},
        )
        self.fields["agency"] = KnownChoice(
            label=gettext_lazy("服务机构"),
            queryset=agencies,
            required=False,
            empty_label=gettext_lazy("全部服务机构"),
            error_messages={"invalid_choice": _("没有这个服务机构。")},
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", _("结束日期不能早于开始日期。"))
        return data

    def filters(self):
        data = self.cleaned_data
        return Filters(
            date_from=data["from"],
            date_to=data["to"],
            street=data["street"],
            agency=data["agency"],
        )


def filter_form(scope, data):
    """The filter form of a reader with `scope`: the bureau's streets; the bureau's agencies
    for its staff, and only its own for an agency manager (another agency is unknown to it)."""
    agencies = Agency.objects.filter(bureau=scope.bureau).order_by("name")
    if scope.agency is not None:
        agencies = agencies.filter(pk=scope.agency.pk)
    return StatsFilterForm(
        data,
        streets=Street.objects.filter(bureau=scope.bureau).order_by("code"),
        agencies=agencies,
    )


# --- The counts ---------------------------------------------------------------------------------


def _hazard_figures(today, *, by_category=True):
    """The hazard counts; `by_category` adds a count per category (not needed where the
    category is a group key)."""
    waiting_on_agency = Q(status=Hazard.Status.OVERDUE) | Q(
        status=Hazard.Status.RECTIFIED, deadline__lt=today
    )
    figures = {
        "hazards": Count("pk"),
        "major": Count("pk", filter=Q(level=HazardLevel.MAJOR)),
        "rectified": Count("pk", filter=Q(status=Hazard.Status.VERIFIED)),
        "overdue": Count("pk", filter=Q(status=Hazard.Status.OVERDUE)),
        "overdue_reinspections": Count("pk", filter=waiting_on_agency),
    }
    if by_category:
        for category in HazardCategory:
            figures[category.value] = Count("pk", filter=Q(category=category))
    return figures


INSPECTION_FIGURES = {"inspections": Count("pk"), "firms_inspected": Count("firm", distinct=True)}
ZERO_ROW = {
    "inspections": 0,
    "firms_inspected": 0,
    "hazards": 0,
    "major": 0,
    "rectified": 0,
    "overdue": 0,
    "overdue_reinspections": 0,
    "documents_issued": 0,
    **{category.value: 0 for category in HazardCategory},
}


def _with_rate(row):
    row["rate"] = percent(row["rectified"], row["hazards"])
    return row


class Statistics:
    """The figures of one scope and one set of filters. Each method is a fixed number of
    queries, whatever the amount of data."""

    def __init__(self, scope, filters):
        self.scope = scope
        self.filters = filters
        self.today = timezone.localdate()

    @property
    def agency(self):
        return self.scope.agency or self.filters.agency

    # --- The base sets ------------------------------------------------------------------------

    def _work(self, prefix=""):
        """The submitted inspections of the period in scope, as a filter on a model that
        reaches them through `prefix`."""
        conditions = {
            f"{prefix}bureau": self.scope.bureau,
            f"{prefix}submitted_at__isnull": False,
            f"{prefix}inspected_on__range": (self.filters.date_from, self.filters.date_to),
        }
        if self.agency:
            conditions[f"{prefix}agency"] = self.agency
        return Q(**conditions)

    def inspections(self):
        inspections = Inspection.objects.filter(self._work())
        if self.filters.street:
            inspections = inspections.filter(firm__street=self.filters.street)
        return inspections.order_by()

    def hazards(self):
        hazards = Hazard.objects.filter(self._work("inspection__"))
        if self.filters.street:
            hazards = hazards.filter(firm__street=self.filters.street)
        return hazards.order_by()

    def documents(self):
        zone = timezone.get_current_timezone()
        start = timezone.make_aware(datetime.combine(self.filters.date_from, time.min), zone)
        end = timezone.make_aware(
            datetime.combine(self.filters.date_to + timedelta(days=1), time.min), zone
        )
        documents = Document.objects.filter(
            bureau=self.scope.bureau,
            status=Document.Status.APPROVED,
            approved_at__gte=start,
            approved_at__lt=end,
        )
        if self.agency:
            documents = documents.filter(agency=self.agency)
        if self.filters.street:
            documents = documents.filter(firm__street=self.filters.street)
        return documents.order_by()

    # --- Totals -------------------------------------------------------------------------------

    @cached_property
    def totals(self):
        row = dict(ZERO_ROW)
        row.update(self.inspections().aggregate(**INSPECTION_FIGURES))
        row.update(self.hazards().aggregate(**_hazard_figures(self.today)))
        row["documents_issued"] = self.documents().count()
        return _with_rate(row)

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
        grouped = _summed("category_key", self._hazard_groups)
        rows = []
        for category in HazardCategory:
            row = {**ZERO_ROW, **grouped.get(category.value, {})}
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

    # Every breakdown sums the same few grouped queries, so the dashboard reads each table once
    # for all its breakdowns rather than once per breakdown. The groups are few (streets x
    # parks x agencies x months x categories at most), whatever the number of rows.

    @cached_property
    def _hazard_groups(self):
        return _group_rows(
            self.hazards()
            .values(
                street_key=F("firm__street"),
                park_key=F("firm__park"),
                agency_key=F("inspection__agency"),
                month_key=TruncMonth("inspection__inspected_on"),
                category_key=F("category"),
            )
            .annotate(**_hazard_figures(self.today, by_category=False))
        )

    @cached_property
    def _document_groups(self):
        return _group_rows(
            self.documents()
            .values(
                street_key=F("firm__street"),
                park_key=F("firm__park"),
                agency_key=F("agency"),
                month_key=TruncMonth("approved_at", tzinfo=timezone.get_current_timezone()),
            )
            .annotate(documents_issued=Count("pk"))
        )

    def _inspection_groups(self, **keys):
        # Distinct firms do not add up across groups that one firm can fall in twice (two
        # months, two agencies): each such breakdown gets its own grouped query. A firm has
        # one street and one park, so those two share one.
        return _group_rows(self.inspections().values(**keys).annotate(**INSPECTION_FIGURES))

    @cached_property
    def _area_groups(self):
        return self._inspection_groups(street_key=F("firm__street"), park_key=F("firm__park"))

    def _grouped(self, key, inspections):
        """Per value of `key`, the figures of the inspection groups given and of the hazard
        and document groups."""
        return _summed(key, inspections, self._hazard_groups, self._document_groups)

    def _labelled(self, labels, grouped):
        """`labels` ((key, fields) pairs) in order, each with its group's figures or zeros."""
        return [
            _with_rate({**ZERO_ROW, **grouped.get(key, {}), **fields}) for key, fields in labels
        ]

    def by_street(self):
        streets = Street.objects.filter(bureau=self.scope.bureau).order_by("code")
        if self.filters.street:
            streets = streets.filter(pk=self.filters.street.pk)
        grouped = self._grouped("street_key", self._area_groups)
        labels = [
            (street.pk, {"id": street.pk, "name": street.name, "kind": street.get_kind_display()})
            for street in streets
        ]
        return self._labelled(labels, grouped)

    def by_park(self):
        """One row per industrial park, then the firms outside any park (id None)."""
        grouped = self._grouped("park_key", self._area_groups)
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
        grouped = self._grouped("agency_key", self._inspection_groups(agency_key=F("agency")))
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
        return rows

    def by_month(self):
        """One row per calendar month of the period (the first and last may be partial)."""
        by_month = self._grouped(
            "month_key", self._inspection_groups(month_key=TruncMonth("inspected_on"))
        )
        labels = []
        for month in _months(self.filters.date_from, self.filters.date_to):
            first = max(month, self.filters.date_from)
            last = min(_month_end(month), self.filters.date_to)
            labels.append(
                (
                    month,
                    {
                        "month": month,
                        "name": _("%(year)d年%(month)d月")
                        % {"year": month.year, "month": month.month},
                        "date_from": first,
                        "date_to": last,
                    },
                )
            )
        return self._labelled(labels, by_month)

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


def _group_rows(grouped):
    """The rows of a grouped query, with a month truncated from a time (documents) as the
    local date of its first day, like a month truncated from a date."""
    rows = list(grouped)
    for row in rows:
        month = row.get("month_key")
        if isinstance(month, datetime):
            row["month_key"] = month.date()
    return rows


def _summed(key, *sources):
    """Per value of `key`, the figures of the rows of `sources` added up."""
    summed = {}
    for rows in sources:
        for row in rows:
            target = summed.setdefault(row[key], dict(ZERO_ROW))
            for name, value in row.items():
                if name in ZERO_ROW:
                    target[name] += value
    return summed


def _months(start, end):
    month = start.replace(day=1)
    while month <= end:
        yield month
        month = (month + timedelta(days=32)).replace(day=1)


def _month_end(month):
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


# --- A firm's own summary ----------------------------------------------------------------------


def firm_figures(user):
    """A firm user's figures of its own firm, all time: its hazards by state and category, and
    the documents signed for it (acknowledged or still to acknowledge); 403 for anyone else."""
    require_role(user, Role.FIRM_USER)
    hazards = hazards_visible_to(user).order_by()
    figures = hazards.aggregate(
        hazards=Count("pk"),
        major=Count("pk", filter=Q(level=HazardLevel.MAJOR)),
        open=Count("pk", filter=Q(status=Hazard.Status.OPEN)),
        awaiting_reinspection=Count("pk", filter=Q(status=Hazard.Status.RECTIFIED)),
        rectified=Count("pk", filter=Q(status=Hazard.Status.VERIFIED)),
        overdue=Count("pk", filter=Q(status=Hazard.Status.OVERDUE)),
    )
    figures["rate"] = percent(figures["rectified"], figures["hazards"])
    counted = {
        row["category"]: row["hazards"]
        for row in hazards.values("category").annotate(hazards=Count("pk"))
    }
    figures["categories"] = [
        {
            "category": category.value,
            "name": category.label,
            "hazards": counted.get(category.value, 0),
        }
        for category in HazardCategory
    ]
    signed = Q(status=Document.Status.APPROVED)
    figures.update(
        documents_visible_to(user)
        .order_by()
        .aggregate(
            documents=Count("pk", filter=signed),
            acknowledged=Count("pk", filter=signed & Q(acknowledged_at__isnull=False)),
            to_acknowledge=Count("pk", filter=signed & Q(acknowledged_at__isnull=True)),
        )
    )
    figures["pending"] = list(
        hazards.filter(status__in=(Hazard.Status.OPEN, Hazard.Status.OVERDUE)).order_by(
            "deadline", "created_at", "pk"
        )[:OVERDUE_LISTED]
    )
    return figures
