"""Every write of the documents app: templates, review (approve / reject), numbering, the
signed files in object storage, PDF conversion, delivery and acknowledgement."""

import hashlib
import logging

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors import hooks
from contractors.hazards.models import Hazard
from contractors.inspections.models import Inspection
from contractors.inspections.services import do_accept_inspection, do_return_inspection
from documents.drafting import chinese_date, default_template_path, template_content
from documents.models import (
    NUMBER_PREFIXES,
    DocType,
    Document,
    DocumentCounter,
    DocumentSettings,
    DocumentTemplate,
)
from documents.pdf import ConversionFailed, convert_to_pdf, pdf_available
from documents.rendering import check_template, render_docx
from documents.samples import sample_contexts
from documents.tasks import convert_document_pdf
from portal.access import membership_of
from portal.models import Role
from portal.services import record_audit_event
from portal.storage import evidence_store
from portal.validation import InvalidTransition

logger = logging.getLogger(__name__)

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"
STORAGE_ERRORS = (BotoCoreError, ClientError, OSError)


class StorageUnavailable(Exception):
    """Object storage refused or failed a write; nothing was committed (the API answers 503)."""


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _bureau_role(actor, bureau, role):
    membership = membership_of(actor)
    if membership is None or membership.role != role or membership.bureau_id != bureau.pk:
        raise PermissionDenied
    return membership


# --- Templates ------------------------------------------------------------------------------------


def _add_template_version(*, actor, bureau, doc_type, filename, content):
    latest = (
        DocumentTemplate.objects.select_for_update()
        .filter(bureau=bureau, doc_type=doc_type)
        .order_by("-version")
        .first()
    )
    DocumentTemplate.objects.filter(bureau=bureau, doc_type=doc_type, is_current=True).update(
        is_current=False
    )
    template = DocumentTemplate.objects.create(
        bureau=bureau,
        doc_type=doc_type,
        version=(latest.version + 1) if latest else 1,
        is_current=True,
        filename=filename,
        content=content,
        sha256=_sha256(content),
        uploaded_by=actor,
    )
    record_audit_event(
        actor=actor,
        action="document_template.added",
        target=template,
        bureau=bureau,
        detail={"doc_type": doc_type, "version": template.version, "sha256": template.sha256},
    )
    return template


@transaction.atomic
def do_install_default_templates(*, actor, bureau):
    """Version 1 of each shipped template for a bureau that has none of that type yet."""
    installed = []
    for doc_type in DocType.values:
        if DocumentTemplate.objects.filter(bureau=bureau, doc_type=doc_type).exists():
            continue
        path = default_template_path(doc_type)
        installed.append(
            _add_template_version(
                actor=actor,
                bureau=bureau,
                doc_type=doc_type,
                filename=path.name,
                content=path.read_bytes(),
            )
        )
    return installed


@transaction.atomic
def do_upload_template(*, actor, bureau, doc_type, filename, content):
    """A new current version of the bureau's `doc_type` template, accepted only when it
    renders the sample contexts; ValidationError lists each undefined name or syntax error."""
    _bureau_role(actor, bureau, Role.BUREAU_ADMIN)
    if doc_type not in DocType.values:
        raise ValidationError({"doc_type": _("请选择文书类型。")})
    if not filename.lower().endswith(".docx"):
        raise ValidationError({"file": _("请上传 .docx 格式的 Word 文件。")})
    if len(content) > settings.DOCUMENT_TEMPLATE_MAX_BYTES:
        raise ValidationError({"file": _("模板文件过大。")})
    problems = check_template(content, sample_contexts(doc_type))
    if problems:
        raise ValidationError(
            {"file": [_("模板无法使用：%(problem)s") % {"problem": p} for p in problems]}
        )
    return _add_template_version(
        actor=actor, bureau=bureau, doc_type=doc_type, filename=filename, content=content
    )


# --- Review ---------------------------------------------------------------------------------------


