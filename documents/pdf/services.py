"""The PDF rendition of a signed document: converted once, a failure recorded and retried."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from documents.models import Document
from documents.pdf.conversion import ConversionFailed, convert_to_pdf, pdf_available
from documents.rules import PDF_TYPE, STORAGE_ERRORS, sha256
from portal.services import record_audit_event
from portal.storage import evidence_store

logger = logging.getLogger(__name__)


def do_convert_document_pdf(*, document):
    """Add the PDF rendition of a signed document, once. A failure is recorded on the document
    (attempts and reason) and in the audit log; the job may be run again."""
    document = Document.objects.select_related("bureau").get(pk=document.pk)
    if document.pdf_key or document.status not in (
        Document.Status.APPROVED,
        Document.Status.SUPERSEDED,
    ):
        return document
    if not pdf_available():
        return document
    store = evidence_store()
    try:
        pdf = convert_to_pdf(b"".join(store.chunks(document.docx_key)))
        key = document.docx_key.removesuffix(".docx") + ".pdf"
        store.put(key, pdf, PDF_TYPE)
    except (ConversionFailed, *STORAGE_ERRORS) as error:
        return _record_pdf_failure(document, error)
    with transaction.atomic():
        document.pdf_key, document.sha256_pdf = key, sha256(pdf)
        document.pdf_converted_at = timezone.now()
        document.pdf_error = ""
        document.save(update_fields=["pdf_key", "sha256_pdf", "pdf_converted_at", "pdf_error"])
        record_audit_event(
            actor=None,
            action="document.pdf_converted",
            target=document,
            bureau=document.bureau,
            detail={"sha256_pdf": document.sha256_pdf},
        )
    return document


def _record_pdf_failure(document, error):
    logger.error("PDF conversion of document %s failed: %s", document.pk, error)
    with transaction.atomic():
        document.pdf_attempts += 1
        document.pdf_error = str(error)[:1000]
        document.save(update_fields=["pdf_attempts", "pdf_error"])
        record_audit_event(
            actor=None,
            action="document.pdf_failed",
            target=document,
            bureau=document.bureau,
            detail={"attempt": document.pdf_attempts, "error": document.pdf_error},
        )
    return document


def do_convert_waiting_pdfs():
    """The periodic job: retry the waiting PDFs where LibreOffice is installed (without it the
    portal issues DOCX only, which is no failure of the job)."""
    if not pdf_available():
        return "LibreOffice (soffice) is not installed: DOCX only"
    return do_retry_pdf_conversions()


def do_retry_pdf_conversions(*, limit=100):
    """Convert the signed documents still without a PDF (fewer than PDF_MAX_ATTEMPTS tries);
    the number converted."""
    waiting = Document.objects.filter(
        status__in=(Document.Status.APPROVED, Document.Status.SUPERSEDED),
        pdf_key="",
        pdf_attempts__lt=settings.PDF_MAX_ATTEMPTS,
    ).order_by("approved_at")[:limit]
    return sum(bool(do_convert_document_pdf(document=document).pdf_key) for document in waiting)
