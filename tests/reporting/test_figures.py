"""The statistics' tally (reporting/figures.py) stays exact.

An oracle counts the definitions at the top of reporting/stats.py straight from the inspection,
hazard and document rows, in plain Python. After each change made through the services (the
calls the views make), `Statistics`, summed from the tally, must give the oracle's totals and
breakdowns for every period and filter, and the incrementally refreshed tally must hold the
very rows a full recount builds.
"""

import calendar
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contractors.checklists.services import do_install_default_checklist
from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.hazards.services import (
    do_mark_overdue_hazards,
    do_record_hazard,
    do_reinspect_hazard,
    do_update_hazard,
)
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.inspections.services import (
    do_answer_item,
    do_submit_inspection,
    do_update_inspection,
)
from contractors.register.models import Park, Street
from contractors.register.services import do_import_register
from contractors.tenancy.models import Agency
from documents.models import DocType, Document
from documents.review.services import do_approve_document, do_reject_document
from portal.models import AgencyInspectedDays, DailyFigures, FiguresChange, InspectedDays
from reporting import figures
from reporting.figures import do_recount_figures, do_refresh_figures
from reporting.forms import Filters, Scope
from reporting.stats import Statistics, _firms_column, percent
from tests.conftest import assign
from tests.contractors.inspections.test_inspections import answer_all, start_inspection
from tests.contractors.register.test_register_import import csv_bytes
from tests.contractors.register.test_register_import import row as register_row
from tests.documents.factories import rectify, submitted_inspection
from tests.reporting.test_stats import SHANGHAI, Work

pytestmark = pytest.mark.usefixtures("local_storage")

PRODUCTION, FIRE, SPECIAL, HEALTH, OTHER = HazardCategory
GENERAL, MAJOR = HazardLevel
OPEN, RECTIFIED, VERIFIED, OVERDUE = (
    Hazard.Status.OPEN,
    Hazard.Status.RECTIFIED,
    Hazard.Status.VERIFIED,
    Hazard.Status.OVERDUE,
)
CATEGORIES = tuple(category.value for category in HazardCategory)
FIGURES = (
    "inspections",
    "firms_inspected",
    "hazards",
    "major",
    "rectified",
    "overdue",
    "documents_issued",
    *CATEGORIES,
    "rate",
)
CATEGORY_FIGURES = ("category", "hazards", "general", "major", "rectified", "overdue", "rate")
TALLY_COLUMNS = tuple(
    field.attname for field in DailyFigures._meta.concrete_fields if not field.primary_key
)
DAYS_COLUMNS, AGENCY_COLUMNS = (
    tuple(field.attname for field in model._meta.concrete_fields if not field.primary_key)
    for model in (InspectedDays, AgencyInspectedDays)
)


