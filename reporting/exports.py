"""Exports: the statistics workbook, the register and the hazard list as XLSX, and the monthly
report as DOCX. Each takes data already scoped by its caller (a Statistics object, or a
queryset from the selectors) and returns the file's bytes."""

import io
from decimal import Decimal
from pathlib import Path

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.register.models import KeyCategory
from documents.drafting.contexts import chinese_date
from documents.drafting.rendering import render_docx
from portal.spreadsheets import safe_row
from reporting.forms import DATE_FORMAT

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MONTHLY_REPORT_TEMPLATE = Path(settings.BASE_DIR) / "templates" / "docx" / "monthly_report.docx"
RATE_FORMAT = "0.00"
BOLD = Font(bold=True)


# --- The statistics workbook -------------------------------------------------------------------


def _sheet(workbook, title, headers, rows, *, widths=None):
    """A sheet with a bold header row frozen at the top; `rows` are lists of cell values."""
    sheet = workbook.create_sheet(title)
    sheet.append([str(header) for header in headers])
    for cell in sheet[1]:
        cell.font = BOLD
    for row in rows:
        sheet.append(safe_row(sheet, row))
        # Rates are Decimals: shown with their two decimals, still numbers to sum or sort.
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = RATE_FORMAT
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        width = (widths or {}).get(index) or max(10, len(str(header)) * 2 + 2)
        sheet.column_dimensions[get_column_letter(index)].width = width
    return sheet


def _area_headers(first):
    return [
        first,
        _("检查企业数"),
        _("检查次数"),
        _("发现隐患"),
        _("重大事故隐患"),
        _("已整改"),
        _("整改率(%)"),
        _("逾期隐患"),
        _("签发法律文书"),
    ]


def _area_cells(row):
    return [
        row["firms_inspected"],
        row["inspections"],
        row["hazards"],
        row["major"],
        row["rectified"],
        row["rate"],
        row["overdue"],
        row["documents_issued"],
    ]


def statistics_workbook(statistics):
    """The workbook of one Statistics: the summary, then one sheet per breakdown."""
    totals = statistics.totals
    filters = statistics.filters
    workbook = Workbook()
    workbook.remove(workbook.active)

    summary = [
        [
            _("统计期间"),
            _("%(start)s 至 %(end)s")
            % {"start": f"{filters.date_from:%Y-%m-%d}", "end": f"{filters.date_to:%Y-%m-%d}"},
        ],
        [_("统计范围"), statistics.subject()],
        [_("检查企业数（家）"), totals["firms_inspected"]],
        [_("检查次数"), totals["inspections"]],
        [_("发现事故隐患（项）"), totals["hazards"]],
        *[[str(category.label) + _("隐患"), totals[category.value]] for category in HazardCategory],
        [_("其中重大事故隐患"), totals["major"]],
        [_("已完成整改（项）"), totals["rectified"]],
        [_("整改率(%)"), totals["rate"]],
        [_("逾期未整改（项）"), totals["overdue"]],
        [_("签发法律文书（份）"), totals["documents_issued"]],
        [],
        [_("报告表述"), statistics.report_text()],
    ]
    sheet = _sheet(workbook, _("总体情况"), [_("项目"), _("数值")], summary, widths={1: 22, 2: 30})
    sheet.cell(row=len(summary) + 1, column=2).alignment = Alignment(wrap_text=True)

    categories = statistics.by_category()
    _sheet(
        workbook,
        _("隐患分类"),
        [
            _("隐患类别"),
            _("隐患总数"),
            _("一般事故隐患"),
            _("重大事故隐患"),
            _("已整改"),
            _("整改率(%)"),
            _("逾期隐患"),
        ],
        [
            [
                str(row["name"]),
                row["hazards"],
                row["general"],
                row["major"],
                row["rectified"],
                row["rate"],
                row["overdue"],
            ]
            for row in categories
        ]
        + [
            [
                _("合计"),
                totals["hazards"],
                totals["hazards"] - totals["major"],
                totals["major"],
                totals["rectified"],
                totals["rate"],
                totals["overdue"],
            ]
        ],
    )

    total_row = [_("合计"), *_area_cells(totals)]
    _sheet(
        workbook,
        _("街道镇"),
        _area_headers(_("街道镇")),
        [[row["name"], *_area_cells(row)] for row in statistics.by_street()] + [total_row],
        widths={1: 16},
    )
    _sheet(
        workbook,
        _("工业园区"),
        _area_headers(_("工业园区")),
        [[str(row["name"]), *_area_cells(row)] for row in statistics.by_park()] + [total_row],
        widths={1: 18},
    )
    _sheet(
        workbook,
        _("服务机构"),
        [
            _("服务机构"),
            _("合同配额"),
            _("已分配企业"),
            _("已检查企业"),
            _("完成率(%)"),
            _("检查次数"),
            _("发现隐患"),
            _("已整改"),
            _("整改率(%)"),
            _("签发法律文书"),
            _("逾期待复查"),
        ],
        [
            [
                row["name"],
                row["quota"],
                row["assigned"],
                row["firms_inspected"],
                row["progress"],
                row["inspections"],
                row["hazards"],
                row["rectified"],
                row["rate"],
                row["documents_issued"],
                row["overdue_reinspections"],
            ]
            for row in statistics.by_agency()
        ],
        widths={1: 30},
    )
    _sheet(
        workbook,
        _("分月"),
        _area_headers(_("月份")),
        [[str(row["name"]), *_area_cells(row)] for row in statistics.by_month()],
    )
    _sheet(
        workbook,
        _("逾期隐患"),
        [
            _("企业名称"),
            _("统一社会信用代码"),
            _("所属街道"),
            _("服务机构"),
            _("隐患类别"),
            _("隐患等级"),
            _("隐患描述"),
            _("整改期限"),
            _("逾期天数"),
        ],
        [
            [
                hazard.firm.name,
                hazard.firm.uscc,
                hazard.firm.street.name,
                hazard.inspection.agency.name,
                hazard.get_category_display(),
                hazard.get_level_display(),
                hazard.description,
                hazard.deadline,
                hazard.days_overdue,
            ]
            for hazard in statistics.overdue_hazards(limit=None)
        ],
        widths={1: 30, 2: 22, 4: 30, 7: 40},
    )
    return _saved(workbook)


