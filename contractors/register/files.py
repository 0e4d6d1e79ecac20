"""Reading and checking an enterprise register file (CSV or XLSX): no database access here.

The bureau's own spreadsheets are the input, so headers are matched loosely (Chinese or
English, any case, surrounding spaces) and every problem is reported against the row number
and the header text the user sees in the spreadsheet.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass

import openpyxl
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from openpyxl.utils.exceptions import InvalidFileException

from contractors.register.models import KEY_PLACE_KINDS, Firm, KeyCategory
from contractors.register.uscc import normalise_uscc, uscc_error

HEADER_ALIASES = {
    "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "uscc"),
    "name": ("企业名称", "单位名称", "name"),
    "address": ("经营地址", "地址", "address"),
    "registered_address": ("注册地址", "registered_address"),
    "street": ("所属街道", "街道", "街道镇", "所属街道镇", "所属街镇", "街镇", "street"),
    "grid": ("网格", "所属网格", "grid"),
    "industry": ("行业", "所属行业", "industry"),
    "key_category": ("重点监管类别", "重点监管", "key_category"),
    "park": ("所属园区", "园区", "工业园区", "park"),
    "legal_representative": ("法定代表人", "legal_representative"),
    "contact": ("联系人", "contact"),
    "phone": ("联系电话", "电话", "phone"),
}
REQUIRED_FIELDS = ("uscc", "name", "street")
FIELD_BY_HEADER = {
    alias.casefold(): field for field, aliases in HEADER_ALIASES.items() for alias in aliases
}
TEXT_FIELDS = (
    "name",
    "address",
    "registered_address",
    "industry",
    "legal_representative",
    "contact",
    "phone",
)

# Leading bytes of files people upload by mistake; anything else is tried as CSV text.
ZIP_MAGIC = b"PK\x03\x04"
OLD_EXCEL_MAGIC = b"\xd0\xcf\x11\xe0"
OTHER_BINARY_MAGICS = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF")

NO_KEY_CATEGORY = {"", "无", "否", "非重点", "非重点监管"}
KEY_CATEGORY_WORDS = {
    "消防": KeyCategory.FIRE,
    "消防领域": KeyCategory.FIRE,
    "建筑施工": KeyCategory.CONSTRUCTION,
    "建筑施工领域": KeyCategory.CONSTRUCTION,
    "重点场所": KeyCategory.KEY_PLACE,
    "fire": KeyCategory.FIRE,
    "construction": KeyCategory.CONSTRUCTION,
    "key_place": KeyCategory.KEY_PLACE,
}
KEY_PLACE_WITH_KIND = re.compile(r"(?:重点场所|key_place)(?:[-－—/／:：](.+)|\((.+)\))")
PHONE_CHARACTERS = re.compile(r"[0-9\s\-+()（）转]+")


class RegisterFileError(Exception):
    """The file as a whole cannot be imported; `errors` says why, in the report's shape."""

    def __init__(self, *errors):
        super().__init__("; ".join(error["message"] for error in errors))
        self.errors = list(errors)


def row_error(row, field, message):
    return {"row": row, "field": field, "message": str(message)}


def file_error(message):
    return row_error(0, "file", message)


@dataclass(frozen=True)
class RegisterTable:
    """The data rows of a register file: `labels` maps each recognised field to the header
    text as written in the file; `rows` holds (spreadsheet row number, {field: text})."""

    labels: dict
    rows: list


@dataclass(frozen=True)
class Reference:
    """The bureau's streets (by name and by code), grids (by street and name) and parks."""

    streets: dict
    grids: dict
    grid_streets: dict
    parks: dict

    @classmethod
    def build(cls, *, streets, grids, parks):
        by_name_or_code = {street.code: street for street in streets}
        by_name_or_code.update({street.name: street for street in streets})
        return cls(
            streets=by_name_or_code,
            grids={(grid.street_id, grid.name): grid for grid in grids},
            grid_streets={grid.pk: grid.street_id for grid in grids},
            parks={park.name: park for park in parks},
        )


def supported_types_hint():
    return _("支持的文件类型：CSV（UTF-8 或 GBK 编码）、Excel 工作簿（.xlsx）。")