def _locked(document):
    return (
        Document.objects.select_for_update(of=("self",))
        .select_related("bureau", "inspection", "order")
        .get(pk=document.pk)
    )


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


def final_context(document):
    """The stored context with what approval adds: number, date and approver."""
    approver = document.approved_by
    return {
        **document.context,
        "document": {
            **document.context["document"],
            "number": document.number,
            "date": chinese_date(timezone.localdate(document.approved_at)),
            "approver": (approver.full_name or approver.username) if approver else "",
        },
    }


def document_photos(document):
    """The thumbnails a document's context names, read from object storage."""
    keys = {
        photo["key"]
        for hazard in document.context.get("hazards", [])
        for photo in hazard.get("photos", [])
    }
    store = evidence_store()
    photos = {}
    for key in sorted(keys):
        # A thumbnail purged from storage leaves its photo out rather than the document.
        if store.size_of(key) is None:
            logger.warning("thumbnail %s named by a document is missing", key)
            continue
        photos[key] = b"".join(store.chunks(key))
    return photos


def render_document(document):
    """DOCX bytes of `document` as it reads now: final once approved, else the draft."""
    context = final_context(document) if document.number else document.context
    return render_docx(
        template_content(document.template_id), context, photos=document_photos(document)
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
    return key, _sha256(docx)


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
    document = _locked(document)
    _bureau_role(actor, document.bureau, Role.BUREAU_REVIEWER)
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
    document = _locked(document)
    _bureau_role(actor, document.bureau, Role.BUREAU_REVIEWER)
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


# --- PDF ------------------------------------------------------------------------------------------


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
        document.pdf_key, document.sha256_pdf = key, _sha256(pdf)
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


def do_retry_pdf_conversions(*, limit=100):
    """Convert the signed documents still without a PDF (fewer than PDF_MAX_ATTEMPTS tries);
    the number converted."""
    waiting = Document.objects.filter(
        status__in=(Document.Status.APPROVED, Document.Status.SUPERSEDED),
        pdf_key="",
        pdf_attempts__lt=settings.PDF_MAX_ATTEMPTS,
    ).order_by("approved_at")[:limit]
    return sum(bool(do_convert_document_pdf(document=document).pdf_key) for document in waiting)


# --- Delivery -------------------------------------------------------------------------------------


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
    document = _locked(document)
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


# --- Settings -------------------------------------------------------------------------------------

SETTINGS_FIELDS = (
    "review_government",
    "review_department",
    "court",
    "inspection_record_format",
    "rectification_order_format",
    "reinspection_opinion_format",
)


def _format_errors(pattern):
    try:
        sample = pattern.format(bureau="普", prefix="应急责改", year=2021, sequence=12)
    except (KeyError, IndexError, ValueError):
        return [_("文号格式只能使用 {bureau}、{prefix}、{year}、{sequence} 四个占位符。")]
    if "{year}" not in pattern or "{sequence}" not in pattern:
        return [_("文号格式必须包含 {year} 和 {sequence}。")]
    if len(sample) > 60:
        return [_("文号格式过长。")]
    return []


@transaction.atomic
def do_update_document_settings(*, actor, bureau, **fields):
    """The bureau's appeal bodies, court and number formats; each format is checked by
    formatting a sample number."""
    _bureau_role(actor, bureau, Role.BUREAU_ADMIN)
    document_settings, _created = DocumentSettings.objects.select_for_update().get_or_create(
        bureau=bureau
    )
    errors = {}
    for name, value in fields.items():
        if name not in SETTINGS_FIELDS:
            raise TypeError(f"unknown document setting {name}")
        value = (value or "").strip()
        if name.endswith("_format"):
            if found := _format_errors(value):
                errors[name] = found
        setattr(document_settings, name, value)
    if errors:
        raise ValidationError(errors)
    document_settings.save()
    record_audit_event(
        actor=actor,
        action="document_settings.updated",
        target=document_settings,
        bureau=bureau,
        detail={name: getattr(document_settings, name) for name in fields},
    )
    return document_settings
