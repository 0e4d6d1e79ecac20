"""The exports: the statistics workbook, the register and the hazard list as XLSX, and the
monthly report as DOCX."""

import io
from datetime import date

import openpyxl
import pytest
from django.urls import reverse
from docx import Document as Docx

from contractors.hazards.models import HazardLevel
from contractors.register.models import Grid, KeyCategory
from contractors.register.services import do_import_register
from tests.reporting.test_stats import FIRE, OPEN, OTHER, OVERDUE, PRODUCTION, VERIFIED, Work, local

PERIOD = {"from": "2021-01-01", "to": "2021-06-30"}
SHEETS = ["总体情况", "隐患分类", "街道镇", "工业园区", "服务机构", "分月", "逾期隐患"]
SENTENCE = (
    "截至6月底，全区共监督检查各类企业3家，发现事故隐患9项（其中：生产安全隐患3项，"
    "消防安全隐患4项，特种设备安全隐患0项，职业健康安全0项，其他隐患2项），"
    "已完成隐患整改4项，整改率44.44%；共发出各类法律文书2份。"
)


@pytest.fixture
def work(cast):
    """Agency A's work on two Changshou firms in the park, agency B's on one Taopu firm."""
    work = Work(cast)
    a = work.inspections(
        work.firms(2, park=cast.register.park), on=date(2021, 3, 10), agency=cast.agency_a
    )
    b = work.inspections(
        work.firms(1, street=cast.register.taopu), on=date(2021, 5, 10), agency=cast.agency_b
    )
    work.hazards(
        a,
        (3, FIRE, VERIFIED),
        (2, PRODUCTION, OPEN, HazardLevel.MAJOR),
        (1, OTHER, OVERDUE),
        deadline=date(2021, 3, 31),
    )
    work.hazards(b, (1, FIRE, VERIFIED), (1, PRODUCTION, OPEN), (1, OTHER, OVERDUE))
    work.documents(a, 1, approved_at=local(2021, 3, 11, 9))
    work.documents(b, 1, approved_at=local(2021, 5, 11, 9))
    return work


def workbook_of(response):
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(response.content))


def rows_of(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


# --- The statistics workbook -------------------------------------------------------------------


def test_the_workbook_has_a_sheet_per_breakdown_with_chinese_headers(work, cast, client_for):
    response = client_for(cast.admin).get(reverse("export-statistics"), PERIOD)

    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    book = workbook_of(response)
    assert book.sheetnames == SHEETS

    summary = {row[0]: row[1] for row in rows_of(book["总体情况"]) if row and row[0]}
    assert summary["检查企业数（家）"] == 3
    assert summary["发现事故隐患（项）"] == 9
    assert summary["整改率(%)"] == pytest.approx(44.44)
    assert book["总体情况"]["B14"].number_format == "0.00"
    assert summary["报告表述"] == SENTENCE

    categories = rows_of(book["隐患分类"])
    assert categories[0] == [
        "隐患类别",
        "隐患总数",
        "一般事故隐患",
        "重大事故隐患",
        "已整改",
        "整改率(%)",
        "逾期隐患",
    ]
    assert categories[2][:5] == ["消防安全", 4, 4, 0, 4]
    assert categories[-1][:4] == ["合计", 9, 7, 2]
    assert book["隐患分类"]["F2"].number_format == "0.00"

    streets = rows_of(book["街道镇"])
    assert streets[0][:4] == ["街道镇", "检查企业数", "检查次数", "发现隐患"]
    assert [row[:4] for row in streets[1:]] == [
        ["长寿路街道", 2, 2, 6],
        ["桃浦镇", 1, 1, 3],
        ["合计", 3, 3, 9],
    ]
    parks = {row[0]: row for row in rows_of(book["工业园区"])[1:]}
    assert parks["铁三角工业园区"][3] == 6 and parks["园区外企业"][3] == 3

    agencies = rows_of(book["服务机构"])
    assert agencies[0][:5] == ["服务机构", "合同配额", "已分配企业", "已检查企业", "完成率(%)"]
    by_name = {row[0]: row for row in agencies[1:]}
    # Agency A: the cast's 2021 contract (quota 100, firm A assigned), two firms inspected.
    assert by_name[cast.agency_a.name][1:5] == [100, 1, 2, 2]
    assert by_name[cast.agency_b.name][-1] == 1  # one overdue hazard waits on agency B

    months = rows_of(book["分月"])
    assert [row[0] for row in months[1:]] == [f"2021年{month}月" for month in range(1, 7)]
    overdue = rows_of(book["逾期隐患"])
    assert overdue[0][:4] == ["企业名称", "统一社会信用代码", "所属街道", "服务机构"]
    assert len(overdue) == 3


def test_an_agency_managers_workbook_holds_only_its_own_work(work, cast, client_for):
    book = workbook_of(client_for(cast.manager_b).get(reverse("export-statistics"), PERIOD))
    assert [row[0] for row in rows_of(book["服务机构"])[1:]] == [cast.agency_b.name]
    assert rows_of(book["街道镇"])[-1][:4] == ["合计", 1, 1, 3]
    assert [row[3] for row in rows_of(book["逾期隐患"])[1:]] == [cast.agency_b.name]


def test_a_bad_period_gets_400_with_the_reason(cast, client_for):
    response = client_for(cast.admin).get(
        reverse("export-statistics"), {"from": "2021-06-01", "to": "2021-01-01"}
    )
    assert response.status_code == 400
    assert "结束日期不能早于开始日期" in response.content.decode()


@pytest.mark.parametrize("name", ["export-statistics", "export-monthly-report"])
@pytest.mark.parametrize("who", ["inspector_a1", "firm_user_a", "outsider"])
def test_statistics_exports_are_refused_to_those_without_statistics(cast, client_for, name, who):
    assert client_for(getattr(cast, who)).get(reverse(name)).status_code == 403


# --- The monthly report ------------------------------------------------------------------------


def test_the_monthly_report_carries_the_sentence_and_the_tables(work, cast, client_for):
    response = client_for(cast.reviewer).get(reverse("export-monthly-report"), PERIOD)

    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml"
    )
    report = Docx(io.BytesIO(response.content))
    paragraphs = [paragraph.text for paragraph in report.paragraphs]
    assert "上海市普陀区应急管理局" in paragraphs
    assert "2021年6月安全生产检查工作情况" in paragraphs
    assert SENTENCE in paragraphs
    assert "（统计期间：2021年1月1日至2021年6月30日；统计范围：全区）" in paragraphs
    tables = [[[cell.text for cell in row.cells] for row in table.rows] for table in report.tables]
    categories, streets, parks, agencies, months = tables
    assert categories[0][:3] == ["隐患类别", "隐患总数", "一般隐患"]
    assert ["消防安全", "4", "4", "0", "4", "100.00%", "0"] in categories
    assert categories[-1] == ["合计", "9", "7", "2", "4", "44.44%", "2"]
    assert streets[1][:4] == ["长寿路街道", "2", "2", "6"]
    assert streets[-1][:4] == ["合计", "3", "3", "9"]
    assert any(row[0] == "铁三角工业园区" for row in parks)
    assert {row[0] for row in agencies[1:]} == {cast.agency_a.name, cast.agency_b.name}
    assert len(months) == 1 + 6 + 1
    # No template tag is left in the rendered file.
    text = "\n".join(paragraphs) + str(tables)
    assert "{{" not in text and "{%" not in text


