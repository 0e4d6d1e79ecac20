"""Drafting: the pending documents the submit and re-inspect services create (through the hooks
of `contractors/hooks.py`), the bureau's template versions and its document settings."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors.hazards.models import Hazard
from documents.drafting.contexts import (
    inspection_record_context,
    order_hazards,
    ordered_hazards,
    rectification_order_context,
    reinspection_opinion_context,
)
from documents.drafting.rendering import check_template, render_docx, template_content
from documents.drafting.samples import sample_contexts
from documents.models import DocType, Document, DocumentSettings, DocumentTemplate
from documents.rules import require_bureau_role, sha256
from portal.access import membership_of
from portal.models import Role
from portal.services import record_audit_event

DEFAULT_TEMPLATE_DIR = Path(settings.BASE_DIR) / "templates" / "docx"


def default_template_path(doc_type):
    return DEFAULT_TEMPLATE_DIR / f"{doc_type}.docx"


def current_template(*, bureau, doc_type):
    """The bureau's current template version of `doc_type` (its bytes through
    `template_content`); a bureau without one gets the shipped default as version 1 (as the
    checklist, it is bureau data from then on)."""
    template = (
        DocumentTemplate.objects.defer("content")
        .filter(bureau=bureau, doc_type=doc_type, is_current=True)
        .first()
    )
    if template is None:
        do_install_default_templates(actor=None, bureau=bureau)
        template = DocumentTemplate.objects.defer("content").get(
            bureau=bureau, doc_type=doc_type, is_current=True
        )
    return template


def _next_version(inspection, doc_type):
    latest = Document.objects.filter(inspection=inspection, doc_type=doc_type).aggregate(
        Max("version")
    )["version__max"]
    return (latest or 0) + 1


def _draft(
    *, actor, inspection, doc_type, context, hazards, order=None, supersedes=None, agency=None
):
    template = current_template(bureau=inspection.bureau, doc_type=doc_type)
    # Rendering now refuses a context the template cannot take before anyone reviews it.
    render_docx(template_content(template.pk), context)
    document = Document.objects.create(
        bureau=inspection.bureau,
        doc_type=doc_type,
        inspection=inspection,
        firm=inspection.firm,
        agency=agency or inspection.agency,
        order=order,
        version=_next_version(inspection, doc_type),
        template=template,
        context=context,
        drafted_by=actor,
        supersedes=supersedes,
    )
    Document.hazards.through.objects.bulk_create(
        Document.hazards.through(document=document, hazard=hazard) for hazard in hazards
    )
    record_audit_event(
        actor=actor,
        action="document.drafted",
        target=document,
        bureau=inspection.bureau,
        detail={
            "doc_type": doc_type,
            "version": document.version,
            "inspection": str(inspection.pk),
        },
    )
    return document


def _signed(inspection, doc_type):
    return (
        Document.objects.filter(
            inspection=inspection, doc_type=doc_type, status=Document.Status.APPROVED
        )
        .order_by("-version")
        .first()
    )


def _redraft(*, actor, inspection, doc_type, context, hazards, order=None):
    """A new pending version of `doc_type` unless the signed one already says the same; a new
    version of a signed document is its correction and supersedes it once approved."""
    signed = _signed(inspection, doc_type)
    if signed is not None and signed.context == context:
        return None
    return _draft(
        actor=actor,
        inspection=inspection,
        doc_type=doc_type,
        context=context,
        hazards=hazards,
        order=order,
        supersedes=signed,
    )


def draft_inspection_record(*, actor, inspection):
    return _redraft(
        actor=actor,
        inspection=inspection,
        doc_type=DocType.INSPECTION_RECORD,
        context=inspection_record_context(inspection),
        hazards=ordered_hazards(inspection),
    )


def draft_rectification_order(*, actor, inspection):
    """The order naming the hazards that remain to be rectified; None when none remain."""
    to_rectify = order_hazards(inspection)
    if not to_rectify:
        return None
    context = rectification_order_context(inspection, to_rectify)
    context["hazard_numbers"] = [
        {"hazard_id": str(hazard.pk), "no": number}
        for number, hazard in enumerate(to_rectify, start=1)
    ]
    return _redraft(
        actor=actor,
        inspection=inspection,
        doc_type=DocType.RECTIFICATION_ORDER,
        context=context,
        hazards=to_rectify,
    )


def draft_inspection_documents(*, actor, inspection):
    """On submit: the inspection record, and the rectification order when hazards remain to be
    rectified. Returns the documents drafted (none for a document already signed unchanged)."""
    drafted = [
        draft_inspection_record(actor=actor, inspection=inspection),
        draft_rectification_order(actor=actor, inspection=inspection),
    ]
    return [document for document in drafted if document is not None]


def order_of(hazard):
    """The rectification order naming `hazard`: the signed one, else the latest draft."""
    orders = Document.objects.filter(
        doc_type=DocType.RECTIFICATION_ORDER,
        hazards=hazard,
        status__in=(Document.Status.APPROVED, Document.Status.PENDING),
    )
    return (
        orders.filter(status=Document.Status.APPROVED).order_by("-version").first()
        or orders.order_by("-version").first()
    )


def draft_reinspection_opinion(*, actor, hazard):
    """After a re-inspection: the opinion on the order naming `hazard`. A pending opinion on the
    same order is still a draft, so it is redrafted to take this hazard in too."""
    order = order_of(hazard)
    if order is None:
        return None
    agency = membership_of(actor).agency
    pending = (
        Document.objects.select_for_update()
        .filter(
            order=order,
            doc_type=DocType.REINSPECTION_OPINION,
            status=Document.Status.PENDING,
            agency=agency,
        )
        .first()
    )
    hazard_ids = {hazard.pk, *(pending.hazards.values_list("pk", flat=True) if pending else ())}
    hazards = list(Hazard.objects.filter(pk__in=hazard_ids).order_by("created_at", "pk"))
    context = reinspection_opinion_context(
        order, hazards, reinspected_on=timezone.localdate(), inspector=actor, agency=agency
    )
    if pending is not None:
        # Every inspector who re-inspected one of its hazards signs the opinion.
        earlier = [i for i in pending.context["inspectors"] if i not in context["inspectors"]]
        context["inspectors"] = earlier + context["inspectors"]
    if pending is None:
        # The opinion is the re-inspecting agency's work, which may not be the one that
        # inspected first: the firm may have moved since.
        return _draft(
            actor=actor,
            inspection=order.inspection,
            doc_type=DocType.REINSPECTION_OPINION,
            context=context,
            hazards=hazards,
            order=order,
            agency=agency,
        )
    render_docx(template_content(pending.template_id), context)
    pending.context = context
    pending.save(update_fields=["context"])
    pending.hazards.set(hazards)
    record_audit_event(
        actor=actor,
        action="document.redrafted",
        target=pending,
        bureau=pending.bureau,
        detail={"hazard": str(hazard.pk)},
    )
    return pending


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
        sha256=sha256(content),
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
    require_bureau_role(actor, bureau, Role.BUREAU_ADMIN)
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
    require_bureau_role(actor, bureau, Role.BUREAU_ADMIN)
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
