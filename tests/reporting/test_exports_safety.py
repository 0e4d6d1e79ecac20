"""Exports safe to open (ASVS 5.0 V1.2.10, formula injection): text from the data that starts
like a formula (`=`, `+`, `-`, `@`, tab, carriage return) is written as a quote-prefixed text
cell in every workbook, while numbers and dates stay numbers and dates."""

import io
import zipfile
from datetime import date

import openpyxl
import pytest
from django.urls import reverse

from contractors.register.models import Firm
from contractors.tenancy.models import Agency
from portal.spreadsheets import reads_as_formula
from tests.reporting.test_stats import OTHER, OVERDUE, Work

HYPERLINK = '=HYPERLINK("http://x","y")'
HOSTILE = {
    "name": HYPERLINK,
    "address": "+1+cmd|' /C calc'!A0",
    "legal_representative": "-2+3",
    "contact": "@SUM(1+1)",
    "phone": "\t=1+1",
    "industry": "\r=1+1",
}


@pytest.fixture
def hostile(cast):
    """A firm of agency A whose every text field is a formula, with an overdue hazard."""
    work = Work(cast)
    [firm] = work.firms(1, park=cast.register.park)
    Firm.objects.filter(pk=firm.pk).update(**HOSTILE)
    Agency.objects.filter(pk=cast.agency_a.pk).update(name="=1+2")
    inspections = work.inspections([firm], on=date(2021, 3, 10), agency=cast.agency_a)
    work.hazards(inspections, (1, OTHER, OVERDUE), deadline=date(2021, 3, 31))
    return firm


def workbook_of(response):
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(response.content))


def cells_with(book, text):
    return [
        cell
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value == text
    ]


def assert_shown_as_text(book, *texts):
    for text in texts:
        cells = cells_with(book, text)
        assert cells, f"{text!r} is not in the workbook"
        for cell in cells:
            assert cell.data_type == "s", (text, cell.coordinate, cell.data_type)
            assert cell.quotePrefix, (text, cell.coordinate)


def test_v1_2_10_formula_like_text_is_recognised():
    assert all(reads_as_formula(text) for text in [*HOSTILE.values(), "=1+2"])
    assert not any(reads_as_formula(value) for value in ["甲化工有限公司", "1-2", 12, None, -3])


def test_v1_2_10_the_register_export_writes_a_formula_named_firm_as_text(hostile, cast, client_for):
    book = workbook_of(client_for(cast.admin).get(reverse("export-register")))

    assert_shown_as_text(book, *HOSTILE.values(), "=1+2")
    assert not [c for s in book.worksheets for r in s.iter_rows() for c in r if c.data_type == "f"]


def test_v1_2_10_the_hazard_export_writes_text_as_text_and_keeps_dates(hostile, cast, client_for):
    book = workbook_of(client_for(cast.admin).get(reverse("export-hazards")))

    assert_shown_as_text(book, HYPERLINK, "=1+2")
    [row] = list(book.active.iter_rows(min_row=2))
    assert row[4].is_date and row[4].value.date() == date(2021, 3, 10)  # 检查日期
    assert row[11].is_date  # 整改期限


def test_v1_2_10_the_statistics_workbook_writes_names_as_text_and_figures_as_numbers(
    hostile, cast, client_for
):
    response = client_for(cast.admin).get(
        reverse("export-statistics"), {"from": "2021-01-01", "to": "2021-12-31"}
    )
    book = workbook_of(response)

    assert_shown_as_text(book, HYPERLINK, "=1+2")  # the overdue hazards and the agencies
    agencies = {row[0].value: row for row in book["服务机构"].iter_rows(min_row=2)}
    assert agencies["=1+2"][3].data_type == "n" and agencies["=1+2"][3].value == 1
    assert not [c for s in book.worksheets for r in s.iter_rows() for c in r if c.data_type == "f"]


def test_v1_2_10_the_file_itself_holds_no_formula_and_marks_the_cells_quote_prefixed(
    hostile, cast, client_for
):
    """Below openpyxl's reading of it: the sheet's XML has no formula element, the firm's name
    is an inline string, and its style carries Excel's quote prefix."""
    content = client_for(cast.admin).get(reverse("export-register")).content
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        sheet = package.read("xl/worksheets/sheet1.xml").decode()
        styles = package.read("xl/styles.xml").decode()

    assert "<f>" not in sheet and "<f " not in sheet
    assert 't="inlineStr"><is><t>=HYPERLINK("http://x","y")</t>' in sheet
    assert 'quotePrefix="1"' in styles
