"""The bureau's template versions and document settings pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from documents import selectors
from documents.drafting.forms import DocumentSettingsForm, TemplateUploadForm
from documents.drafting.services import do_update_document_settings, do_upload_template
from documents.models import DocType, DocumentSettings
from documents.rules import DOCX_TYPE
from documents.selectors import templates_of
from portal.access import require_role
from portal.models import BUREAU_ROLES, Role
from portal.page_support import add_service_errors
from portal.storage import content_disposition


@login_required
def template_list(request):
    membership = require_role(request.user, *BUREAU_ROLES)
    is_admin = membership.role == Role.BUREAU_ADMIN
    if request.method == "POST" and not is_admin:
        raise PermissionDenied
    form = TemplateUploadForm(request.POST or None, request.FILES or None) if is_admin else None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            template = do_upload_template(
                actor=request.user,
                bureau=membership.bureau,
                doc_type=form.cleaned_data["doc_type"],
                filename=upload.name,
                content=upload.read(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("已启用%(doc_type)s模板第 %(version)d 版。")
                % {"doc_type": template.get_doc_type_display(), "version": template.version},
            )
            return redirect("documents:template_list")
    templates = templates_of(request.user).select_related("uploaded_by")
    by_type = {doc_type: [] for doc_type in DocType.values}
    for template in templates.order_by("doc_type", "-version"):
        by_type[template.doc_type].append(template)
    return render(
        request,
        "documents/templates.html",
        {
            "groups": [
                (DocType(doc_type).label, versions) for doc_type, versions in by_type.items()
            ],
            "form": form,
        },
    )


@require_GET
@login_required
def template_download(request, template_id):
    template = selectors.access_template_by_id(request.user, template_id)
    response = HttpResponse(bytes(template.content), content_type=DOCX_TYPE)
    response["Content-Disposition"] = content_disposition(template.filename)
    return response


@login_required
def document_settings(request):
    membership = require_role(request.user, Role.BUREAU_ADMIN)
    current = DocumentSettings.objects.filter(bureau=membership.bureau).first()
    form = DocumentSettingsForm(
        request.POST or None, instance=current or DocumentSettings(bureau=membership.bureau)
    )
    if request.method == "POST" and form.is_valid():
        try:
            do_update_document_settings(
                actor=request.user, bureau=membership.bureau, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("文书设置已保存。"))
            return redirect("documents:settings")
    return render(request, "documents/settings.html", {"form": form})
