"""The delivery pages: the firm's acknowledgement, signed downloads, the draft DOCX."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from documents.delivery.services import (
    do_acknowledge_document,
    do_issue_document_download,
    do_issue_draft_docx,
)
from documents.page_support import back_to_document, refusal_text
from documents.rules import DOCX_TYPE, StorageUnavailable
from documents.selectors import access_document_by_id
from portal.access import require_role
from portal.models import Role
from portal.storage import content_disposition
from portal.validation import InvalidTransition


@require_POST
@login_required
def document_acknowledge(request, document_id):
    document = access_document_by_id(request.user, document_id)
    require_role(request.user, Role.FIRM_USER)
    already = document.acknowledged_at is not None
    try:
        document = do_acknowledge_document(actor=request.user, document=document)
    except InvalidTransition as refusal:
        messages.error(request, refusal_text(refusal))
    else:
        if not already:
            messages.success(request, _("已签收。"))
    return back_to_document(document)


@require_GET
@login_required
def document_download(request, document_id, fmt):
    document = access_document_by_id(request.user, document_id)
    try:
        url = do_issue_document_download(actor=request.user, document=document, file_format=fmt)
    except InvalidTransition as refusal:
        messages.error(request, refusal_text(refusal))
        return back_to_document(document)
    return redirect(url)


@require_GET
@login_required
def document_draft(request, document_id):
    document = access_document_by_id(request.user, document_id)
    try:
        content = do_issue_draft_docx(actor=request.user, document=document)
    except (InvalidTransition, StorageUnavailable) as refusal:
        messages.error(request, refusal_text(refusal))
        return back_to_document(document)
    filename = _("%(title)s（草稿 v%(version)d）.docx") % {
        "title": document.get_doc_type_display(),
        "version": document.version,
    }
    response = HttpResponse(content, content_type=DOCX_TYPE)
    response["Content-Disposition"] = content_disposition(filename)
    response["Cache-Control"] = "private, no-store"
    return response