# --- The oracle ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """One counted row (a submitted inspection, a hazard of one, a signed document): the day
    it counts on and what the filters, breakdowns and figures look at."""

    kind: str
    day: date
    firm: object
    agency: object
    street: object
    park: object
    category: str = ""
    level: str = ""
    status: str = ""
    deadline: date = None


def facts_of(bureau):
    facts = []
    for inspection in Inspection.objects.filter(bureau=bureau).select_related("firm"):
        if inspection.submitted_at is None:
            continue
        firm = inspection.firm
        facts.append(
            Fact(
                "inspection",
                inspection.inspected_on,
                firm.pk,
                inspection.agency_id,
                firm.street_id,
                firm.park_id,
            )
        )
    for hazard in Hazard.objects.filter(firm__bureau=bureau).select_related("inspection", "firm"):
        inspection = hazard.inspection
        if inspection.submitted_at is None:
            continue
        facts.append(
            Fact(
                "hazard",
                inspection.inspected_on,
                hazard.firm_id,
                inspection.agency_id,
                hazard.firm.street_id,
                hazard.firm.park_id,
                category=hazard.category,
                level=hazard.level,
                status=hazard.status,
                deadline=hazard.deadline,
            )
        )
    for document in Document.objects.filter(bureau=bureau).select_related("firm"):
        if document.status != Document.Status.APPROVED:
            continue
        facts.append(
            Fact(
                "document",
                timezone.localdate(document.approved_at),
                document.firm_id,
                document.agency_id,
                document.firm.street_id,
                document.firm.park_id,
            )
        )
    return facts


def count(facts, today):
    inspections = [fact for fact in facts if fact.kind == "inspection"]
    hazards = [fact for fact in facts if fact.kind == "hazard"]
    counted = {
        "inspections": len(inspections),
        "firms_inspected": len({fact.firm for fact in inspections}),
        "hazards": len(hazards),
        "major": sum(fact.level == MAJOR for fact in hazards),
        "rectified": sum(fact.status == VERIFIED for fact in hazards),
        "overdue": sum(fact.status == OVERDUE for fact in hazards),
        "documents_issued": sum(fact.kind == "document" for fact in facts),
        **{category: sum(fact.category == category for fact in hazards) for category in CATEGORIES},
    }
    counted["rate"] = percent(counted["rectified"], counted["hazards"])
    counted["waiting"] = sum(fact.status == RECTIFIED and fact.deadline < today for fact in hazards)
    return counted


def month_end(day):
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months(start, end):
    month = start.replace(day=1)
    while month <= end:
        yield month
        month = month_end(month) + timedelta(days=1)


def shown(counted, *keys):
    return {name: counted[name] for name in (*keys, *FIGURES)}


def oracle(facts, scope, filters, today):
    """What the definitions give for `scope` and `filters`, in the shape of `observed`."""
    agency = scope.agency or filters.agency

    def figures_of(start=filters.date_from, end=filters.date_to, **wanted):
        return count(
            [
                fact
                for fact in facts
                if start <= fact.day <= end
                and (agency is None or fact.agency == agency.pk)
                and (filters.street is None or fact.street == filters.street.pk)
                and all(getattr(fact, name) == value for name, value in wanted.items())
            ],
            today,
        )

    streets = Street.objects.filter(bureau=scope.bureau).order_by("code")
    if filters.street:
        streets = streets.filter(pk=filters.street.pk)
    parks = [
        *Park.objects.filter(bureau=scope.bureau).order_by("name").values_list("pk", flat=True)
    ]
    agencies = Agency.objects.filter(bureau=scope.bureau).order_by("name")
    if agency:
        agencies = agencies.filter(pk=agency.pk)
    by_category = []
    for category in CATEGORIES:
        counted = figures_of(category=category)
        by_category.append(
            {
                "category": category,
                "general": counted["hazards"] - counted["major"],
                **{name: counted[name] for name in ("hazards", "major", "rectified", "overdue")},
                "rate": counted["rate"],
            }
        )
    by_agency = []
    for each in agencies:
        counted = figures_of(agency=each.pk)
        by_agency.append(
            {
                "id": each.pk,
                **shown(counted),
                "overdue_reinspections": counted["overdue"] + counted["waiting"],
            }
        )
    by_month = []
    for month in months(filters.date_from, filters.date_to):
        first, last = max(month, filters.date_from), min(month_end(month), filters.date_to)
        by_month.append(
            {"month": month, "date_from": first, "date_to": last}
            | shown(figures_of(start=first, end=last))
        )
    return {
        "totals": shown(figures_of()),
        "by_category": by_category,
        "by_street": [
            {"id": street.pk} | shown(figures_of(street=street.pk)) for street in streets
        ],
        "by_park": [{"id": park} | shown(figures_of(park=park)) for park in [*parks, None]],
        "by_agency": by_agency,
        "by_month": by_month,
    }


def observed(stats):
    """The figures of `stats`, in the oracle's shape."""
    return {
        "totals": shown(stats.totals),
        "by_category": [
            {name: row[name] for name in CATEGORY_FIGURES} for row in stats.by_category()
        ],
        "by_street": [shown(row, "id") for row in stats.by_street()],
        "by_park": [shown(row, "id") for row in stats.by_park()],
        "by_agency": [
            shown(row, "id") | {"overdue_reinspections": row["overdue_reinspections"]}
            for row in stats.by_agency()
        ],
        "by_month": [shown(row, "month", "date_from", "date_to") for row in stats.by_month()],
    }


# --- Checking -----------------------------------------------------------------------------------


def tally_rows(bureau):
    rows = DailyFigures.objects.filter(bureau=bureau).values_list(*TALLY_COLUMNS)
    return sorted(rows, key=str)


def days_rows(bureau):
    """The firms' inspected days, by any agency and by each."""
    return [
        sorted(model.objects.filter(bureau=bureau).values_list(*columns), key=str)
        for model, columns in ((InspectedDays, DAYS_COLUMNS), (AgencyInspectedDays, AGENCY_COLUMNS))
    ]


def recounted_rows(bureau, rows_of=tally_rows):
    """The rows a full recount builds, rolled back so that the refreshes go on as they were."""
    with transaction.atomic():
        do_recount_figures(bureau=bureau)
        rows = rows_of(bureau)
        transaction.set_rollback(True)
    return rows


