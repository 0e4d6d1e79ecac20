"""The statistics (issue 6): the report's own figures, the summary API and its refusals.

`Work` inserts inspection work in bulk, the way the figures would pile up over a year, so that
a dataset of the report's size (about 130,000 rows) is built in seconds. Like the services, it
notes the days it changed for the statistics' tally. The other statistics tests import it from
here.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import cycle
from types import SimpleNamespace
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import reverse
from django.utils import timezone

from contractors.checklists.models import Checklist
from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.inspections.models import Inspection
from contractors.register.models import Firm
from contractors.register.uscc import make_uscc
from documents.models import DocType, Document, DocumentTemplate
from reporting.figures import do_refresh_figures
from reporting.forms import Filters, Scope
from reporting.notes import note_days_changed
from reporting.stats import Statistics, percent

SHANGHAI = ZoneInfo("Asia/Shanghai")
VERIFIED, OPEN, OVERDUE, RECTIFIED = (
    Hazard.Status.VERIFIED,
    Hazard.Status.OPEN,
    Hazard.Status.OVERDUE,
    Hazard.Status.RECTIFIED,
)
PRODUCTION, FIRE, SPECIAL, HEALTH, OTHER = HazardCategory

# The seed report (2020, to the end of October), word for word.
REPORT_SENTENCE = (
    "截至10月底，全区共监督检查各类企业27223家，发现事故隐患58851项（其中：生产安全隐患11856项，"
    "消防安全隐患36140项，特种设备安全隐患867项，职业健康安全171项，其他隐患9817项），"
    "已完成隐患整改56332项，整改率95.72%；共发出各类法律文书14977份。"
)
REPORT_CATEGORIES = {PRODUCTION: 11856, FIRE: 36140, SPECIAL: 867, HEALTH: 171, OTHER: 9817}
YEAR_2020 = {"from": "2020-01-01", "to": "2020-10-31"}


def insert(model, rows, **common):
    """Insert `rows` (dicts of attribute names to values) of `model`, each with the `common`
    values and the model's defaults, through one executemany: building and compiling a model
    instance per row would take most of a minute at the report's size. Returns the rows."""
    connection = connections[DEFAULT_DB_ALIAS]
    fields = model._meta.concrete_fields
    prototype = model(**common)
    defaults = {
        field.attname: field.get_db_prep_save(field.pre_save(prototype, True), connection)
        for field in fields
    }
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    constant = [defaults[field.attname] for field in fields]
    varying = [
        (index, field) for index, field in enumerate(fields) if rows and field.attname in rows[0]
    ]
    params = []
    for row in rows:
        values = list(constant)
        for index, field in varying:
            values[index] = field.get_db_prep_save(row[field.attname], connection)
        params.append(values)
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return [SimpleNamespace(**common, **row, pk=row["id"]) for row in rows]


