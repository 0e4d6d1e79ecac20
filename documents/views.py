from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from contractors.evidence.models import Evidence
from contractors.evidence.selectors import evidence_visible_to
from contractors.inspections.models import ChecklistAnswer
from contractors.inspections.selectors import checklist_with_answers
from contractors.register.selectors import streets_of
from contractors.tenancy.selectors import agencies_of
from documents import selectors
from documents.forms import (
    DocumentFilterForm,
    DocumentSettingsForm,
    RejectForm,
    ReviewQueueForm,
    TemplateUploadForm,
)
from documents.models import DocType, Document, DocumentSettings
from documents.pdf import pdf_available
from documents.preview import docx_to_html
from documents.selectors import (
    access_document_by_id,
    document_versions,
    documents_visible_to,
    filter_documents,
    templates_of,
)
from documents.services import (
    DOCX_TYPE,
    STORAGE_ERRORS,
    StorageUnavailable,
    do_acknowledge_document,
    do_approve_document,
    do_convert_document_pdf,
    do_issue_document_download,
    do_issue_draft_docx,
    do_reject_document,
    do_update_document_settings,
    do_upload_template,
    render_document,
)
from portal.access import membership_of, require_role
from portal.models import BUREAU_ROLES, Role
from portal.storage import content_disposition
from portal.validation import InvalidTransition

DOCUMENTS_PER_PAGE = 50