def periods_of(facts):
    """Each year and each month with work, and a period the first-of-year and first-of-month
    flags cannot count firms for (from the 2nd): its firms are counted from the inspections."""
    days = {fact.day for fact in facts} or {timezone.localdate()}
    periods = {(date(day.year, 1, 1), date(day.year, 12, 31)) for day in days}
    periods |= {(day.replace(day=1), month_end(day)) for day in days}
    periods.add((min(days).replace(day=2), month_end(max(days))))
    # Mid-month to mid-month, and mid-year to the year's end: the firms' inspected days.
    periods.add((min(days).replace(day=15), (month_end(max(days)) + timedelta(days=14))))
    periods |= {(date(day.year, 3, 15), date(day.year, 12, 31)) for day in days}
    return sorted(periods)


def readers(cast, date_from, date_to):
    """Who reads each period, with which filters: the bureau, by street, by agency, and agency
    A's manager by street."""
    bureau = Scope(bureau=cast.bureau)
    period = {"date_from": date_from, "date_to": date_to}
    street = cast.register.changshou
    return [
        (bureau, Filters(**period)),
        (bureau, Filters(**period, street=street)),
        (bureau, Filters(**period, agency=cast.agency_b)),
        (Scope(bureau=cast.bureau, agency=cast.agency_a), Filters(**period, street=street)),
    ]


def assert_exact(cast, *, periods=None, today=None):
    """Statistics equal the oracle for every reader and period (`today`: read on that day),
    the read consumed the notes, and the tally holds the rows a full recount builds."""
    today = today or timezone.localdate()
    facts = facts_of(cast.bureau)
    for date_from, date_to in periods or periods_of(facts):
        for scope, filters in readers(cast, date_from, date_to):
            stats = Statistics(scope, filters)
            stats.today = today
            got, expected = observed(stats), oracle(facts, scope, filters, today)
            for part, figures_expected in expected.items():
                assert got[part] == figures_expected, (part, scope, filters)
    assert not FiguresChange.objects.filter(bureau=cast.bureau).exists()
    assert tally_rows(cast.bureau) == recounted_rows(cast.bureau)
    assert days_rows(cast.bureau) == recounted_rows(cast.bureau, days_rows)


def year_to_date(cast):
    today = timezone.localdate()
    return Statistics(
        Scope(bureau=cast.bureau), Filters(date_from=date(today.year, 1, 1), date_to=today)
    )


def totals(cast, *names):
    figures_now = year_to_date(cast).totals
    return {name: figures_now[name] for name in names}


# --- Work through the services ------------------------------------------------------------------


@pytest.fixture
def ready(cast):
    """The cast with certificate numbers for every inspector and the default checklist cut to
    its first three items, so that an inspection takes three answers rather than fifty."""
    inspectors = (cast.inspector_a1, cast.inspector_a2, cast.inspector_b1, cast.inspector_b2)
    for number, user in enumerate(inspectors, start=1):
        user.certificate_number = f"3107000{number}"
        user.save(update_fields=["certificate_number"])
    checklist = do_install_default_checklist(actor=None, bureau=cast.bureau)
    checklist.items.filter(position__gt=3).delete()
    return cast


def team_b(cast):
    return cast.inspector_b1, cast.inspector_b2


def record(inspection, actor, category, level):
    return do_record_hazard(
        actor=actor,
        inspection=inspection,
        category=category,
        level=level,
        description="疏散通道堆放货物",
        legal_basis="《中华人民共和国消防法》第二十八条",
        requirement="立即清除",
        deadline=timezone.localdate() + timedelta(days=15),
    )


def inspect(cast, *, on=None, firm=None, team=None, hazards=(), submit=True):
    """An inspection of `firm` (A) on `on` (today) by `team` (agency A's two inspectors),
    every item passed, with `hazards` ((category, level) pairs); submitted unless told."""
    lead, partner = team or (cast.inspector_a1, cast.inspector_a2)
    inspection = start_inspection(
        cast,
        actor=lead,
        firm=firm,
        inspected_on=on or timezone.localdate(),
        inspectors=[lead, partner],
    )
    answer_all(lead, inspection)
    for category, level in hazards:
        record(inspection, lead, category, level)
    if submit:
        inspection = do_submit_inspection(actor=lead, inspection=inspection)
    return inspection


def reinspect(cast, hazard, *, passed):
    return do_reinspect_hazard(
        actor=cast.inspector_a1,
        hazard=hazard,
        passed=passed,
        note="已复查" if passed else "尚未整改到位",
        evidence=[],
        deadline=None if passed else timezone.localdate() + timedelta(days=10),
    )


# --- 1. Submitting -------------------------------------------------------------------------------


