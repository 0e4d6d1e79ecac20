"""Review: the gap-free numbers, sign-off (approve) and return (reject) of drafted documents."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors import hooks
from contractors.hazards.models import Hazard
from contractors.inspections.models import Inspection
from contractors.inspections.services import do_accept_inspection, do_return_inspection
from documents.drafting.contexts import chinese_date
from documents.drafting.rendering import render_document
from documents.models import NUMBER_PREFIXES, DocType, Document, DocumentCounter, DocumentSettings
from documents.pdf.tasks import convert_document_pdf
from documents.rules import (
    DOCX_TYPE,
    STORAGE_ERRORS,
    StorageUnavailable,
    locked_document,
    require_bureau_role,
    sha256,
)
from portal.models import Role
from portal.services import record_audit_event
from portal.storage import evidence_store
from portal.validation import InvalidTransition

logger = logging.getLogger(__name__)


def _require_pending(document):
    if document.status != Document.Status.PENDING:
        raise InvalidTransition(_("只有待审核的文书可以签发或退回。"))


def _next_sequence(*, bureau, doc_type, year):
    """The next number of the bureau's gap-free series: the counter row is created if missing
    (without failing when another approval creates it first) and then locked."""
    DocumentCounter.objects.bulk_create(
        [DocumentCounter(bureau=bureau, doc_type=doc_type, year=year)], ignore_conflicts=True
    )
    counter = DocumentCounter.objects.select_for_update().get(
        bureau=bureau, doc_type=doc_type, year=year
    )
    counter.last_sequence += 1
    counter.save(update_fields=["last_sequence"])
    return counter.last_sequence


def format_number(*, bureau, doc_type, year, sequence):
    document_settings = DocumentSettings.objects.filter(bureau=bureau).first()
    pattern = (
        document_settings.number_format(doc_type)
        if document_settings
        else DocumentSettings().number_format(doc_type)
    )
    return pattern.format(
        bureau=bureau.short_name, prefix=NUMBER_PREFIXES[doc_type], year=year, sequence=sequence
    )


def _cite_signed_order(document):
    order = document.order
    if order.status not in (Document.Status.APPROVED, Document.Status.SUPERSEDED):
        raise InvalidTransition(_("请先签发所复查的责令限期整改指令书。"))
    document.context = {
        **document.context,
        "order": {
            **document.context["order"],
            "number": order.number,
            "date": chinese_date(timezone.localdate(order.approved_at)),
        },
    }


def _store_signed_docx(document):
    docx = render_document(document)
    key = f"bureau/{document.bureau_id}/documents/{document.pk}/v{document.version}.docx"
    try:
        evidence_store().put(key, docx, DOCX_TYPE)
    except STORAGE_ERRORS as error:
        logger.exception("storing signed document %s failed", document.pk)
        raise StorageUnavailable(_("文书存储失败，请稍后重试。")) from error
    return key, sha256(docx)


def _accept_when_signed(actor, inspection):
    """The inspection is accepted once none of its submitted documents awaits review."""
    inspection = Inspection.objects.get(pk=inspection.pk)
    waiting = Document.objects.filter(
        inspection=inspection,
        status=Document.Status.PENDING,
        doc_type__in=(DocType.INSPECTION_RECORD, DocType.RECTIFICATION_ORDER),
    ).exists()
    if inspection.status == Inspection.Status.SUBMITTED and not waiting:
        do_accept_inspection(actor=actor, inspection=inspection)


@transaction.atomic
def do_approve_document(*, actor, document):
    """Sign off: the next number of the bureau's series, the final DOCX stored with its SHA-256,
    the document frozen; a correction supersedes the document it corrects. The PDF follows as a
    background job once this commits. Any failure leaves no number taken."""
    document = locked_document(document)
    require_bureau_role(actor, document.bureau, Role.BUREAU_REVIEWER)
    _require_pending(document)
    if document.doc_type == DocType.REINSPECTION_OPINION:
        _cite_signed_order(document)
    now = timezone.now()
    year = timezone.localdate(now).year
    document.year = year
    document.sequence = _next_sequence(
        bureau=document.bureau, doc_type=document.doc_type, year=year
    )
    document.number = format_number(
        bureau=document.bureau, doc_type=document.doc_type, year=year, sequence=document.sequence
    )
    document.approved_by = document.reviewed_by = actor
    document.approved_at = document.reviewed_at = now
    document.docx_key, document.sha256_docx = _store_signed_docx(document)
    document.status = Document.Status.APPROVED
    document.save()
    signed_on = [timezone.localdate(now)]
    if document.supersedes_id:
        superseded = Document.objects.select_for_update().get(pk=document.supersedes_id)
        superseded.status = Document.Status.SUPERSEDED
        superseded.save(update_fields=["status"])
        signed_on.append(timezone.localdate(superseded.approved_at))
    # The statistics count documents by the day they were signed.
    hooks.days_changed.fire(bureau_id=document.bureau_id, days=signed_on)
    record_audit_event(
        actor=actor,
        action="document.approved",
        target=document,
        bureau=document.bureau,
        detail={
            "number": document.number,
            "sha256_docx": document.sha256_docx,
            "supersedes": str(document.supersedes_id or ""),
        },
    )
    _accept_when_signed(actor, document.inspection)
    document_id = str(document.pk)
    transaction.on_commit(lambda: convert_document_pdf.enqueue(document_id))
    return document


def _reject_siblings(actor, document, reason):
    for sibling in Document.objects.select_for_update().filter(
        inspection=document.inspection_id,
        status=Document.Status.PENDING,
        doc_type__in=(DocType.INSPECTION_RECORD, DocType.RECTIFICATION_ORDER),
    ):
        _mark_rejected(actor, sibling, reason)


def _mark_rejected(actor, document, reason):
    document.status = Document.Status.REJECTED
    document.review_reason = reason
    document.reviewed_by = actor
    document.reviewed_at = timezone.now()
    document.save(update_fields=["status", "review_reason", "reviewed_by", "reviewed_at"])
    record_audit_event(
        actor=actor,
        action="document.rejected",
        target=document,
        bureau=document.bureau,
        detail={"reason": reason},
    )


def _reinspect_again(document):
    """A returned opinion: its hazards await re-inspection again."""
    hazards = Hazard.objects.filter(pk__in=document.hazards.values("pk"))
    hazards.update(
        status=Hazard.Status.RECTIFIED,
        verified_at=None,
        verified_by=None,
        updated_at=timezone.now(),
    )
    hooks.hazards_changed.fire(hazards=hazards)


@transaction.atomic
def do_reject_document(*, actor, document, reason):
    """Return a draft with the reviewer's reason. A returned record or order sends the
    inspection back to its agency (and the other draft with it); a returned opinion puts its
    hazards back in the re-inspection queue."""
    document = locked_document(document)
    require_bureau_role(actor, document.bureau, Role.BUREAU_REVIEWER)
    _require_pending(document)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写退回原因。")})
    if document.doc_type == DocType.REINSPECTION_OPINION:
        _mark_rejected(actor, document, reason)
        _reinspect_again(document)
        return document
    _reject_siblings(actor, document, reason)
    if document.inspection.status == Inspection.Status.SUBMITTED:
        do_return_inspection(actor=actor, inspection=document.inspection, reason=reason)
    document.refresh_from_db()
    return document