def add_service_errors(form, error):
    """Show a service's refusal at the fields it names, the rest above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _page(request, queryset):
    return Paginator(queryset, DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))


@login_required
def review_queue(request):
    require_role(request.user, *BUREAU_ROLES)
    form = ReviewQueueForm(
        request.GET or None, agencies=agencies_of(request.user), streets=streets_of(request.user)
    )
    arguments = form.queue_arguments() if form.is_valid() else {}
    page = _page(request, selectors.review_queue(request.user, **arguments))
    return render(
        request,
        "documents/review_queue.html",
        {"form": form, "page": page, "now": timezone.now()},
    )


@login_required
def document_list(request):
    membership = membership_of(request.user)
    if membership is None:
        raise PermissionDenied
    documents = documents_visible_to(request.user).order_by("-created_at", "pk")
    form = None
    if membership.role != Role.FIRM_USER:
        form = DocumentFilterForm(
            request.GET or None,
            streets=streets_of(request.user),
            agencies=agencies_of(request.user) if membership.is_bureau_staff else None,
        )
        if form.is_valid():
            documents = filter_documents(documents, **form.filters())
    return render(
        request,
        "documents/list.html",
        {"form": form, "page": _page(request, documents)},
    )


@require_GET
@login_required
def document_detail(request, document_id):
    document = access_document_by_id(request.user, document_id)
    return _render_detail(request, document)


def _render_detail(request, document, *, reject_form=None):
    membership = membership_of(request.user)
    can_review = (
        membership.role == Role.BUREAU_REVIEWER and document.status == Document.Status.PENDING
    )
    preview, preview_failed = None, False
    try:
        preview = docx_to_html(render_document(document))
    except STORAGE_ERRORS:
        preview_failed = True
    items = list(checklist_with_answers(document.inspection))
    hazards = list(document.hazards.order_by("created_at", "pk"))
    evidence = list(
        evidence_visible_to(request.user)
        .filter(status=Evidence.Status.CONFIRMED)
        .filter(Q(hazard__in=hazards) | Q(inspection=document.inspection_id, hazard=None))
        .order_by("created_at")
    )
    for hazard in hazards:
        hazard.photos = [item for item in evidence if item.hazard_id == hazard.pk]
    return render(
        request,
        "documents/detail.html",
        {
            "document": document,
            "inspection": document.inspection,
            "preview": preview,
            "preview_failed": preview_failed,
            "hazard_answers": [
                item for item in items if item.answer == ChecklistAnswer.Answer.HAZARD
            ],
            "answer_counts": [
                (label, sum(item.answer == value for item in items))
                for value, label in ChecklistAnswer.Answer.choices
            ],
            "hazards": hazards,
            "general_evidence": [item for item in evidence if item.hazard_id is None],
            "versions": document_versions(document).filter(
                pk__in=documents_visible_to(request.user).values("pk")
            ),
            "correction": _correction_of(document),
            "is_staff": membership.is_bureau_staff or membership.is_agency_staff,
            "is_firm_user": membership.role == Role.FIRM_USER,
            "can_review": can_review,
            "can_retry_pdf": membership.role == Role.BUREAU_REVIEWER,
            "reject_form": (reject_form or RejectForm()) if can_review else None,
            "pdf_available": pdf_available(),
        },
    )


def _correction_of(document):
    if document.status != Document.Status.SUPERSEDED:
        return None
    try:
        return document.superseded_by
    except Document.DoesNotExist:
        return None


def _back_to(document):
    return redirect("documents:document_detail", document_id=document.id)


@require_POST
@login_required
def document_approve(request, document_id):
    document = access_document_by_id(request.user, document_id)
    require_role(request.user, Role.BUREAU_REVIEWER)
    try:
        document = do_approve_document(actor=request.user, document=document)
    except (InvalidTransition, StorageUnavailable) as refusal:
        messages.error(request, _refusal_text(refusal))
    else:
        messages.success(request, _("文书已签发，文号：%(number)s") % {"number": document.number})
    return _back_to(document)


def _refusal_text(refusal):
    if isinstance(refusal, StorageUnavailable):
        return _("文书存储失败，请稍后重试")
    return " ".join(refusal.messages)


@require_POST
@login_required
def document_reject(request, document_id):
    document = access_document_by_id(request.user, document_id)
    require_role(request.user, Role.BUREAU_REVIEWER)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            do_reject_document(
                actor=request.user, document=document, reason=form.cleaned_data["reason"]
            )
        except InvalidTransition as refusal:
            messages.error(request, _refusal_text(refusal))
            return _back_to(document)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("文书已退回，检查已退回服务机构修改。"))
            return _back_to(document)
    return _render_detail(request, document, reject_form=form)


@require_POST
@login_required
def document_retry_pdf(request, document_id):
    document = access_document_by_id(request.user, document_id)
    require_role(request.user, Role.BUREAU_REVIEWER)
    document = do_convert_document_pdf(document=document)
    if document.pdf_key:
        messages.success(request, _("PDF 已生成。"))
    elif not pdf_available():
        messages.error(request, _("本服务器未安装 LibreOffice，仅提供 DOCX 文件"))
    elif document.pdf_error:
        messages.error(request, _("PDF 生成失败：%(error)s") % {"error": document.pdf_error})
    else:
        messages.error(request, _("该文书尚未签发，没有可转换的文件。"))
    return _back_to(document)


@require_POST
@login_required
def document_acknowledge(request, document_id):
    document = access_document_by_id(request.user, document_id)
    require_role(request.user, Role.FIRM_USER)
    already = document.acknowledged_at is not None
    try:
        document = do_acknowledge_document(actor=request.user, document=document)
    except InvalidTransition as refusal:
        messages.error(request, _refusal_text(refusal))
    else:
        if not already:
            messages.success(request, _("已签收。"))
    return _back_to(document)


@require_GET
@login_required
def document_download(request, document_id, fmt):
    document = access_document_by_id(request.user, document_id)
    try:
        url = do_issue_document_download(actor=request.user, document=document, file_format=fmt)
    except InvalidTransition as refusal:
        messages.error(request, _refusal_text(refusal))
        return _back_to(document)
    return redirect(url)


@require_GET
@login_required
def document_draft(request, document_id):
    document = access_document_by_id(request.user, document_id)
    try:
        content = do_issue_draft_docx(actor=request.user, document=document)
    except (InvalidTransition, StorageUnavailable) as refusal:
        messages.error(request, _refusal_text(refusal))
        return _back_to(document)
    filename = _("%(title)s（草稿 v%(version)d）.docx") % {
        "title": document.get_doc_type_display(),
        "version": document.version,
    }
    response = HttpResponse(content, content_type=DOCX_TYPE)
    response["Content-Disposition"] = content_disposition(filename)
    response["Cache-Control"] = "private, no-store"
    return response


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
