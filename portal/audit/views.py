"""The bureau's audit log: filtered, paginated, exported."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal.audit.export import XLSX_TYPE, audit_workbook, detail_text
from portal.audit.forms import AuditFilterForm
from portal.audit.selectors import actors_of, audit_event_page, audit_events, audit_reader
from portal.audit.services import do_record_audit_export
from portal.storage import content_disposition

SUMMARY_LENGTH = 120


def _summary(detail):
    text = detail_text(detail)
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


@require_GET
@login_required
def event_list(request):
    membership = audit_reader(request.user)
    form = AuditFilterForm(request.GET or None, actors=actors_of(membership))
    page = audit_event_page(audit_events(membership, **form.filters()), request.GET.get("page"))
    for event in page.object_list:
        event.summary = _summary(event.detail)
    return render(
        request,
        "portal/audit/event_list.html",
        {"form": form, "page": page, "export_query": urlencode(form.query())},
    )


@require_GET
@login_required
def event_export(request):
    membership = audit_reader(request.user)
    form = AuditFilterForm(request.GET, actors=actors_of(membership))
    if not form.is_valid():
        problems = "\n".join(
            f"{form.fields[name].label}：{message}" if name in form.fields else str(message)
            for name, messages in form.errors.items()
            for message in messages
        )
        return HttpResponseBadRequest(problems, content_type="text/plain; charset=utf-8")
    content, count = audit_workbook(audit_events(membership, **form.filters()))
    do_record_audit_export(
        actor=request.user, bureau=membership.bureau, filters=form.query(), count=count
    )
    response = HttpResponse(content, content_type=XLSX_TYPE)
    filename = _("审计日志_%(day)s.xlsx") % {"day": f"{timezone.localdate():%Y%m%d}"}
    response["Content-Disposition"] = content_disposition(filename)
    response["Cache-Control"] = "private, no-store"
    return response
