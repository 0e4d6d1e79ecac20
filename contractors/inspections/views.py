"""The pages of inspections (start, answer the checklist, submit, accept or return): access helper,
service, response."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from contractors import hooks
from contractors.evidence.selectors import evidence_of_inspection
from contractors.evidence.views import _evidence_of
from contractors.hazards.forms import HazardForm
from contractors.hazards.models import HazardCategory, HazardLevel
from contractors.hazards.services import (
    DEFAULT_RECTIFICATION_DAYS,
    do_record_hazard,
)
from contractors.inspections.forms import AnswerForm, InspectionFilterForm, InspectionStartForm
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.inspections.selectors import (
    access_inspection_by_id,
    checklist_with_answers,
    in_period,
    inspections_visible_to,
    may_work_on_inspection,
    with_last_inspection,
)
from contractors.inspections.services import (
    do_answer_item,
    do_start_inspection,
    do_submit_inspection,
)
from contractors.register.forms import (
    RegisterSearchForm,
)
from contractors.register.selectors import (
    parks_of,
    search_firms,
    streets_of,
)
from contractors.register.views import FIRMS_PER_PAGE
from contractors.tenancy.selectors import (
    access_firm_by_id,
    agencies_of,
    agency_holds_firm,
    agency_staff_of,
)
from portal.access import membership_of, require_role
from portal.models import AGENCY_ROLES, Role
from portal.page_support import add_service_errors, form_errors, refused_for_state, wants_fragment
from portal.validation import InvalidTransition

INSPECTIONS_PER_PAGE = 30


def _may_start_inspection(user, firm):
    membership = membership_of(user)
    return (
        membership is not None
        and membership.is_agency_staff
        and agency_holds_firm(membership.agency_id, firm)
    )


@login_required
def my_firms(request):
    membership = require_role(request.user, *AGENCY_ROLES)
    is_inspector = membership.role == Role.AGENCY_INSPECTOR
    form = RegisterSearchForm(
        request.GET or None,
        initial={"mine": is_inspector},
        streets=streets_of(request.user),
        parks=parks_of(request.user),
        mine=is_inspector,
    )
    arguments = form.search_arguments() if form.is_valid() else {"mine": is_inspector}
    firms = with_last_inspection(search_firms(request.user, **arguments), request.user)
    page = Paginator(firms, FIRMS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "contractors/inspections/my_firms.html", {"form": form, "page": page})


@login_required
def firm_inspections(request, firm_id):
    firm = access_firm_by_id(request.user, firm_id)
    may_start = _may_start_inspection(request.user, firm)
    if request.method == "POST" and not may_start:
        raise PermissionDenied
    form = None
    if may_start:
        form = InspectionStartForm(
            request.POST or None,
            staff=agency_staff_of(membership_of(request.user).agency_id),
            initial=_start_initial(request.user, firm),
        )
    if request.method == "POST" and form.is_valid():
        try:
            inspection = do_start_inspection(
                actor=request.user, firm=firm, **form.service_arguments()
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("检查已开始，请逐项填写检查结果。"))
            return redirect("contractors:inspection_detail", inspection_id=inspection.id)
    inspections = inspections_visible_to(request.user).filter(firm=firm)
    return render(
        request,
        "contractors/inspections/firm_inspections.html",
        {"firm": firm, "form": form, "inspections": inspections},
    )


def _start_initial(user, firm):
    now = timezone.localtime()
    return {
        "kind": Inspection.Kind.ROUTINE,
        "inspected_on": now.date(),
        "time_from": now.strftime("%H:%M"),
        "inspectors": [user.pk],
        "firm_representative": firm.contact,
        "firm_representative_phone": firm.phone,
        "place": firm.address,
    }


@login_required
def inspection_list(request):
    membership = membership_of(request.user)
    if membership is None:
        raise PermissionDenied
    is_firm = membership.role == Role.FIRM_USER
    form = InspectionFilterForm(
        request.GET or None,
        streets=None if is_firm else streets_of(request.user),
        agencies=agencies_of(request.user) if membership.is_bureau_staff else None,
    )
    inspections = inspections_visible_to(request.user).select_related("firm__street")
    if form.is_valid():
        inspections = _filtered_inspections(inspections, form.cleaned_data)
    page = Paginator(inspections, INSPECTIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "contractors/inspections/list.html", {"form": form, "page": page})


def _filtered_inspections(inspections, data):
    inspections = in_period(inspections, date_from=data.get("from"), date_to=data.get("to"))
    if data.get("agency"):
        inspections = inspections.filter(agency=data["agency"])
    if data.get("street"):
        inspections = inspections.filter(firm__street=data["street"])
    if data["status"]:
        inspections = inspections.filter(status=data["status"])
    return inspections


@require_GET
@login_required
def inspection_detail(request, inspection_id):
    inspection = access_inspection_by_id(request.user, inspection_id)
    return _render_inspection(request, inspection)


def _render_inspection(request, inspection, *, hazard_form=None):
    can_work = inspection.is_editable and may_work_on_inspection(request.user, inspection)
    if can_work and hazard_form is None:
        hazard_form = HazardForm(
            initial={
                "level": HazardLevel.GENERAL,
                "deadline": inspection.inspected_on + timedelta(days=DEFAULT_RECTIFICATION_DAYS),
            }
        )
    return render(
        request,
        "contractors/inspections/detail.html",
        {
            "inspection": inspection,
            "groups": _checklist_groups(inspection),
            "hazards": inspection.hazards.order_by("created_at"),
            "evidence": evidence_of_inspection(request.user, inspection),
            "documents": [
                document
                for documents in hooks.inspection_documents.fire(
                    user=request.user, inspection=inspection
                )
                for document in documents
            ],
            "can_work": can_work,
            "hazard_form": hazard_form if can_work else None,
            "answers": ChecklistAnswer.Answer,
        },
    )


def _with_answer_label(item):
    """The item with the label of its answer, which `_item.html` shows: looked up here once,
    not by looping over the choices in the template for each item (a quarter of the
    checklist's rendering when every item is answered)."""
    item.answer_label = dict(ChecklistAnswer.Answer.choices).get(item.answer, "")
    return item


def _checklist_groups(inspection):
    """The checklist by hazard category, in the categories' order, items by position."""
    order = {category: index for index, category in enumerate(HazardCategory.values)}
    items = sorted(
        checklist_with_answers(inspection),
        key=lambda item: (order.get(item.category, len(order)), item.position),
    )
    groups = {}
    for item in items:
        groups.setdefault(item.category, []).append(_with_answer_label(item))
    return [(HazardCategory(category).label, group) for category, group in groups.items()]


@require_POST
@login_required
def inspection_answer(request, inspection_id):
    inspection = access_inspection_by_id(request.user, inspection_id, write=True)
    items = checklist_with_answers(inspection)
    form = AnswerForm(request.POST, items=items)
    error, hazard = None, None
    if form.is_valid():
        try:
            _answer, hazard = do_answer_item(
                actor=request.user, inspection=inspection, **form.cleaned_data
            )
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
    else:
        error = " ".join(form_errors(form))
    item = form.cleaned_data.get("item")
    if wants_fragment(request):
        if item is None:
            return HttpResponseBadRequest(error, content_type="text/plain; charset=utf-8")
        return render(
            request,
            "contractors/inspections/_item.html",
            {
                "item": _with_answer_label(items.get(pk=item.pk)),
                "inspection": inspection,
                "can_work": True,
                "answers": ChecklistAnswer.Answer,
                "error": error,
            },
            status=400 if error else 200,
        )
    if error:
        messages.error(request, error)
    elif hazard is not None:
        messages.success(request, _("已登记隐患，请核对隐患内容并拍照取证。"))
    url = reverse("contractors:inspection_detail", kwargs={"inspection_id": inspection.id})
    return redirect(f"{url}#item-{item.pk}" if item else url)


@require_POST
@login_required
def inspection_hazard_create(request, inspection_id):
    inspection = access_inspection_by_id(request.user, inspection_id, write=True)
    form = HazardForm(request.POST)
    if form.is_valid():
        try:
            hazard = do_record_hazard(
                actor=request.user, inspection=inspection, **form.cleaned_data
            )
        except InvalidTransition as refusal:
            return refused_for_state(
                request, refusal, "contractors:inspection_detail", inspection_id=inspection.id
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("隐患已登记，可以继续拍照取证。"))
            return redirect("contractors:hazard_detail", hazard_id=hazard.id)
    return _render_inspection(request, inspection, hazard_form=form)


@require_GET
@login_required
def inspection_review(request, inspection_id):
    inspection = access_inspection_by_id(request.user, inspection_id)
    return _render_review(request, inspection)


def _render_review(request, inspection, *, errors=()):
    items = list(checklist_with_answers(inspection))
    return render(
        request,
        "contractors/inspections/review.html",
        {
            "inspection": inspection,
            "total": len(items),
            "answered": sum(1 for item in items if item.answer),
            "missing": [item for item in items if not item.answer],
            "hazards": inspection.hazards.order_by("created_at"),
            "photos": _evidence_of(request.user, inspection=inspection).count(),
            "can_submit": inspection.is_editable
            and may_work_on_inspection(request.user, inspection),
            "errors": errors,
        },
    )


@require_POST
@login_required
def inspection_submit(request, inspection_id):
    inspection = access_inspection_by_id(request.user, inspection_id, write=True)
    try:
        do_submit_inspection(actor=request.user, inspection=inspection)
    except ValidationError as refusal:
        return _render_review(request, inspection, errors=refusal.messages)
    messages.success(request, _("检查已提交，等待应急管理局审核。"))
    return redirect("contractors:inspection_detail", inspection_id=inspection.id)