class Work:
    """Inspections, hazards and documents of the cast's bureau, inserted in bulk."""

    def __init__(self, cast):
        self.cast = cast
        self.checklist = Checklist.objects.create(
            bureau=cast.bureau, name="统计测试检查表", version=1, is_current=True
        )
        self.template = DocumentTemplate.objects.create(
            bureau=cast.bureau,
            doc_type=DocType.RECTIFICATION_ORDER,
            version=1,
            filename="order.docx",
            content=b"",
            sha256="0" * 64,
        )
        self.serial = 100_000
        self.sequence = 0

    def firms(self, count, *, street=None, park=None):
        bureau = self.cast.bureau
        rows = []
        for _ in range(count):
            self.serial += 1
            rows.append(
                {
                    "id": uuid4(),
                    "uscc": make_uscc(region=bureau.region_code, serial=self.serial),
                    "name": f"统计企业{self.serial}",
                }
            )
        return insert(
            Firm,
            rows,
            bureau_id=bureau.pk,
            street_id=(street or self.cast.register.changshou).pk,
            park_id=park.pk if park else None,
        )

    def note(self, days):
        note_days_changed(bureau_id=self.cast.bureau.pk, days=days)

    def inspections(self, firms, *, on, agency=None, submitted=True):
        """One inspection of each firm on `on`, by `agency` (A by default)."""
        agency = agency or self.cast.agency_a
        if submitted:
            self.note([on])
        return insert(
            Inspection,
            [{"id": uuid4(), "firm_id": firm.pk} for firm in firms],
            bureau_id=self.cast.bureau.pk,
            agency_id=agency.pk,
            contract_id=agency.contracts.values_list("pk", flat=True).first(),
            checklist_id=self.checklist.pk,
            kind=Inspection.Kind.ROUTINE,
            status=Inspection.Status.SUBMITTED if submitted else Inspection.Status.DRAFT,
            inspected_on=on,
            firm_representative="张安全",
            created_by_id=self.cast.inspector_a1.pk,
            submitted_at=timezone.now() if submitted else None,
        )

    def hazards(self, inspections, *groups, deadline=None):
        """Hazards spread over `inspections` in turn; each group is (count, category, status)
        or (count, category, status, level)."""
        spread = cycle(inspections)
        rows, days = [], set()
        for group in groups:
            count, category, status, level = (*group, HazardLevel.GENERAL)[:4]
            for _ in range(count):
                inspection = next(spread)
                days.add(inspection.inspected_on)
                rows.append(
                    {
                        "id": uuid4(),
                        "inspection_id": inspection.pk,
                        "firm_id": inspection.firm_id,
                        "category": category,
                        "level": level,
                        "status": status,
                    }
                )
        self.note(days)
        return insert(Hazard, rows, description="隐患", deadline=deadline or date(2020, 12, 31))

    def documents(self, inspections, count, *, approved_at, status=Document.Status.APPROVED):
        """`count` rectification orders, one per inspection in turn, signed at `approved_at`
        (a local time) when approved."""
        approved = status == Document.Status.APPROVED
        if approved:
            self.note([timezone.localdate(approved_at)])
        rows = []
        for inspection in inspections[:count]:
            self.sequence += 1
            rows.append(
                {
                    "id": uuid4(),
                    "inspection_id": inspection.pk,
                    "firm_id": inspection.firm_id,
                    "agency_id": inspection.agency_id,
                    "sequence": self.sequence if approved else None,
                }
            )
        return insert(
            Document,
            rows,
            bureau_id=self.cast.bureau.pk,
            doc_type=DocType.RECTIFICATION_ORDER,
            version=1,
            status=status,
            template_id=self.template.pk,
            context={},
            drafted_by_id=self.cast.inspector_a1.pk,
            year=approved_at.year if approved else None,
            approved_at=approved_at if approved else None,
        )


def local(*args):
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def work(cast):
    return Work(cast)


def summary_of(api, **params):
    response = api.get(reverse("api-stats-summary"), params)
    assert response.status_code == 200, response.json()
    return response.json()


# --- The report's own figures ----------------------------------------------------------------


