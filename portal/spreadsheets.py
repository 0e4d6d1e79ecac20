"""Cells of the workbooks the portal writes, safe to open (ASVS 5.0 V1.2.10, OWASP's CSV
injection): text from the data that a spreadsheet would take for a formula, such as a firm
named `=HYPERLINK("http://x","y")`, goes in as text.

openpyxl stores any string that starts with `=` as a formula. Such a cell is written instead as
a string (`data_type` "s") with Excel's quote prefix, the mark a typed leading apostrophe leaves:
Excel and LibreOffice show the text as it is, without an apostrophe, and keep it text when the
cell is edited. `+`, `-`, `@`, a tab and a carriage return start a formula when typed, or when
the sheet is saved as CSV and opened again, so they are marked too. Numbers, dates and every
other value go in unchanged: a rate stays a number to sum.
"""

from openpyxl.cell import WriteOnlyCell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def reads_as_formula(value):
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def safe_cell(sheet, value):
    """`value` as it goes into a row of `sheet` (write-only or not)."""
    if not reads_as_formula(value):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def safe_row(sheet, values):
    return [safe_cell(sheet, value) for value in values]
