"""The pages of hazards (record, edit, rectify, re-inspect, mark overdue): access helper, service,
response."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms.models import model_to_dict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from contractors.evidence.views import _evidence_of
from contractors.hazards.forms import HazardFilterForm, HazardForm, RectifyForm, ReinspectForm
from contractors.hazards.models import Hazard
from contractors.hazards.selectors import (
    access_hazard_by_id,
    filter_hazards,
    hazards_awaiting_reinspection,
    hazards_visible_to,
)
from contractors.hazards.services import do_rectify_hazard, do_reinspect_hazard, do_update_hazard
from contractors.inspections.selectors import may_work_on_inspection
from contractors.register.selectors import filter_choices
from contractors.tenancy.selectors import agency_holds_firm
from portal.access import membership_of, require_role
from portal.models import AGENCY_ROLES, Role
from portal.page_support import add_service_errors, refused_for_state
from portal.validation import InvalidTransition

HAZARDS_PER_PAGE = 30


@login_required
def hazard_list(request):
    membership = membership_of(request.user)
    if membership is None:
        raise PermissionDenied
    form = HazardFilterForm(
        request.GET or None,
        **filter_choices(request.user),
    )
    # Agency staff come here for their re-inspection queue unless they ask for a selection.
    is_queue = membership.is_agency_staff and not request.GET.keys() - {"page"}
    if is_queue:
        hazards = hazards_awaiting_reinspection(request.user)
    else:
        hazards = hazards_visible_to(request.user).select_related("firm__street")
        if form.is_valid():
            hazards = filter_hazards(hazards, **form.filters())
    page = Paginator(hazards.order_by("deadline", "created_at"), HAZARDS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    today = timezone.localdate()
    for hazard in page.object_list:
        hazard.days_left = (hazard.deadline - today).days
        hazard.days_overdue = -hazard.days_left
    return render(
        request,
        "contractors/hazards/list.html",
        {"form": form, "page": page, "is_queue": is_queue},
    )


@require_GET
@login_required
def hazard_detail(request, hazard_id):
    hazard = access_hazard_by_id(request.user, hazard_id)
    return _render_hazard(request, hazard)


def _render_hazard(request, hazard, *, edit_form=None, rectify_form=None, reinspect_form=None):
    membership = membership_of(request.user)
    can_edit = hazard.inspection.is_editable and may_work_on_inspection(
        request.user, hazard.inspection
    )
    can_rectify = (
        membership.role == Role.FIRM_USER
        and membership.firm_id == hazard.firm_id
        and hazard.status in (Hazard.Status.OPEN, Hazard.Status.OVERDUE)
    )
    can_reinspect = (
        membership.is_agency_staff
        and hazard.status == Hazard.Status.RECTIFIED
        and agency_holds_firm(membership.agency_id, hazard.firm_id)
    )
    if can_edit and edit_form is None:
        edit_form = HazardForm(initial=model_to_dict(hazard, fields=HazardForm.base_fields))
    return render(
        request,
        "contractors/hazards/detail.html",
        {
            "hazard": hazard,
            "evidence": _evidence_of(request.user, hazard=hazard),
            "edit_form": edit_form if can_edit else None,
            "rectify_form": (rectify_form or RectifyForm()) if can_rectify else None,
            "reinspect_form": (reinspect_form or ReinspectForm()) if can_reinspect else None,
        },
    )


@require_POST
@login_required
def hazard_update(request, hazard_id):
    hazard = access_hazard_by_id(request.user, hazard_id)
    if not may_work_on_inspection(request.user, hazard.inspection):
        raise PermissionDenied
    return _hazard_action(
        request,
        hazard,
        HazardForm(request.POST),
        do_update_hazard,
        "edit_form",
        lambda _hazard: _("隐患已保存。"),
    )


@require_POST
@login_required
def hazard_rectify(request, hazard_id):
    hazard = access_hazard_by_id(request.user, hazard_id)
    require_role(request.user, Role.FIRM_USER)
    return _hazard_action(
        request,
        hazard,
        RectifyForm(request.POST),
        do_rectify_hazard,
        "rectify_form",
        lambda _hazard: _("整改情况已报告，等待第三方服务机构复查。"),
    )


@require_POST
@login_required
def hazard_reinspect(request, hazard_id):
    hazard = access_hazard_by_id(request.user, hazard_id)
    require_role(request.user, *AGENCY_ROLES)
    return _hazard_action(
        request,
        hazard,
        ReinspectForm(request.POST),
        do_reinspect_hazard,
        "reinspect_form",
        _reinspection_message,
    )


def _hazard_action(request, hazard, form, service, form_name, success_message):
    """Run a hazard service on a valid form: back to the hazard page with a message, or the
    page again with the refusal at its fields."""
    if form.is_valid():
        try:
            updated = service(actor=request.user, hazard=hazard, **form.cleaned_data)
        except InvalidTransition as refusal:
            return refused_for_state(
                request, refusal, "contractors:hazard_detail", hazard_id=hazard.id
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, success_message(updated))
            return redirect("contractors:hazard_detail", hazard_id=hazard.id)
    return _render_hazard(request, hazard, **{form_name: form})


def _reinspection_message(hazard):
    if hazard.status == Hazard.Status.VERIFIED:
        return _("复查通过，隐患已销号。")
    return _("复查未通过，已重新限期整改至 %(deadline)s。") % {
        "deadline": hazard.deadline.isoformat()
    }