def test_the_reports_dataset_gives_its_figures_and_its_sentence_word_for_word(work, cast, api_for):
    firms = work.firms(27223)
    inspections = work.inspections(firms, on=date(2020, 5, 20))
    # 56332 of the 58851 hazards are rectified: spread over the categories, the rest open or
    # overdue; 20 of them major.
    work.hazards(
        inspections,
        (11856 - 120, PRODUCTION, VERIFIED),
        (20, PRODUCTION, OPEN, HazardLevel.MAJOR),
        (100, PRODUCTION, OVERDUE),
        (36140 - 2000, FIRE, VERIFIED),
        (1500, FIRE, OPEN),
        (500, FIRE, RECTIFIED),
        (867 - 67, SPECIAL, VERIFIED),
        (67, SPECIAL, OVERDUE),
        (171 - 1, HEALTH, VERIFIED),
        (1, HEALTH, OPEN),
        (9817 - 331, OTHER, VERIFIED),
        (331, OTHER, OPEN),
    )
    work.documents(inspections, 14977 - 1, approved_at=local(2020, 3, 1, 10))
    # Signed at 23:30 on 31 October in Shanghai, still the 31st there (15:30 UTC).
    work.documents(inspections[-1:], 1, approved_at=local(2020, 10, 31, 23, 30))

    # What must not count: a draft, an inspection after the period, documents signed before,
    # after (00:30 local on 1 November) or never.
    draft = work.inspections(work.firms(1), on=date(2020, 6, 1), submitted=False)
    work.hazards(draft, (5, FIRE, OPEN))
    november = work.inspections(firms[:1], on=date(2020, 11, 2))
    work.hazards(november, (3, PRODUCTION, VERIFIED))
    work.documents(november, 1, approved_at=local(2020, 11, 1, 0, 30))
    work.documents(draft, 1, approved_at=local(2019, 12, 31, 23, 59))
    extra = work.inspections(firms[:1], on=date(2020, 10, 1))
    work.documents(extra, 1, approved_at=local(2020, 10, 1), status=Document.Status.PENDING)

    summary = summary_of(api_for(cast.reviewer), **YEAR_2020)

    assert summary == {
        "firms_inspected": 27223,
        "inspections": 27223 + 1,
        "hazards": {
            "total": 58851,
            "production": 11856,
            "fire": 36140,
            "special_equipment": 867,
            "occupational_health": 171,
            "other": 9817,
            "major": 20,
        },
        "rectified": 56332,
        "rectification_rate": "95.72",
        "overdue": 167,
        "documents_issued": 14977,
        "report_text": REPORT_SENTENCE,
    }

    # The same figures reach the monthly report, the workbook and the breakdowns.
    statistics = Statistics(
        Scope(bureau=cast.bureau), Filters(date(2020, 1, 1), date(2020, 10, 31))
    )
    assert statistics.report_text() == REPORT_SENTENCE
    categories = {row["category"]: row for row in statistics.by_category()}
    assert {code: row["hazards"] for code, row in categories.items()} == REPORT_CATEGORIES
    assert categories[PRODUCTION]["major"] == 20
    assert categories[FIRE]["rate"] == Decimal("94.47")  # 34140 / 36140
    months = {row["month"]: row for row in statistics.by_month()}
    assert len(months) == 10
    assert months[date(2020, 5, 1)]["hazards"] == 58851
    assert months[date(2020, 3, 1)]["documents_issued"] == 14976
    assert months[date(2020, 10, 1)]["documents_issued"] == 1
    street = statistics.by_street()[0]
    assert (street["name"], street["hazards"], street["rate"]) == (
        "长寿路街道",
        58851,
        Decimal("95.72"),
    )


def test_the_rate_rounds_half_up_to_two_decimals():
    assert percent(56332, 58851) == Decimal("95.72")
    assert percent(374, 408) == Decimal("91.67")
    assert percent(1, 8) == Decimal("12.50")
    assert percent(1, 16) == Decimal("6.25")
    assert percent(1, 800) == Decimal("0.13")  # 0.125: half up, not to even
    assert percent(0, 0) == Decimal("0.00")


def test_the_parks_campaign_figures_give_its_rate(work, cast, api_for):
    park = cast.register.park
    firms = work.firms(136, park=park)
    inspections = work.inspections(firms, on=date(2020, 4, 15))
    work.hazards(inspections, (374, FIRE, VERIFIED), (34, PRODUCTION, OPEN))
    # Firms outside the park do not change the park's figures.
    outside = work.inspections(work.firms(3), on=date(2020, 4, 15))
    work.hazards(outside, (10, FIRE, OPEN))

    statistics = Statistics(Scope(bureau=cast.bureau), Filters(date(2020, 1, 1), date(2020, 6, 30)))
    parks = {row["name"]: row for row in statistics.by_park()}

    assert parks["铁三角工业园区"]["hazards"] == 408
    assert parks["铁三角工业园区"]["rectified"] == 374
    assert parks["铁三角工业园区"]["rate"] == Decimal("91.67")
    assert parks["园区外企业"]["hazards"] == 10
    summary = summary_of(api_for(cast.admin), **{"from": "2020-01-01", "to": "2020-06-30"})
    assert summary["hazards"]["total"] == 418
    assert "截至6月底，全区共监督检查各类企业139家" in summary["report_text"]


