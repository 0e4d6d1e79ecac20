from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms.models import model_to_dict
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from contractors.forms import (
    AnswerForm,
    AssignmentCriteriaForm,
    ContractForm,
    FirmPickForm,
    HazardFilterForm,
    HazardForm,
    InspectionFilterForm,
    InspectionStartForm,
    RectifyForm,
    RegisterImportCommitForm,
    RegisterImportForm,
    RegisterSearchForm,
    ReinspectForm,
    ShareOutForm,
)
from contractors.models import (
    ChecklistAnswer,
    Evidence,
    Hazard,
    HazardCategory,
    HazardLevel,
    Inspection,
)
from contractors.selectors import (
    access_contract_by_id,
    access_evidence_by_id,
    access_firm_by_id,
    access_hazard_by_id,
    access_inspection_by_id,
    access_register_import_by_id,
    agencies_of,
    agency_holds_firm,
    agency_staff_of,
    assignment_moves,
    assignment_preview,
    assignment_sample,
    checklist_with_answers,
    contract_firms,
    contracts_visible_to,
    evidence_visible_to,
    filter_hazards,
    firms_visible_to,
    grids_of,
    hazards_awaiting_reinspection,
    hazards_visible_to,
    in_period,
    inspections_visible_to,
    inspectors_of,
    may_work_on_inspection,
    parks_of,
    search_firms,
    select_firms_for_assignment,
    streets_of,
    with_last_inspection,
)
from contractors.services import (
    DEFAULT_RECTIFICATION_DAYS,
    InvalidTransition,
    QuotaExceeded,
    do_answer_item,
    do_assign_firms,
    do_commit_register_import,
    do_create_contract,
    do_issue_evidence_download,
    do_preview_register_import,
    do_record_hazard,
    do_rectify_hazard,
    do_reinspect_hazard,
    do_share_out_firms,
    do_start_inspection,
    do_submit_inspection,
    do_unassign_firms,
    do_update_hazard,
)
from documents.selectors import documents_visible_to
from portal.access import membership_of, require_role
from portal.models import AGENCY_ROLES, BUREAU_ROLES, Role

FIRMS_PER_PAGE = 50
SAMPLE_SIZE = 20
MOVES_NAMED = 10


