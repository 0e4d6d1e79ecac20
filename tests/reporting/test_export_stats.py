"""`manage.py export_stats`: the statistics workbook from the command line."""

import io
from datetime import date

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.models import Bureau
from tests.reporting.test_stats import FIRE, OPEN, VERIFIED, Work, local


@pytest.fixture
def work(cast):
    work = Work(cast)
    changshou = work.inspections(work.firms(2), on=date(2021, 2, 1))
    taopu = work.inspections(
        work.firms(1, street=cast.register.taopu), on=date(2021, 2, 2), agency=cast.agency_b
    )
    work.hazards(changshou, (3, FIRE, VERIFIED), (1, FIRE, OPEN))
    work.hazards(taopu, (2, FIRE, OPEN))
    work.documents(changshou, 1, approved_at=local(2021, 2, 3, 9))
    return work


def export(tmp_path, *options):
    out = tmp_path / "统计.xlsx"
    stdout = io.StringIO()
    call_command("export_stats", "--out", str(out), *options, stdout=stdout)
    return openpyxl.load_workbook(out), stdout.getvalue()


def summary_of(book):
    return {row[0]: row[1] for row in book["总体情况"].iter_rows(values_only=True) if row[0]}


def test_it_writes_the_workbook_of_the_period(work, tmp_path):
    book, stdout = export(tmp_path, "--from", "2021-01-01", "--to", "2021-03-31")

    assert book.sheetnames == [
        "总体情况",
        "隐患分类",
        "街道镇",
        "工业园区",
        "服务机构",
        "分月",
        "逾期隐患",
    ]
    summary = summary_of(book)
    assert (summary["检查企业数（家）"], summary["发现事故隐患（项）"]) == (3, 6)
    assert summary["统计期间"] == "2021-01-01 至 2021-03-31"
    text = "截至3月底，全区共监督检查各类企业3家，发现事故隐患6项"
    assert summary["报告表述"].startswith(text)
    assert text in stdout


def test_a_street_or_an_agency_may_be_named_or_given_by_id(work, cast, tmp_path):
    period = ("--from", "2021-01-01", "--to", "2021-03-31")
    book, _ = export(tmp_path, *period, "--street", "桃浦镇")
    assert summary_of(book)["发现事故隐患（项）"] == 2
    book, _ = export(tmp_path, *period, "--street", str(cast.register.changshou.pk))
    assert summary_of(book)["发现事故隐患（项）"] == 4
    book, _ = export(tmp_path, *period, "--agency", cast.agency_b.name)
    assert summary_of(book)["统计范围"] == "乙安全咨询有限公司在全区"


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (("--from", "2021-04-01", "--to", "2021-03-01"), "结束日期不能早于开始日期"),
        (("--from", "2021-02-30"), "日期格式不正确"),
        (("--street", "不存在的街道"), "没有这个街道镇"),
        (("--agency", "丙公司"), "没有这个服务机构"),
    ],
)
def test_bad_input_exits_1_with_the_reason_and_writes_nothing(cast, tmp_path, options, reason):
    with pytest.raises(CommandError, match=reason) as refused:
        export(tmp_path, *options)
    assert refused.value.returncode == 1
    assert not (tmp_path / "统计.xlsx").exists()


def test_the_output_must_be_an_xlsx_file(cast, tmp_path):
    with pytest.raises(CommandError, match=r"\.xlsx"):
        call_command("export_stats", "--out", str(tmp_path / "stats.csv"))


def test_with_two_bureaus_the_bureau_must_be_named(cast, tmp_path):
    Bureau.objects.create(name="静安区应急管理局", short_name="静", region_code="310106")
    with pytest.raises(CommandError, match="--bureau"):
        export(tmp_path)
    book, _ = export(tmp_path, "--bureau", "310106")
    assert summary_of(book)["发现事故隐患（项）"] == 0