# --- Filters and scope -------------------------------------------------------------------------


@pytest.fixture
def two_agencies(work, cast):
    """Agency A's work on Changshou firms and agency B's on Taopu firms, 2021."""
    a_firms = work.firms(4, street=cast.register.changshou)
    b_firms = work.firms(2, street=cast.register.taopu)
    a = work.inspections(a_firms, on=date(2021, 3, 1))
    b = work.inspections(b_firms, on=date(2021, 3, 2), agency=cast.agency_b)
    work.hazards(a, (6, FIRE, VERIFIED), (2, PRODUCTION, OPEN, HazardLevel.MAJOR))
    work.hazards(b, (3, FIRE, VERIFIED), (1, OTHER, OVERDUE))
    work.documents(a, 2, approved_at=local(2021, 3, 5, 9))
    work.documents(b, 1, approved_at=local(2021, 3, 6, 9))
    return SimpleNamespace(a=a, b=b)


PERIOD_2021 = {"from": "2021-01-01", "to": "2021-12-31"}


def figures(summary):
    return (
        summary["firms_inspected"],
        summary["hazards"]["total"],
        summary["rectified"],
        summary["overdue"],
        summary["documents_issued"],
    )


def test_the_bureau_sees_both_agencies_and_filters_by_street_and_agency(
    two_agencies, cast, api_for
):
    api = api_for(cast.admin)
    assert figures(summary_of(api, **PERIOD_2021)) == (6, 12, 9, 1, 3)

    by_street = summary_of(api, **PERIOD_2021, street=str(cast.register.taopu.pk))
    assert figures(by_street) == (2, 4, 3, 1, 1)
    assert by_street["rectification_rate"] == "75.00"
    assert by_street["report_text"].startswith("截至12月底，桃浦镇共监督检查各类企业2家")

    by_agency = summary_of(api, **PERIOD_2021, agency=str(cast.agency_a.pk))
    assert figures(by_agency) == (4, 8, 6, 0, 2)
    assert by_agency["hazards"]["major"] == 2
    assert by_agency["report_text"].startswith(
        "截至12月底，甲安全技术服务有限公司在全区共监督检查各类企业4家"
    )

    both = summary_of(
        api, **PERIOD_2021, street=str(cast.register.taopu.pk), agency=str(cast.agency_a.pk)
    )
    assert figures(both) == (0, 0, 0, 0, 0)


def test_an_agency_manager_sees_only_its_own_agencys_figures(two_agencies, cast, api_for):
    assert figures(summary_of(api_for(cast.manager_a), **PERIOD_2021)) == (4, 8, 6, 0, 2)
    assert figures(summary_of(api_for(cast.manager_b), **PERIOD_2021)) == (2, 4, 3, 1, 1)

    # Another agency is not a filter a manager may use: it is unknown to it.
    response = api_for(cast.manager_a).get(
        reverse("api-stats-summary"), {**PERIOD_2021, "agency": str(cast.agency_b.pk)}
    )
    assert response.status_code == 400
    assert "agency" in response.json()["errors"]


def test_the_period_counts_inspection_dates_both_ends_included(work, cast, api_for):
    firms = work.firms(3)
    for firm, day in zip(
        firms, (date(2021, 2, 28), date(2021, 3, 1), date(2021, 3, 31)), strict=True
    ):
        work.hazards(work.inspections([firm], on=day), (1, FIRE, OPEN))
    api = api_for(cast.admin)
    assert summary_of(api, **{"from": "2021-03-01", "to": "2021-03-31"})["inspections"] == 2
    assert summary_of(api, **{"from": "2021-03-01", "to": "2021-03-01"})["hazards"]["total"] == 1