@login_required
def firm_list(request):
    membership = membership_of(request.user)
    if membership is None:
        raise PermissionDenied
    form = RegisterSearchForm(
        request.GET or None,
        streets=streets_of(request.user),
        parks=parks_of(request.user),
        agencies=agencies_of(request.user) if membership.is_bureau_staff else None,
        mine=membership.role == Role.AGENCY_INSPECTOR,
    )
    arguments = form.search_arguments() if form.is_valid() else {}
    page = Paginator(search_firms(request.user, **arguments), FIRMS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    share_out = None
    if membership.role == Role.AGENCY_MANAGER:
        share_out = ShareOutForm(
            initial={"query": request.GET.urlencode()},
            firms=firms_visible_to(request.user),
            inspectors=inspectors_of(membership.agency_id),
        )
    return render(
        request,
        "contractors/firm_list.html",
        {"form": form, "page": page, "share_out": share_out},
    )


@require_POST
@login_required
def firm_share_out(request):
    membership = require_role(request.user, Role.AGENCY_MANAGER)
    form = ShareOutForm(
        request.POST,
        firms=firms_visible_to(request.user),
        inspectors=inspectors_of(membership.agency_id),
    )
    if form.is_valid():
        inspector = form.inspector_user()
        try:
            count = do_share_out_firms(
                actor=request.user,
                agency=membership.agency,
                firms=form.cleaned_data["firms"],
                inspector=inspector,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _share_out_message(count, inspector))
    else:
        messages.error(request, " ".join(_form_errors(form)))
    return redirect(_firm_list_url(form.data.get("query", "")))


def _share_out_message(count, inspector):
    if inspector is None:
        return _("已收回 %(count)d 家企业，暂不指定检查员。") % {"count": count}
    return _("已将 %(count)d 家企业分给 %(inspector)s。") % {"count": count, "inspector": inspector}


def _firm_list_url(query):
    # The query comes back from the browser: re-encoded, it can only ever be a query string on
    # the list, never a way to send the user elsewhere.
    query = QueryDict(query).urlencode()
    url = reverse("contractors:firm_list")
    return f"{url}?{query}" if query else url


def _form_errors(form):
    return [error for errors in form.errors.values() for error in errors]


@login_required
def firm_detail(request, firm_id):
    firm = access_firm_by_id(request.user, firm_id)
    return render(request, "contractors/firm_detail.html", {"firm": firm})


@login_required
def register_import(request):
    membership = require_role(request.user, Role.BUREAU_ADMIN)
    form = RegisterImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        preview = do_preview_register_import(
            actor=request.user,
            bureau=membership.bureau,
            filename=upload.name,
            content=upload.read(),
        )
        return redirect("contractors:register_import_detail", import_id=preview.id)
    return render(request, "contractors/register_import.html", {"form": form})


@login_required
def register_import_detail(request, import_id):
    register_import = access_register_import_by_id(request.user, import_id)
    return render(
        request,
        "contractors/register_import_detail.html",
        {"item": register_import, "report": register_import.result},
    )


@require_POST
@login_required
def register_import_commit(request, import_id):
    register_import = access_register_import_by_id(request.user, import_id)
    form = RegisterImportCommitForm(request.POST)
    form.is_valid()
    try:
        report = do_commit_register_import(
            actor=request.user,
            register_import=register_import,
            valid_only=form.cleaned_data.get("valid_only", False),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if report.committed:
            messages.success(
                request,
                _("导入完成：新增 %(created)d 家，更新 %(updated)d 家，未变 %(unchanged)d 家。")
                % report.as_dict(),
            )
        else:
            messages.error(request, _("文件中有错误，未导入任何数据。请修正后重新上传。"))
    return redirect("contractors:register_import_detail", import_id=register_import.id)


@login_required
def contract_list(request):
    membership = require_role(request.user, *BUREAU_ROLES, *AGENCY_ROLES)
    return render(
        request,
        "contractors/contract_list.html",
        {
            "contracts": contracts_visible_to(request.user),
            "can_create": membership.role == Role.BUREAU_ADMIN,
        },
    )


@login_required
def contract_create(request):
    membership = require_role(request.user, Role.BUREAU_ADMIN)
    form = ContractForm(request.POST or None, agencies=agencies_of(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            contract = do_create_contract(
                actor=request.user, bureau=membership.bureau, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("服务合同已创建。"))
            return redirect("contractors:contract_detail", contract_id=contract.id)
    return render(request, "contractors/contract_form.html", {"form": form})


@login_required
def contract_detail(request, contract_id):
    contract = access_contract_by_id(request.user, contract_id)
    page = Paginator(contract_firms(contract), FIRMS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "contractors/contract_detail.html",
        {
            "contract": contract,
            "page": page,
            "can_assign": membership_of(request.user).role == Role.BUREAU_ADMIN,
        },
    )


@require_POST
@login_required
def contract_unassign(request, contract_id):
    contract = access_contract_by_id(request.user, contract_id)
    require_role(request.user, Role.BUREAU_ADMIN)
    form = FirmPickForm(request.POST, firms=firms_visible_to(request.user))
    if form.is_valid():
        count = do_unassign_firms(
            actor=request.user, contract=contract, firms=form.cleaned_data["firms"]
        )
        messages.success(request, _("已取消分配 %(count)d 家企业。") % {"count": count})
    else:
        messages.error(request, " ".join(_form_errors(form)))
    return redirect("contractors:contract_detail", contract_id=contract.id)


@login_required
def contract_assign(request, contract_id):
    contract = access_contract_by_id(request.user, contract_id)
    require_role(request.user, Role.BUREAU_ADMIN)
    data = request.POST if request.method == "POST" else request.GET
    form = AssignmentCriteriaForm(
        data or None,
        streets=streets_of(request.user),
        grids=grids_of(request.user),
        parks=parks_of(request.user),
    )
    context = {"contract": contract, "form": form}
    if form.is_valid():
        selection = select_firms_for_assignment(request.user, **form.selection_arguments())
        confirmed = request.POST.get("action") == "confirm"
        if confirmed and not selection.problems and selection.firms.exists():
            try:
                result = do_assign_firms(
                    actor=request.user,
                    contract=contract,
                    firms=selection.firms,
                    allow_over_quota=form.cleaned_data["allow_over_quota"],
                )
            except QuotaExceeded as refusal:
                context["quota_refusal"] = str(refusal)
            else:
                messages.success(
                    request,
                    _("已分配 %(assigned)d 家（其中从其他机构转入 %(moved)d 家）。")
                    % {"assigned": result.assigned, "moved": result.moved},
                )
                return redirect("contractors:contract_detail", contract_id=contract.id)
        context.update(_assignment_context(contract, selection))
    return render(request, "contractors/contract_assign.html", context)


def _assignment_context(contract, selection):
    if selection.problems:
        return {"problems": selection.problems}
    preview = assignment_preview(contract, selection.firms)
    if not preview["total"]:
        return {"preview": preview}
    return {
        "preview": preview,
        "moves": assignment_moves(contract, selection.firms, named=MOVES_NAMED),
        "sample": assignment_sample(selection.firms, limit=SAMPLE_SIZE),
    }


# --- Inspections and hazards: the inspector's phone pages, the firm's pages --------------------

INSPECTIONS_PER_PAGE = 30
HAZARDS_PER_PAGE = 30


def _add_service_errors(form, error):
    """Show a service's refusal at the fields it names, the rest above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _refused_for_state(request, refusal, url_name, **kwargs):
    # The form is gone from the page once the state forbids it, so the reason goes on top.
    messages.error(request, " ".join(refusal.messages))
    return redirect(url_name, **kwargs)


def _wants_fragment(request):
    # The checklist script asks for the answered item's HTML to swap in place.
    return request.headers.get("X-Requested-With") == "fetch"


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
            _add_service_errors(form, error)
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
            "evidence": _evidence_of(request.user, inspection=inspection, hazard=None),
            "documents": documents_visible_to(request.user)
            .filter(inspection=inspection)
            .order_by("doc_type", "-version"),
            "can_work": can_work,
            "hazard_form": hazard_form if can_work else None,
            "answers": ChecklistAnswer.Answer,
        },
    )


def _checklist_groups(inspection):
    """The checklist by hazard category, in the categories' order, items by position."""
    order = {category: index for index, category in enumerate(HazardCategory.values)}
    items = sorted(
        checklist_with_answers(inspection),
        key=lambda item: (order.get(item.category, len(order)), item.position),
    )
    groups = {}
    for item in items:
        groups.setdefault(item.category, []).append(item)
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
        error = " ".join(_form_errors(form))
    item = form.cleaned_data.get("item")
    if _wants_fragment(request):
        if item is None:
            return HttpResponseBadRequest(error, content_type="text/plain; charset=utf-8")
        return render(
            request,
            "contractors/inspections/_item.html",
            {
                "item": items.get(pk=item.pk),
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
            return _refused_for_state(
                request, refusal, "contractors:inspection_detail", inspection_id=inspection.id
            )
        except ValidationError as error:
            _add_service_errors(form, error)
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


@login_required
def hazard_list(request):
    membership = membership_of(request.user)
    if membership is None:
        raise PermissionDenied
    form = HazardFilterForm(
        request.GET or None,
        streets=streets_of(request.user),
        parks=parks_of(request.user),
        agencies=agencies_of(request.user) if membership.is_bureau_staff else None,
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
            return _refused_for_state(
                request, refusal, "contractors:hazard_detail", hazard_id=hazard.id
            )
        except ValidationError as error:
            _add_service_errors(form, error)
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


def _evidence_of(user, **filters):
    return evidence_visible_to(user).filter(status=Evidence.Status.CONFIRMED, **filters)


@require_GET
@login_required
def evidence_download(request, evidence_id):
    evidence = access_evidence_by_id(request.user, evidence_id)
    thumbnail = request.GET.get("thumbnail") == "1" and bool(evidence.thumbnail_key)
    return redirect(
        do_issue_evidence_download(actor=request.user, evidence=evidence, thumbnail=thumbnail)
    )