def _saved(workbook):
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- Lists as XLSX ---------------------------------------------------------------------------


def _write_only(title, headers, rows, *, widths):
    """A streamed (write-only) workbook of one sheet: lists may hold the whole register."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=str(header))
        cell.font = BOLD
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append(safe_row(sheet, row))
    return _saved(workbook)


def _key_category_text(category, kind):
    """The 重点监管类别 cell as the register import reads it back (e.g. 重点场所-危险化学品)."""
    if not category:
        return ""
    label = str(KeyCategory(category).label)
    return f"{label}-{kind}" if kind else label


def register_workbook(firms, *, with_agency):
    """The register in the import's own columns, so that an edited export imports again;
    `firms` must carry `current_agency_name` (selectors.with_current_agency) when
    `with_agency`."""
    headers = [
        _("统一社会信用代码"),
        _("企业名称"),
        _("经营地址"),
        _("注册地址"),
        _("所属街道"),
        _("网格"),
        _("行业"),
        _("重点监管类别"),
        _("所属园区"),
        _("法定代表人"),
        _("联系人"),
        _("联系电话"),
    ]
    fields = [
        "uscc",
        "name",
        "address",
        "registered_address",
        "street__name",
        "grid__name",
        "industry",
        "key_category",
        "key_kind",
        "park__name",
        "legal_representative",
        "contact",
        "phone",
    ]
    if with_agency:
        headers.append(_("服务机构"))
        fields.append("current_agency_name")

    def rows():
        for values in firms.values_list(*fields).iterator(chunk_size=2000):
            row = list(values[:7])
            row.append(_key_category_text(values[7], values[8]))
            row.extend(value or "" for value in values[9:])
            yield [value or "" for value in row]

    widths = [22, 36, 36, 36, 14, 14, 16, 22, 18, 12, 12, 16, 30][: len(headers)]
    return _write_only(_("企业名录"), headers, rows(), widths=widths)


class HazardExportForm(forms.Form):
    """The hazard list's filters; dates are inspection dates, both included."""

    status = forms.ChoiceField(
        label=gettext_lazy("状态"), required=False, choices=[("", "")] + Hazard.Status.choices
    )
    category = forms.ChoiceField(
        label=gettext_lazy("隐患类别"),
        required=False,
        choices=[("", "")] + HazardCategory.choices,
    )
    level = forms.ChoiceField(
        label=gettext_lazy("隐患等级"), required=False, choices=[("", "")] + HazardLevel.choices
    )
    street = forms.UUIDField(label=gettext_lazy("街道镇"), required=False)
    park = forms.UUIDField(label=gettext_lazy("工业园区"), required=False)
    agency = forms.UUIDField(label=gettext_lazy("服务机构"), required=False)
    date_from = forms.DateField(
        label=gettext_lazy("开始日期"), required=False, input_formats=[DATE_FORMAT]
    )
    date_to = forms.DateField(
        label=gettext_lazy("结束日期"), required=False, input_formats=[DATE_FORMAT]
    )

    def __init__(self, data, **kwargs):
        # The dashboard's links say `from` and `to`, which are not Python names.
        data = data.copy()
        for short, name in (("from", "date_from"), ("to", "date_to")):
            if short in data and name not in data:
                data[name] = data[short]
        super().__init__(data, **kwargs)

    def filtered(self, hazards):
        data = self.cleaned_data
        lookups = {
            "status": data["status"],
            "category": data["category"],
            "level": data["level"],
            "firm__street": data["street"],
            "firm__park": data["park"],
            "inspection__agency": data["agency"],
            "inspection__inspected_on__gte": data["date_from"],
            "inspection__inspected_on__lte": data["date_to"],
        }
        return hazards.filter(**{key: value for key, value in lookups.items() if value})


