from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contractors.forms import RegisterImportCommitForm, RegisterImportForm, RegisterSearchForm
from contractors.selectors import (
    access_firm_by_id,
    access_register_import_by_id,
    parks_of,
    search_firms,
    streets_of,
)
from contractors.services import do_commit_register_import, do_preview_register_import
from portal.access import membership_of, require_role
from portal.models import Role

FIRMS_PER_PAGE = 50


@login_required
def firm_list(request):
    if membership_of(request.user) is None:
        raise PermissionDenied
    form = RegisterSearchForm(
        request.GET or None, streets=streets_of(request.user), parks=parks_of(request.user)
    )
    arguments = form.search_arguments() if form.is_valid() else {}
    page = Paginator(search_firms(request.user, **arguments), FIRMS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "contractors/firm_list.html", {"form": form, "page": page})


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
