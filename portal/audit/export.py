"""The audit log as a workbook: the filtered events, newest first, every cell from the data
safe to open (`portal/spreadsheets.py`)."""

import io
import json

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from portal.spreadsheets import safe_row

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WIDTHS = [8, 20, 16, 12, 28, 22, 38, 16, 60, 66]


def detail_text(detail):
    return json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else ""


def audit_workbook(events):
    """The workbook's bytes and the number of events in it."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("审计日志"))
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    headers = [
        _("序号"),
        _("时间"),
        _("操作人账号"),
        _("操作人姓名"),
        _("动作"),
        _("对象类型"),
        _("对象编号"),
        _("来源地址"),
        _("详情"),
        _("哈希值"),
    ]
    bold = Font(bold=True)
    header_cells = [WriteOnlyCell(sheet, value=header) for header in headers]
    for cell in header_cells:
        cell.font = bold
    sheet.append(header_cells)
    count = 0
    for event in events.iterator(chunk_size=2000):
        actor = event.actor
        row = [
            event.sequence,
            # Excel has no time zones: the bureau's local time, as the page shows it.
            timezone.localtime(event.at).replace(tzinfo=None),
            actor.username if actor else "",
            actor.full_name if actor else "",
            event.action,
            event.target_type,
            event.target_id,
            event.ip_address or "",
            detail_text(event.detail),
            event.hash,
        ]
        sheet.append(safe_row(sheet, row))
        count += 1
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), count