def test_the_monthly_report_of_an_empty_period_renders(cast, client_for):
    response = client_for(cast.admin).get(
        reverse("export-monthly-report"), {"from": "2030-01-01", "to": "2030-01-31"}
    )
    report = Docx(io.BytesIO(response.content))
    assert any("整改率0.00%" in paragraph.text for paragraph in report.paragraphs)


# --- The register and the hazard list ---------------------------------------------------------


def test_the_register_export_imports_back_unchanged(work, cast, client_for):
    firm = cast.firm_a
    firm.key_category, firm.key_kind = KeyCategory.KEY_PLACE, "危险化学品"
    firm.grid = Grid.objects.get(street=firm.street)
    firm.address, firm.phone = "普陀区长寿路1号", "021-12345678"
    firm.save()

    response = client_for(cast.admin).get(reverse("export-register"))

    sheet = workbook_of(response).active
    rows = rows_of(sheet)
    assert rows[0][:5] == ["统一社会信用代码", "企业名称", "经营地址", "注册地址", "所属街道"]
    assert rows[0][-1] == "服务机构"
    exported = {row[0]: row for row in rows[1:]}
    assert exported[firm.uscc][7] == "重点场所-危险化学品"
    assert exported[firm.uscc][-1] == cast.agency_a.name
    report = do_import_register(
        actor=cast.admin,
        bureau=cast.bureau,
        content=response.content,
        filename="register.xlsx",
        dry_run=True,
    )
    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(rows) - 1)


def test_the_register_export_follows_the_firm_lists_filters_and_scope(work, cast, client_for):
    taopu = {"street": str(cast.register.taopu.pk)}
    rows = rows_of(
        workbook_of(client_for(cast.admin).get(reverse("export-register"), taopu)).active
    )
    assert {row[4] for row in rows[1:]} == {"桃浦镇"}

    rows = rows_of(workbook_of(client_for(cast.manager_b).get(reverse("export-register"))).active)
    assert [row[0] for row in rows[1:]] == [cast.firm_b.uscc]


@pytest.mark.parametrize("who", ["firm_user_a", "outsider"])
def test_the_register_export_is_for_staff(cast, client_for, who):
    assert client_for(getattr(cast, who)).get(reverse("export-register")).status_code == 403


def test_the_hazard_export_filters_and_keeps_each_reader_to_what_it_may_see(work, cast, client_for):
    client = client_for(cast.admin)
    rows = rows_of(workbook_of(client.get(reverse("export-hazards"))).active)
    assert rows[0][:6] == [
        "企业名称",
        "统一社会信用代码",
        "所属街道",
        "服务机构",
        "检查日期",
        "隐患类别",
    ]
    assert len(rows) == 1 + 9
    deadlines = [row[11].date() for row in rows[1:]]
    assert deadlines == sorted(deadlines) and date(2021, 3, 31) in deadlines

    overdue = rows_of(
        workbook_of(client.get(reverse("export-hazards"), {"status": "overdue"})).active
    )
    assert {row[12] for row in overdue[1:]} == {"逾期未整改"} and len(overdue) == 3
    may = rows_of(workbook_of(client.get(reverse("export-hazards"), {"from": "2021-05-01"})).active)
    assert {row[3] for row in may[1:]} == {cast.agency_b.name}

    theirs = rows_of(workbook_of(client_for(cast.manager_b).get(reverse("export-hazards"))).active)
    assert {row[3] for row in theirs[1:]} == {cast.agency_b.name}
    assert len(theirs) == 1 + 3


def test_the_hazard_export_refuses_a_bad_filter(cast, client_for):
    response = client_for(cast.admin).get(reverse("export-hazards"), {"from": "yesterday"})
    assert response.status_code == 400
    assert "开始日期" in response.content.decode()
