"""Delivery: short-lived links to the signed files, the draft DOCX, the firm's acknowledgement."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from documents.drafting.rendering import render_document
from documents.models import Document
from documents.rules import STORAGE_ERRORS, StorageUnavailable, locked_document
from portal.access import membership_of
from portal.models import Role
from portal.services import record_audit_event
from portal.storage import evidence_store
from portal.validation import InvalidTransition


def do_issue_document_download(*, actor, document, file_format):
    """A short-lived link to the signed DOCX or PDF, audited. Drafts have no stored file."""
    if file_format not in ("docx", "pdf"):
        raise ValidationError({"format": _("格式只能是 docx 或 pdf。")})
    key = document.docx_key if file_format == "docx" else document.pdf_key
    if not key:
        raise InvalidTransition(
            _("该文书尚未签发。") if not document.docx_key else _("该文书的 PDF 尚未生成。")
        )
    filename = f"{document.number or document.get_doc_type_display()}.{file_format}"
    url = evidence_store().download_url(
        key=key, filename=filename, expires_in=settings.DOWNLOAD_URL_SECONDS
    )
    record_audit_event(
        actor=actor,
        action="document.downloaded",
        target=document,
        bureau=document.bureau,
        detail={"format": file_format},
    )
    return url


def do_issue_draft_docx(*, actor, document):
    """The unsigned draft rendered as DOCX for the bureau or the agency to read, audited;
    a signed document is downloaded as signed instead."""
    membership = membership_of(actor)
    if membership is None or not (membership.is_bureau_staff or membership.is_agency_staff):
        raise PermissionDenied
    if document.number:
        raise InvalidTransition(_("该文书已签发，请下载签发的文件。"))
    try:
        content = render_document(document)
    except STORAGE_ERRORS as error:
        raise StorageUnavailable(_("文书存储失败，请稍后重试。")) from error
    record_audit_event(
        actor=actor,
        action="document.draft_downloaded",
        target=document,
        bureau=document.bureau,
        detail={"version": document.version},
    )
    return content


@transaction.atomic
def do_acknowledge_document(*, actor, document):
    """The firm's receipt (签收) of a signed document, recorded once; acknowledging again
    changes nothing."""
    document = locked_document(document)
    membership = membership_of(actor)
    if (
        membership is None
        or membership.role != Role.FIRM_USER
        or membership.firm_id != document.firm_id
    ):
        raise PermissionDenied(_("只有该企业的用户可以签收文书。"))
    if document.status != Document.Status.APPROVED:
        raise InvalidTransition(_("只有已签发的文书可以签收。"))
    if document.acknowledged_at is None:
        document.acknowledged_at = timezone.now()
        document.acknowledged_by = actor
        document.save(update_fields=["acknowledged_at", "acknowledged_by"])
        record_audit_event(
            actor=actor, action="document.acknowledged", target=document, bureau=document.bureau
        )
    return document