def test_a_submitted_inspection_counts_with_its_hazards_and_a_draft_never(ready):
    cast = ready
    draft = inspect(cast, hazards=[(FIRE, MAJOR), (PRODUCTION, GENERAL)], submit=False)
    assert_exact(cast)
    assert totals(cast, "inspections", "hazards") == {"inspections": 0, "hazards": 0}

    do_submit_inspection(actor=cast.inspector_a1, inspection=draft)
    assert_exact(cast)
    inspect(cast, firm=cast.firm_b, team=team_b(cast), hazards=[(OTHER, GENERAL)])
    assert_exact(cast)

    assert totals(cast, "inspections", "firms_inspected", "hazards", "major", "fire") == {
        "inspections": 2,
        "firms_inspected": 2,
        "hazards": 3,
        "major": 1,
        "fire": 1,
    }


# --- 2. A returned inspection edited -------------------------------------------------------------


def test_edits_to_a_returned_inspection_and_its_new_date_move_its_figures(ready):
    cast = ready
    today = timezone.localdate()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    inspection = start_inspection(cast)
    answer_all(cast.inspector_a1, inspection)
    item = inspection.checklist.items.order_by("position").first()
    _answer, found = do_answer_item(
        actor=cast.inspector_a1,
        inspection=inspection,
        item=item,
        answer=ChecklistAnswer.Answer.HAZARD,
    )
    changed = record(inspection, cast.inspector_a1, FIRE, GENERAL)
    inspection = do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    # The firm's first inspection of last month, until the edited one moves before it.
    inspect(cast, on=last_month.replace(day=20), hazards=[(OTHER, GENERAL)])
    assert_exact(cast)
    record_document = next(
        d for d in inspection.drafted_documents if d.doc_type == DocType.INSPECTION_RECORD
    )
    do_reject_document(actor=cast.reviewer, document=record_document, reason="隐患类别有误")
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.RETURNED

    record(inspection, cast.inspector_a1, SPECIAL, MAJOR)
    assert_exact(cast)
    do_update_hazard(actor=cast.inspector_a1, hazard=changed, category=HEALTH, level=MAJOR)
    assert_exact(cast)
    do_answer_item(
        actor=cast.inspector_a1,
        inspection=inspection,
        item=item,
        answer=ChecklistAnswer.Answer.PASS,
    )
    assert not Hazard.objects.filter(pk=found.pk).exists()
    assert_exact(cast)
    do_update_inspection(
        actor=cast.inspector_a1, inspection=inspection, inspected_on=last_month.replace(day=10)
    )
    assert_exact(cast)
    do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    assert_exact(cast)

    stats = Statistics(Scope(bureau=cast.bureau), Filters(date_from=last_month, date_to=today))
    assert [stats.totals[name] for name in ("major", HEALTH, SPECIAL, FIRE, OTHER)] == [
        2,
        1,
        1,
        0,
        1,
    ]
    assert [
        (row["month"], row["inspections"], row["firms_inspected"], row["hazards"])
        for row in stats.by_month()
    ] == [(last_month, 2, 1, 3), (today.replace(day=1), 0, 0, 0)]


# --- 3. Rectification and re-inspection ----------------------------------------------------------


def test_rectification_and_reinspection_move_hazards_between_states(ready):
    cast = ready
    inspection = inspect(cast, hazards=[(FIRE, MAJOR), (PRODUCTION, GENERAL), (OTHER, GENERAL)])
    passing, failing, _untouched = inspection.hazards.order_by("created_at")

    rectify(cast, passing)
    rectify(cast, failing)
    assert_exact(cast)
    reinspect(cast, passing, passed=True)
    assert_exact(cast)
    reinspect(cast, failing, passed=False)
    assert_exact(cast)

    assert totals(cast, "hazards", "rectified", "rate") == {
        "hazards": 3,
        "rectified": 1,
        "rate": percent(1, 3),
    }
    failing.refresh_from_db()
    assert failing.status == OPEN


# --- 4. Overdue ----------------------------------------------------------------------------------


def test_hazards_marked_overdue_count_as_overdue_and_then_wait_on_the_agency(ready):
    cast = ready
    inspect(cast, hazards=[(FIRE, GENERAL), (FIRE, MAJOR)])
    inspect(cast, firm=cast.firm_b, team=team_b(cast), hazards=[(PRODUCTION, GENERAL)])
    later = timezone.localdate() + timedelta(days=20)
    assert_exact(cast)

    assert do_mark_overdue_hazards(today=later) == 3
    assert_exact(cast, today=later)
    rectify(cast, Hazard.objects.filter(firm=cast.firm_a).first())
    assert_exact(cast, today=later)

    stats = year_to_date(cast)
    stats.today = later
    assert {row["id"]: row["overdue_reinspections"] for row in stats.by_agency()} == {
        cast.agency_a.pk: 2,
        cast.agency_b.pk: 1,
    }
    assert stats.totals["overdue"] == 2


