"""The home pages, the dashboard and the statistics' exports."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from contractors.hazards.models import Hazard, HazardLevel
from contractors.hazards.selectors import hazards_visible_to
from contractors.register.forms import RegisterSearchForm
from contractors.register.selectors import (
    filter_choices,
    recent_register_imports,
    register_summary,
    search_firms,
)
from documents.models import Document
from portal.access import membership_of, require_role
from portal.models import AGENCY_ROLES, BUREAU_ROLES, OrganisationKind
from portal.storage import content_disposition
from reporting.exports import (
    DOCX_TYPE,
    XLSX_TYPE,
    HazardExportForm,
    hazard_workbook,
    monthly_report,
    register_workbook,
    statistics_workbook,
)
from reporting.firm_figures import firm_figures
from reporting.forms import filter_form, scope_of
from reporting.stats import Statistics


@login_required
def home(request):
    membership = membership_of(request.user)
    if membership is None:
        return render(request, "reporting/home_outsider.html", status=200)
    template = {
        OrganisationKind.BUREAU: "reporting/home_bureau.html",
        OrganisationKind.AGENCY: "reporting/home_agency.html",
        OrganisationKind.FIRM: "reporting/home_firm.html",
    }[membership.kind]
    return render(
        request,
        template,
        {
            "summary": register_summary(request.user),
            "recent_imports": recent_register_imports(request.user),
        },
    )


def _url(name, **params):
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{reverse(name)}?{query}" if query else reverse(name)


class _Links:
    """Where each figure comes from: the list pages, filtered to the figure's rows."""

    def __init__(self, filters):
        self.period = filters.query()

    def of(self, **extra):
        params = {**self.period, **extra}
        hazards = "contractors:hazard_list"
        return {
            "inspections": _url("contractors:inspection_list", **params),
            "hazards": _url(hazards, **params),
            "general": _url(hazards, **params, level=HazardLevel.GENERAL),
            "major": _url(hazards, **params, level=HazardLevel.MAJOR),
            "rectified": _url(hazards, **params, status=Hazard.Status.VERIFIED),
            "overdue": _url(hazards, **params, status=Hazard.Status.OVERDUE),
            "documents": _url("documents:document_list", **params, status=Document.Status.APPROVED),
        }


def _chart(rows, *series):
    """A chart's labels and one dataset per (label, key) in `series`, from breakdown rows."""
    return {
        "labels": [str(row["name"]) for row in rows],
        "datasets": [
            {"label": str(label), "data": [row[key] for row in rows]} for label, key in series
        ],
    }


def _dashboard_context(statistics, form):
    links = _Links(statistics.filters)
    categories = statistics.by_category()
    streets = statistics.by_street()
    parks = statistics.by_park()
    agencies = statistics.by_agency()
    months = statistics.by_month()
    for row in categories:
        row["links"] = links.of(category=row["category"])
    for row in streets:
        row["links"] = links.of(street=row["id"])
    for row in parks:
        row["links"] = links.of(park=row["id"]) if row["id"] else None
    for row in agencies:
        row["links"] = links.of(agency=row["id"])
        row["links"]["assigned"] = _url("contractors:firm_list", agency=row["id"])
    for row in months:
        row["links"] = links.of(**{"from": row["date_from"], "to": row["date_to"]})
    hazards, rectified = _("隐患"), _("已整改")
    return {
        "form": form,
        "scope": statistics.scope,
        "filters": statistics.filters,
        "totals": {**statistics.totals, "links": links.of()},
        "report_text": statistics.report_text(),
        "categories": categories,
        "levels": statistics.by_level(),
        "streets": streets,
        "parks": parks,
        "agencies": agencies,
        "months": months,
        "overdue_hazards": statistics.overdue_hazards(),
        "export_query": urlencode(statistics.filters.query()),
        "charts": {
            "categories": _chart(categories, (hazards, "hazards"), (rectified, "rectified")),
            "levels": _chart(statistics.by_level(), (hazards, "hazards")),
            "streets": _chart(streets, (hazards, "hazards"), (rectified, "rectified")),
            "parks": _chart(parks, (hazards, "hazards"), (rectified, "rectified")),
            "months": _chart(
                months,
                (_("检查次数"), "inspections"),
                (hazards, "hazards"),
                (rectified, "rectified"),
            ),
        },
    }


def _scope_and_form(request):
    """The reader's scope (403 for those who see no statistics) and the filter form."""
    scope = scope_of(request.user)
    return scope, filter_form(scope, request.GET)


def _form_problems(form):
    return "\n".join(
        f"{form.fields[field].label}：{message}" if field in form.fields else str(message)
        for field, messages in form.errors.items()
        for message in messages
    )


@require_GET
@login_required
def dashboard(request):
    scope, form = _scope_and_form(request)
    if not form.is_valid():
        return render(
            request, "reporting/dashboard.html", {"form": form, "scope": scope}, status=400
        )
    statistics = Statistics(scope, form.filters())
    return render(request, "reporting/dashboard.html", _dashboard_context(statistics, form))


@require_GET
@login_required
def firm_summary(request):
    return render(request, "reporting/dashboard_firm.html", {"summary": firm_figures(request.user)})


def _attachment(content, content_type, filename):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition(filename)
    response["Cache-Control"] = "private, no-store"
    return response


def _bad_filters(form):
    return HttpResponseBadRequest(_form_problems(form), content_type="text/plain; charset=utf-8")


def _statistics_export(request, write, content_type, filename):
    """An export of the period's statistics: `write(statistics)` gives the file's bytes."""
    scope, form = _scope_and_form(request)
    if not form.is_valid():
        return _bad_filters(form)
    statistics = Statistics(scope, form.filters())
    period = f"{statistics.filters.date_from:%Y%m%d}-{statistics.filters.date_to:%Y%m%d}"
    return _attachment(write(statistics), content_type, filename % {"period": period})


@require_GET
@login_required
def export_statistics(request):
    return _statistics_export(
        request, statistics_workbook, XLSX_TYPE, _("统计报表_%(period)s.xlsx")
    )


@require_GET
@login_required
def export_monthly_report(request):
    return _statistics_export(
        request, monthly_report, DOCX_TYPE, _("安全生产检查工作月报_%(period)s.docx")
    )


@require_GET
@login_required
def export_register(request):
    require_role(request.user, *BUREAU_ROLES, *AGENCY_ROLES)
    form = RegisterSearchForm(request.GET, **filter_choices(request.user))
    if not form.is_valid():
        return _bad_filters(form)
    firms = search_firms(request.user, **form.search_arguments())
    return _attachment(
        register_workbook(firms, with_agency=True),
        XLSX_TYPE,
        _("企业名录_%(day)s.xlsx") % {"day": f"{timezone.localdate():%Y%m%d}"},
    )


@require_GET
@login_required
def export_hazards(request):
    if membership_of(request.user) is None:
        raise PermissionDenied
    form = HazardExportForm(request.GET)
    if not form.is_valid():
        return _bad_filters(form)
    return _attachment(
        hazard_workbook(form.filtered(hazards_visible_to(request.user))),
        XLSX_TYPE,
        _("隐患清单_%(day)s.xlsx") % {"day": f"{timezone.localdate():%Y%m%d}"},
    )
