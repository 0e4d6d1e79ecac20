"""The pages of the enterprise register (streets, grids, parks, firms, register imports): access
helper, service, response."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contractors.register.forms import (
    RegisterImportCommitForm,
    RegisterImportForm,
    RegisterSearchForm,
)
from contractors.register.selectors import (
    access_register_import_by_id,
    filter_choices,
    firm_list_page,
)
from contractors.register.services import do_commit_register_import, do_preview_register_import
from contractors.tenancy.forms import (
    ShareOutForm,
)
from contractors.tenancy.selectors import (
    access_firm_by_id,
    firms_visible_to,
    inspectors_of,
)
from portal.access import membership_of, require_role
from portal.models import Role

FIRMS_PER_PAGE = 50


@login_required
def firm_list(request):
    membership = membership_of(request.user)
    if membership is None:
        raise PermissionDenied
    form = RegisterSearchForm(
        request.GET or None,
        **filter_choices(request.user),
        mine=membership.role == Role.AGENCY_INSPECTOR,
    )
    arguments = form.search_arguments() if form.is_valid() else {}
    page = firm_list_page(
        request.user, number=request.GET.get("page"), per_page=FIRMS_PER_PAGE, **arguments
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


def _firm_list_url(query):
    # The query comes back from the browser: re-encoded, it can only ever be a query string on
    # the list, never a way to send the user elsewhere.
    query = QueryDict(query).urlencode()
    url = reverse("contractors:firm_list")
    return f"{url}?{query}" if query else url


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