# --- 5. Documents --------------------------------------------------------------------------------


def test_signed_documents_count_on_their_sign_off_day_and_a_superseded_one_no_more(
    ready, monkeypatch
):
    cast = ready
    inspection, drafted = submitted_inspection(cast, hazards=1)
    # Signed at half past midnight yesterday, Shanghai time (still the day before in UTC):
    # its correction, signed today, must take it off yesterday's figures.
    yesterday = timezone.localdate() - timedelta(days=1)
    signed_at = datetime.combine(yesterday, time(0, 30), tzinfo=SHANGHAI)
    with monkeypatch.context() as clock:
        clock.setattr(timezone, "now", lambda: signed_at)
        signed = do_approve_document(
            actor=cast.reviewer, document=drafted[DocType.INSPECTION_RECORD]
        )
    assert_exact(cast)
    yesterdays = Statistics(
        Scope(bureau=cast.bureau), Filters(date_from=yesterday, date_to=yesterday)
    )
    assert yesterdays.totals["documents_issued"] == 1

    do_reject_document(
        actor=cast.reviewer, document=drafted[DocType.RECTIFICATION_ORDER], reason="地点有误"
    )
    do_update_inspection(actor=cast.inspector_a1, inspection=inspection, place="二号仓库")
    resubmitted = do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    again = {document.doc_type: document for document in resubmitted.drafted_documents}
    correction = do_approve_document(actor=cast.reviewer, document=again[DocType.INSPECTION_RECORD])
    assert correction.supersedes_id == signed.pk
    assert_exact(cast)
    order = do_approve_document(actor=cast.reviewer, document=again[DocType.RECTIFICATION_ORDER])
    assert_exact(cast)

    hazard = order.hazards.get()
    rectify(cast, hazard)
    opinion = reinspect(cast, hazard, passed=True).drafted_opinion
    assert_exact(cast)
    do_reject_document(actor=cast.reviewer, document=opinion, reason="照片看不清")
    hazard.refresh_from_db()
    assert hazard.status == RECTIFIED
    assert_exact(cast)
    opinion = reinspect(cast, hazard, passed=True).drafted_opinion
    do_approve_document(actor=cast.reviewer, document=opinion)
    assert_exact(cast)

    assert totals(cast, "documents_issued", "rectified") == {
        "documents_issued": 3,
        "rectified": 1,
    }


# --- 6. Firms moved ------------------------------------------------------------------------------


