"""The pages of tenancy (agencies, contracts, assignments, the firms' object permissions): access
helper, service, response."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contractors.register.selectors import (
    grids_of,
    parks_of,
    streets_of,
)
from contractors.register.views import FIRMS_PER_PAGE, _firm_list_url
from contractors.tenancy.forms import (
    AssignmentCriteriaForm,
    ContractForm,
    FirmPickForm,
    ShareOutForm,
)
from contractors.tenancy.selectors import (
    access_contract_by_id,
    agencies_of,
    assignment_moves,
    assignment_preview,
    assignment_sample,
    contract_firms,
    contracts_visible_to,
    firms_visible_to,
    inspectors_of,
    select_firms_for_assignment,
)
from contractors.tenancy.services import (
    QuotaExceeded,
    do_assign_firms,
    do_create_contract,
    do_share_out_firms,
    do_unassign_firms,
)
from portal.access import membership_of, require_role
from portal.models import AGENCY_ROLES, BUREAU_ROLES, Role
from portal.page_support import form_errors

SAMPLE_SIZE = 20


MOVES_NAMED = 10


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
        messages.error(request, " ".join(form_errors(form)))
    return redirect(_firm_list_url(form.data.get("query", "")))


def _share_out_message(count, inspector):
    if inspector is None:
        return _("已收回 %(count)d 家企业，暂不指定检查员。") % {"count": count}
    return _("已将 %(count)d 家企业分给 %(inspector)s。") % {"count": count, "inspector": inspector}


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
        messages.error(request, " ".join(form_errors(form)))
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