def read_register(content, filename):
    """The register table in `content`; RegisterFileError when the file cannot be used."""
    limit = settings.REGISTER_IMPORT_MAX_BYTES
    if len(content) > limit:
        raise RegisterFileError(
            file_error(
                _("文件过大（%(size)s），上限为%(limit)s。")
                % {"size": filesizeformat(len(content)), "limit": filesizeformat(limit)}
            )
        )
    cells = _read_cells(content, filename)
    if not any(any(row) for row in cells):
        raise RegisterFileError(file_error(_("文件是空的。") + supported_types_hint()))
    table = _to_table(cells)
    if not table.rows:
        raise RegisterFileError(file_error(_("文件中没有数据行：表头之下至少要有一行企业信息。")))
    return table


def _read_cells(content, filename):
    if content.startswith(ZIP_MAGIC):
        return _read_xlsx(content, filename)
    if content.startswith(OLD_EXCEL_MAGIC):
        raise RegisterFileError(
            file_error(
                _("“%(name)s”是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入。")
                % {"name": filename}
                + supported_types_hint()
            )
        )
    if content.startswith(OTHER_BINARY_MAGICS) or filename.lower().endswith(".xlsx"):
        raise _unsupported_type(filename)
    return _read_csv(content)


def _unsupported_type(filename):
    return RegisterFileError(
        file_error(
            _("“%(name)s”不是可导入的名录文件。") % {"name": filename} + supported_types_hint()
        )
    )


def _read_xlsx(content, filename):
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise _unsupported_type(filename) from None
    try:
        if not workbook.worksheets:
            return []
        sheet = workbook.worksheets[0]
        # Some generators write a wrong sheet size; without this, read-only mode truncates.
        sheet.reset_dimensions()
        return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell_text(value):
    if value is None:
        return ""
    # A phone number or code typed as a number arrives as a float: keep its digits only.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_csv(content):
    text = _decode(content)
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as error:
        raise RegisterFileError(
            file_error(_("CSV 格式错误：%(error)s") % {"error": error})
        ) from None