def test_a_firm_moved_by_the_register_import_or_the_admin_counts_where_it_is_now(ready, client_for):
    cast = ready
    _inspection, drafted = submitted_inspection(cast, hazards=2)
    do_approve_document(actor=cast.reviewer, document=drafted[DocType.INSPECTION_RECORD])
    inspect(cast, firm=cast.firm_b, team=team_b(cast), hazards=[(OTHER, GENERAL)])
    assert_exact(cast)

    moved = register_row(1, name=cast.firm_a.name, street="桃浦镇", park="铁三角工业园区")
    report = do_import_register(
        actor=cast.admin,
        bureau=cast.bureau,
        content=csv_bytes([moved]),
        filename="名录.csv",
        dry_run=False,
    )
    assert (report.updated, report.errors) == (1, [])
    assert_exact(cast)
    by_street = {row["id"]: row for row in year_to_date(cast).by_street()}
    assert [by_street[cast.register.changshou.pk][name] for name in FIGURES[:3]] == [0, 0, 0]
    assert [by_street[cast.register.taopu.pk][name] for name in FIGURES[:3]] == [2, 2, 3]

    cast.admin.is_staff = cast.admin.is_superuser = True
    cast.admin.save()
    client = client_for(cast.admin)
    url = reverse("admin:contractors_firm_change", args=[cast.firm_a.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data["park"] = ""
    response = client.post(
        url, {name: "" if value is None else value for name, value in data.items()}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert_exact(cast)
    by_park = {row["id"]: row["inspections"] for row in year_to_date(cast).by_park()}
    assert by_park == {cast.register.park.pk: 0, None: 2}


# --- 7. Firms counted once -----------------------------------------------------------------------


def test_a_firm_is_counted_once_however_often_and_by_whomever_it_is_inspected(ready):
    cast = ready
    year = timezone.localdate().year - 1
    inspect(cast, on=date(year, 3, 10))
    inspect(cast, on=date(year, 3, 20))
    inspect(cast, on=date(year, 3, 20))
    inspect(cast, on=date(year, 5, 5))
    inspect(cast, on=date(year, 3, 20), firm=cast.firm_b, team=team_b(cast))
    assign(cast.contract_b, cast.firm_a)
    inspect(cast, on=date(year, 5, 5), team=team_b(cast))
    inspect(cast, on=date(year, 6, 15), team=team_b(cast))
    inspect(cast, on=date(year + 1, 1, 1), team=team_b(cast))
    flagged = [
        (date(year, 1, 1), date(year, 12, 31)),
        (date(year, 3, 1), date(year, 3, 31)),
        (date(year, 5, 1), date(year, 5, 31)),
        (date(year, 1, 1), date(year, 5, 5)),
    ]
    counted = [
        (date(year, 3, 15), date(year, 6, 30)),
        (date(year, 3, 1), date(year, 6, 30)),
        (date(year, 6, 1), date(year + 1, 1, 31)),
    ]
    # The flags answer the first periods; the others are counted from the inspections.
    assert all(_firms_column(*period, per_agency=False) for period in flagged)
    assert not any(_firms_column(*period, per_agency=False) for period in counted)
    assert_exact(cast, periods=flagged + counted)

    # Submitted after the later ones were counted: they are no longer the firm's first of
    # the year and month, by any agency and by agency B.
    inspect(cast, on=date(year, 3, 5), team=team_b(cast))
    assert_exact(cast, periods=flagged + counted)

    year_stats = Statistics(
        Scope(bureau=cast.bureau), Filters(date_from=date(year, 1, 1), date_to=date(year, 12, 31))
    )
    assert (year_stats.totals["inspections"], year_stats.totals["firms_inspected"]) == (8, 2)
    assert {row["id"]: row["firms_inspected"] for row in year_stats.by_agency()} == {
        cast.agency_a.pk: 1,
        cast.agency_b.pk: 2,
    }
    assert [row["firms_inspected"] for row in year_stats.by_month()][2:6] == [2, 0, 1, 1]
    spring = Statistics(
        Scope(bureau=cast.bureau), Filters(date_from=date(year, 3, 15), date_to=date(year, 6, 30))
    )
    assert spring.totals["firms_inspected"] == 2


def counted_directly(scope, filters, **wanted):
    """The distinct firms of the period's inspections in scope, by COUNT(DISTINCT) in SQL."""
    agency = scope.agency or filters.agency
    inspections = Inspection.objects.filter(
        bureau=scope.bureau,
        submitted_at__isnull=False,
        inspected_on__range=(filters.date_from, filters.date_to),
        **wanted,
    )
    if agency:
        inspections = inspections.filter(agency=agency)
    if filters.street:
        inspections = inspections.filter(firm__street=filters.street)
    return inspections.aggregate(firms=Count("firm", distinct=True))["firms"]


def test_the_firms_of_any_period_are_the_distinct_firms_of_its_inspections(ready):
    cast = ready
    year = timezone.localdate().year - 1
    inspect(cast, on=date(year, 1, 31))
    inspect(cast, on=date(year, 3, 14))
    inspect(cast, on=date(year, 3, 15), firm=cast.firm_b, team=team_b(cast))
    inspect(cast, on=date(year, 3, 15), firm=cast.firm_b, team=team_b(cast))
    inspect(cast, on=date(year, 4, 30), firm=cast.firm_b, team=team_b(cast))
    assign(cast.contract_b, cast.firm_a)
    inspect(cast, on=date(year, 4, 1), team=team_b(cast))
    inspect(cast, on=date(year, 12, 31), team=team_b(cast))
    inspect(cast, on=date(year + 1, 1, 1), firm=cast.firm_b, team=team_b(cast))
    # Begun mid-month, across a month's end, a year's end, one day, a day with nothing.
    periods = [
        (date(year, 3, 15), date(year, 12, 31)),
        (date(year, 3, 15), date(year, 4, 14)),
        (date(year, 2, 1), date(year, 3, 14)),
        (date(year, 3, 16), date(year, 4, 29)),
        (date(year, 4, 2), date(year + 1, 1, 1)),
        (date(year, 12, 31), date(year + 1, 1, 31)),
        (date(year, 1, 31), date(year, 1, 31)),
        (date(year, 6, 1), date(year, 6, 1)),
        (date(year - 1, 12, 2), date(year + 1, 12, 30)),
    ]
    assert not any(_firms_column(*period, per_agency=False) for period in periods[:-3])

    for date_from, date_to in periods:
        for scope, filters in readers(cast, date_from, date_to):
            stats = Statistics(scope, filters)
            assert stats.totals["firms_inspected"] == counted_directly(scope, filters)
            for row in stats.by_street():
                assert row["firms_inspected"] == counted_directly(
                    scope, filters, firm__street=row["id"]
                )
            for row in stats.by_park():
                assert row["firms_inspected"] == counted_directly(
                    scope, filters, firm__park=row["id"]
                )
            for row in stats.by_agency():
                assert row["firms_inspected"] == counted_directly(scope, filters, agency=row["id"])
            for row in stats.by_month():
                month = Filters(
                    date_from=row["date_from"], date_to=row["date_to"], street=filters.street
                )
                assert row["firms_inspected"] == counted_directly(
                    scope, month, **({"agency": filters.agency} if filters.agency else {})
                )
    assert_exact(cast, periods=periods)

    spring = Statistics(
        Scope(bureau=cast.bureau), Filters(date_from=date(year, 3, 15), date_to=date(year, 4, 14))
    )
    assert spring.totals["firms_inspected"] == 2
    assert {row["id"]: row["firms_inspected"] for row in spring.by_agency()} == {
        cast.agency_a.pk: 0,
        cast.agency_b.pk: 2,
    }


# --- 8. The refresh ------------------------------------------------------------------------------


def test_a_read_consumes_the_notes_and_a_read_with_nothing_noted_recounts_nothing(
    ready, django_assert_num_queries
):
    cast = ready
    inspect(cast, hazards=[(FIRE, GENERAL)])
    assert FiguresChange.objects.filter(bureau=cast.bureau).exists()

    assert totals(cast, "hazards") == {"hazards": 1}
    assert not FiguresChange.objects.exists()
    kept = sorted(DailyFigures.objects.values_list("pk", flat=True))
    with django_assert_num_queries(1):
        do_refresh_figures(bureau=cast.bureau)
    assert totals(cast, "hazards") == {"hazards": 1}
    assert sorted(DailyFigures.objects.values_list("pk", flat=True)) == kept


def test_a_refresh_is_a_fixed_number_of_queries_for_1_or_30_noted_days(
    cast, django_assert_max_num_queries
):
    work = Work(cast)
    firms = work.firms(3, park=cast.register.park)

    def work_on(day):
        done = work.inspections(firms, on=day)
        work.hazards(done, (4, FIRE, OPEN), (2, OTHER, VERIFIED, MAJOR), (1, HEALTH, OVERDUE))
        work.documents(done, 2, approved_at=datetime.combine(day, time(10), tzinfo=SHANGHAI))

    work_on(date(2021, 3, 1))
    with CaptureQueriesContext(connection) as one_day:
        do_refresh_figures(bureau=cast.bureau)
    for offset in range(30):
        work_on(date(2021, 4, 1) + timedelta(days=offset))
    noted = FiguresChange.objects.filter(bureau=cast.bureau).values("day").distinct().count()
    assert noted == 30

    with django_assert_max_num_queries(len(one_day.captured_queries)):
        do_refresh_figures(bureau=cast.bureau)
    assert_exact(cast, periods=[(date(2021, 1, 1), date(2021, 12, 31))])
    assert DailyFigures.objects.count() == 31


# --- 9. A full recount ---------------------------------------------------------------------------


def test_a_full_recount_rebuilds_the_rows_the_refreshes_kept(ready):
    cast = ready
    today = timezone.localdate()
    inspection = inspect(cast, on=today - timedelta(days=40), hazards=[(FIRE, MAJOR)])
    hazard = inspection.hazards.get()
    steps = [
        lambda: inspect(cast, firm=cast.firm_b, team=team_b(cast), hazards=[(OTHER, GENERAL)]),
        lambda: rectify(cast, hazard),
        lambda: reinspect(cast, hazard, passed=True),
        lambda: do_mark_overdue_hazards(today=today + timedelta(days=30)),
        lambda: do_import_register(
            actor=cast.admin,
            bureau=cast.bureau,
            content=csv_bytes([register_row(1, name=cast.firm_a.name, street="桃浦镇")]),
            filename="名录.csv",
            dry_run=False,
        ),
    ]
    do_refresh_figures(bureau=cast.bureau)
    for step in steps:
        step()
        do_refresh_figures(bureau=cast.bureau)
    refreshed = tally_rows(cast.bureau)

    do_recount_figures(bureau=cast.bureau)

    assert len(refreshed) == 2
    assert tally_rows(cast.bureau) == refreshed


# --- 10. Every category tallied ------------------------------------------------------------------


def test_the_tally_has_every_figure_of_every_hazard_category():
    names = {field.name for field in DailyFigures._meta.get_fields()}
    wanted = {
        f"{category}_{figure}" for category in CATEGORIES for figure in DailyFigures.HAZARD_FIGURES
    }

    assert wanted <= names
    assert DailyFigures.HAZARD_FIGURES == ("hazards", "major", "rectified", "overdue")


# --- 11. Refreshes and writers at once (PostgreSQL) ----------------------------------------------


def needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks: run on PostgreSQL (DATABASE_URL=postgres://...)")


def in_thread(target, errors):
    """`target` run in its own thread and database connection; its exception kept."""

    def run():
        try:
            target()
        except Exception as error:  # a thread cannot fail the test; the assertion does
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def worked_days(cast):
    work = Work(cast)
    firms = work.firms(2)
    for day in (date(2021, 3, 1), date(2021, 3, 2), date(2021, 4, 1)):
        done = work.inspections(firms, on=day)
        work.hazards(done, (2, FIRE, OPEN), (1, OTHER, VERIFIED))


def paused_recount(monkeypatch, *, paused, resume):
    """The next recount, once it has replaced the rows and before its transaction deletes the
    notes it read and commits, says so on `paused` and waits for `resume`."""
    recount = figures._recount
    once = threading.Lock()

    def pausing(bureau, days):
        recount(bureau, days)
        if once.acquire(blocking=False):
            paused.set()
            assert resume.wait(timeout=60)

    monkeypatch.setattr(figures, "_recount", pausing)


def blocked_or_done(thread, backend):
    """Wait until `thread` is done or its connection (pid in `backend`) waits on a lock."""
    with connection.cursor() as cursor:
        for _ in range(1200):
            thread.join(timeout=0.05)
            if not thread.is_alive():
                return
            if not backend:
                continue
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", backend)
            if cursor.fetchone() == ("Lock",):
                return
    raise AssertionError("the second refresh neither waited nor finished")


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_leave_one_set_of_rows(cast, monkeypatch):
    needs_postgresql()
    worked_days(cast)
    paused, resume = threading.Event(), threading.Event()
    paused_recount(monkeypatch, paused=paused, resume=resume)
    errors, backend = [], []

    def second():
        connection.ensure_connection()
        backend.append(connection.connection.info.backend_pid)
        do_refresh_figures(bureau=cast.bureau)

    first = in_thread(lambda: do_refresh_figures(bureau=cast.bureau), errors)
    assert paused.wait(timeout=60)
    other = in_thread(second, errors)
    blocked_or_done(other, backend)
    resume.set()
    for thread in (first, other):
        thread.join(timeout=60)

    assert errors == []
    rows = tally_rows(cast.bureau)
    keys = [row[:5] for row in rows]
    assert len(keys) == len(set(keys)) == 3
    do_recount_figures(bureau=cast.bureau)
    assert tally_rows(cast.bureau) == rows


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_after_a_refresh_is_not_lost(cast):
    needs_postgresql()
    worked_days(cast)
    written, refreshed = threading.Event(), threading.Event()
    errors = []

    def writer():
        with transaction.atomic():
            # Begun before the refresh and committed after it: the refresh sees neither
            # the hazards marked overdue nor the note of their days.
            assert do_mark_overdue_hazards(today=date(2021, 12, 31)) == 6
            written.set()
            assert refreshed.wait(timeout=60)

    thread = in_thread(writer, errors)
    assert written.wait(timeout=60)
    do_refresh_figures(bureau=cast.bureau)
    refreshed.set()
    thread.join(timeout=60)

    assert errors == []
    assert FiguresChange.objects.filter(bureau=cast.bureau).exists()
    year = Filters(date_from=date(2021, 1, 1), date_to=date(2021, 12, 31))
    assert Statistics(Scope(bureau=cast.bureau), year).totals["overdue"] == 6
    assert_exact(cast, periods=[(year.date_from, year.date_to)])


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_during_a_refresh_is_not_lost(cast, monkeypatch):
    needs_postgresql()
    worked_days(cast)
    paused, resume = threading.Event(), threading.Event()
    paused_recount(monkeypatch, paused=paused, resume=resume)
    errors = []

    refresh = in_thread(lambda: do_refresh_figures(bureau=cast.bureau), errors)
    assert paused.wait(timeout=60)
    # Committed after the refresh recounted and before it deletes the notes it read.
    writer = in_thread(lambda: do_mark_overdue_hazards(today=date(2021, 12, 31)), errors)
    writer.join(timeout=60)
    resume.set()
    refresh.join(timeout=60)

    assert errors == []
    assert FiguresChange.objects.filter(bureau=cast.bureau).exists()
    year = Filters(date_from=date(2021, 1, 1), date_to=date(2021, 12, 31))
    assert Statistics(Scope(bureau=cast.bureau), year).totals["overdue"] == 6
    assert_exact(cast, periods=[(year.date_from, year.date_to)])