def hazard_workbook(hazards):
    """The hazards, oldest deadline first, with their firm, agency and state."""
    headers = [
        _("企业名称"),
        _("统一社会信用代码"),
        _("所属街道"),
        _("服务机构"),
        _("检查日期"),
        _("隐患类别"),
        _("隐患等级"),
        _("隐患描述"),
        _("隐患部位"),
        _("法律依据"),
        _("整改要求"),
        _("整改期限"),
        _("状态"),
        _("当场整改"),
    ]
    categories = dict(HazardCategory.choices)
    levels = dict(HazardLevel.choices)
    statuses = dict(Hazard.Status.choices)
    values = hazards.order_by("deadline", "created_at", "pk").values_list(
        "firm__name",
        "firm__uscc",
        "firm__street__name",
        "inspection__agency__name",
        "inspection__inspected_on",
        "category",
        "level",
        "description",
        "location",
        "legal_basis",
        "requirement",
        "deadline",
        "status",
        "rectified_on_spot",
    )

    def rows():
        for row in values.iterator(chunk_size=2000):
            yield [
                *row[:5],
                str(categories[row[5]]),
                str(levels[row[6]]),
                *row[7:12],
                str(statuses[row[12]]),
                _("是") if row[13] else _("否"),
            ]

    widths = [30, 22, 14, 30, 12, 14, 14, 40, 20, 30, 30, 12, 14, 10]
    return _write_only(_("隐患清单"), headers, rows(), widths=widths)


# --- The monthly report ----------------------------------------------------------------------


def _area_part(row):
    return {
        "name": str(row["name"]),
        "firms_inspected": row["firms_inspected"],
        "inspections": row["inspections"],
        "hazards": row["hazards"],
        "major": row["major"],
        "rectified": row["rectified"],
        "rate": f"{row['rate']}%",
        "overdue": row["overdue"],
        "documents": row["documents_issued"],
    }


def monthly_report_context(statistics):
    """The report's context: plain text and numbers, as the template prints them."""
    filters = statistics.filters
    totals = statistics.totals
    return {
        "bureau": {"name": statistics.scope.bureau.name},
        "title": _("%(year)d年%(month)d月安全生产检查工作情况")
        % {"year": filters.date_to.year, "month": filters.date_to.month},
        "period": {"from": chinese_date(filters.date_from), "to": chinese_date(filters.date_to)},
        "subject": statistics.subject(),
        "report_text": statistics.report_text(),
        "categories": [
            {
                "name": str(row["name"]),
                "hazards": row["hazards"],
                "general": row["general"],
                "major": row["major"],
                "rectified": row["rectified"],
                "rate": f"{row['rate']}%",
                "overdue": row["overdue"],
            }
            for row in statistics.by_category()
        ],
        "totals": {
            **_area_part({**totals, "name": _("合计")}),
            "general": totals["hazards"] - totals["major"],
        },
        "streets": [_area_part(row) for row in statistics.by_street()],
        "parks": [_area_part(row) for row in statistics.by_park()],
        "agencies": [
            {
                "name": row["name"],
                "quota": row["quota"],
                "assigned": row["assigned"],
                "firms_inspected": row["firms_inspected"],
                "progress": f"{row['progress']}%",
                "hazards": row["hazards"],
                "rate": f"{row['rate']}%",
                "documents": row["documents_issued"],
                "overdue_reinspections": row["overdue_reinspections"],
            }
            for row in statistics.by_agency()
        ],
        "months": [_area_part(row) for row in statistics.by_month()],
        "date": chinese_date(timezone.localdate()),
    }


def monthly_report(statistics):
    """The monthly report (.docx) rendered from the shipped template."""
    return render_docx(MONTHLY_REPORT_TEMPLATE.read_bytes(), monthly_report_context(statistics))