def test_without_a_period_the_year_to_date_is_counted(work, cast, api_for):
    today = timezone.localdate()
    this_year = work.inspections(work.firms(1), on=today.replace(month=1, day=1))
    last_year = work.inspections(work.firms(1), on=today.replace(month=1, day=1) - timedelta(1))
    work.hazards(this_year + last_year, (2, FIRE, OPEN))
    summary = summary_of(api_for(cast.admin))
    assert (summary["inspections"], summary["hazards"]["total"]) == (1, 1)
    assert summary["report_text"].startswith(f"截至{today.month}月底")


def test_an_empty_period_gives_zeros_and_a_rate_of_0_00(two_agencies, cast, api_for):
    summary = summary_of(api_for(cast.admin), **{"from": "2030-01-01", "to": "2030-01-31"})
    assert summary["firms_inspected"] == summary["inspections"] == summary["rectified"] == 0
    assert set(summary["hazards"].values()) == {0}
    assert summary["rectification_rate"] == "0.00"
    assert summary["documents_issued"] == summary["overdue"] == 0
    assert summary["report_text"] == (
        "截至1月底，全区共监督检查各类企业0家，发现事故隐患0项（其中：生产安全隐患0项，"
        "消防安全隐患0项，特种设备安全隐患0项，职业健康安全0项，其他隐患0项），"
        "已完成隐患整改0项，整改率0.00%；共发出各类法律文书0份。"
    )


# --- Who may ask, and bad input -------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["inspector_a1", "inspector_b2", "firm_user_a", "firm_user_b", "outsider"]
)
def test_inspectors_firm_users_and_outsiders_get_403(cast, api_for, who):
    response = api_for(getattr(cast, who)).get(reverse("api-stats-summary"))
    assert response.status_code == 403


def test_anonymous_callers_get_401(cast, api_for):
    assert api_for(None).get(reverse("api-stats-summary")).status_code == 401


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"from": "2021-06-01", "to": "2021-05-31"}, "to", "结束日期不能早于开始日期"),
        ({"from": "2021-13-01"}, "from", "日期格式不正确"),
        ({"to": "31/05/2021"}, "to", "日期格式不正确"),
        ({"street": str(uuid4())}, "street", "没有这个街道镇"),
        ({"street": "长寿路"}, "street", "没有这个街道镇"),
        ({"agency": str(uuid4())}, "agency", "没有这个服务机构"),
        ({"agency": "1"}, "agency", "没有这个服务机构"),
    ],
)
def test_bad_input_gets_400_with_the_reason_on_its_field(cast, api_for, params, field, words):
    response = api_for(cast.admin).get(reverse("api-stats-summary"), params)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert words in errors[field][0]


def test_a_street_of_another_bureau_is_unknown(cast, api_for):
    from contractors.register.models import Street
    from portal.models import Bureau

    elsewhere = Bureau.objects.create(
        name="静安区应急管理局", short_name="静", region_code="310106"
    )
    street = Street.objects.create(bureau=elsewhere, name="南京西路街道", code="01", kind="street")
    response = api_for(cast.admin).get(reverse("api-stats-summary"), {"street": str(street.pk)})
    assert response.status_code == 400


def test_the_summary_is_a_fixed_number_of_queries(
    two_agencies, work, cast, api_for, django_assert_max_num_queries
):
    api = api_for(cast.admin)
    do_refresh_figures(bureau=cast.bureau)
    with django_assert_max_num_queries(8) as few:
        summary_of(api, **PERIOD_2021)
    more = work.inspections(work.firms(30), on=date(2021, 4, 1), agency=cast.agency_b)
    work.hazards(more, (90, OTHER, OPEN))
    work.documents(more, 30, approved_at=local(2021, 4, 2))
    # Recounting the changed days is a fixed number of queries too (test_figures.py).
    do_refresh_figures(bureau=cast.bureau)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert summary_of(api, **PERIOD_2021)["hazards"]["total"] == 102


def test_the_schema_describes_the_summary(cast, api_for):
    schema = api_for(cast.admin).get(reverse("api-schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/stats/summary/"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {
        "from",
        "to",
        "street",
        "agency",
    }
    assert {"200", "400", "403"} <= set(operation["responses"])