def _decode(content):
    encoding_error = RegisterFileError(
        file_error(
            _(
                "无法识别文件编码：CSV 文件须为 UTF-8 或 GBK 编码"
                "（可在 Excel 中另存为“CSV UTF-8”）。"
            )
        )
    )
    if b"\x00" in content:
        raise encoding_error
    for encoding in ("utf-8-sig", "gbk"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise encoding_error


def _to_table(cells):
    header, *data = cells
    columns = _header_columns(header)
    rows = []
    for number, row in enumerate(data, start=2):
        if any(row):
            padded = list(row) + [""] * (len(header) - len(row))
            rows.append((number, {field: padded[index] for field, index in columns.items()}))
    return RegisterTable(labels={field: header[i] for field, i in columns.items()}, rows=rows)


def _header_columns(header):
    """{field: column index}; a field named twice takes its first column."""
    columns = {}
    for index, text in enumerate(header):
        field = FIELD_BY_HEADER.get(text.casefold())
        if field and field not in columns:
            columns[field] = index
    missing = [field for field in REQUIRED_FIELDS if field not in columns]
    if missing:
        raise RegisterFileError(*(_missing_header(field) for field in missing))
    return columns


def _missing_header(field):
    chinese, *_others, english = HEADER_ALIASES[field]
    return row_error(
        1,
        chinese,
        _("缺少必填列“%(header)s”（也可用英文列名 %(english)s）。")
        % {"header": chinese, "english": english},
    )


def parse_key_category(text):
    """(key_category, key_kind) for a cell of the 重点监管类别 column, or None if unrecognised."""
    text = "".join(text.split()).replace("（", "(").replace("）", ")")
    if text in NO_KEY_CATEGORY:
        return KeyCategory.NONE, ""
    category = KEY_CATEGORY_WORDS.get(text.lower())
    if category:
        return category, ""
    if text in KEY_PLACE_KINDS:
        return KeyCategory.KEY_PLACE, text
    match = KEY_PLACE_WITH_KIND.fullmatch(text)
    kind = match and (match[1] or match[2])
    if kind in KEY_PLACE_KINDS:
        return KeyCategory.KEY_PLACE, kind
    return None


def validate_rows(table, reference):
    """(valid rows as (row number, {model field: value}), errors) for a register table.

    Only fields whose column is in the file get a value, so re-importing a narrower file
    leaves the other fields of existing firms as they are.
    """
    valid, errors, first_rows = [], [], {}
    for number, cells in table.rows:
        values, problems = clean_row(cells, reference)
        code = values.get("uscc")
        if code in first_rows:
            message = _("与第%(row)d行的统一社会信用代码重复。") % {"row": first_rows[code]}
            problems.append(("uscc", message))
        elif code:
            first_rows[code] = number
        if problems:
            errors.extend(row_error(number, table.labels[f], message) for f, message in problems)
        else:
            valid.append((number, values))
    return valid, errors


def clean_row(cells, reference):
    """({model field: value}, [(field, message)]) for one row's cells."""
    values, problems = {}, []
    for cleaner in (_clean_uscc, _clean_texts, _clean_street_and_grid, _clean_park, _clean_key):
        cleaned, found = cleaner(cells, reference)
        values.update(cleaned)
        problems.extend(found)
    return values, problems


def _clean_uscc(cells, _reference):
    code = normalise_uscc(cells["uscc"])
    error = uscc_error(code)
    return ({}, [("uscc", error)]) if error else ({"uscc": code}, [])


def _clean_texts(cells, _reference):
    values, problems = {}, []
    for field in TEXT_FIELDS:
        if field not in cells:
            continue
        problem = _text_problem(field, cells[field])
        if problem:
            problems.append((field, problem))
        else:
            values[field] = cells[field]
    return values, problems


def _text_problem(field, text):
    limit = Firm._meta.get_field(field).max_length
    if len(text) > limit:
        return _("内容过长：最多%(limit)d个字符，实为%(length)d个。") % {
            "limit": limit,
            "length": len(text),
        }
    if field == "name" and not text:
        return _("企业名称不能为空。")
    if field == "phone" and text and not _is_phone(text):
        return _(
            "联系电话“%(phone)s”格式不正确：只能含数字、空格、“-”、“+”、括号和“转”，"
            "且应有7至20位数字。"
        ) % {"phone": text}
    return None


def _is_phone(text):
    return bool(PHONE_CHARACTERS.fullmatch(text)) and 7 <= sum(c.isdigit() for c in text) <= 20


def _clean_street_and_grid(cells, reference):
    text = cells["street"]
    if not text:
        return {}, [("street", _("所属街道不能为空。"))]
    street = reference.streets.get(text)
    if street is None:
        message = _("街道镇“%(street)s”不存在：请填写本局已登记的街道镇名称或代码。")
        return {}, [("street", message % {"street": text})]
    grid_text = cells.get("grid")
    if grid_text is None:
        return {"street": street}, []
    if not grid_text:
        return {"street": street, "grid": None}, []
    grid = reference.grids.get((street.pk, grid_text))
    if grid is None:
        message = _("网格“%(grid)s”不在“%(street)s”之下。")
        return {}, [("grid", message % {"grid": grid_text, "street": street.name})]
    return {"street": street, "grid": grid}, []


def _clean_park(cells, reference):
    text = cells.get("park", "")
    if not text:
        return ({"park": None} if "park" in cells else {}), []
    park = reference.parks.get(text)
    if park is None:
        message = _("园区“%(park)s”不存在：请填写本局已登记的工业园区名称。")
        return {}, [("park", message % {"park": text})]
    return {"park": park}, []


def _clean_key(cells, _reference):
    if "key_category" not in cells:
        return {}, []
    parsed = parse_key_category(cells["key_category"])
    if parsed is None:
        message = _(
            "重点监管类别“%(value)s”无法识别：可填 消防、建筑施工、重点场所，"
            "或“重点场所-子类”（子类：%(kinds)s）；非重点监管单位留空或填“无”。"
        )
        kinds = "、".join(KEY_PLACE_KINDS)
        return {}, [("key_category", message % {"value": cells["key_category"], "kinds": kinds})]
    category, kind = parsed
    return {"key_category": category, "key_kind": kind}, []
