"""Drafting: the contexts of the three documents, built from an inspection and its hazards,
and the pending documents the submit and re-inspect services create from them.

Contexts hold plain text only (JSON), formatted the way the forms print it, so a re-render of a
stored context with its template version gives the same text."""

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard, HazardLevel
from contractors.inspections.models import ChecklistAnswer
from documents.models import (
    DocType,
    Document,
    DocumentSettings,
    DocumentTemplate,
)
from documents.rendering import render_docx
from portal.access import membership_of
from portal.services import record_audit_event

DEFAULT_TEMPLATE_DIR = Path(settings.BASE_DIR) / "templates" / "docx"


# --- Formatting as the forms print it -------------------------------------------------------------


def chinese_date(day):
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def chinese_time(day, time):
    if not (day and time):
        return ""
    return f"{chinese_date(day)}{time.hour}时{time.minute:02d}分"


def _numbers(values):
    return "、".join(str(value) for value in values)


# --- Templates ------------------------------------------------------------------------------------


def default_template_path(doc_type):
    return DEFAULT_TEMPLATE_DIR / f"{doc_type}.docx"


@lru_cache(maxsize=32)
def template_content(template_id):
    """The .docx bytes of a template version: versions never change, so they are read once."""
    return bytes(DocumentTemplate.objects.values_list("content", flat=True).get(pk=template_id))


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
        from documents.services import do_install_default_templates

        do_install_default_templates(actor=None, bureau=bureau)
        template = DocumentTemplate.objects.defer("content").get(
            bureau=bureau, doc_type=doc_type, is_current=True
        )
    return template


# --- Contexts -------------------------------------------------------------------------------------


def _bureau_part(bureau):
    document_settings = DocumentSettings.objects.filter(bureau=bureau).first()
    return {
        "name": bureau.name,
        "short_name": bureau.short_name,
        "review_government": getattr(document_settings, "review_government", ""),
        "review_department": getattr(document_settings, "review_department", ""),
        "court": getattr(document_settings, "court", ""),
    }


def _firm_part(firm):
    return {
        "name": firm.name,
        "uscc": firm.uscc,
        "address": firm.address,
        "legal_representative": firm.legal_representative,
        "phone": firm.phone,
        "street": firm.street.name if firm.street_id else "",
    }


def _inspectors_part(inspection):
    return [
        {"name": user.full_name or user.username, "certificate": user.certificate_number}
        for user in inspection.inspectors.order_by("full_name", "username")
    ]


def _inspection_part(inspection):
    day = inspection.inspected_on
    return {
        "kind": inspection.get_kind_display(),
        "campaign": inspection.campaign,
        "date": chinese_date(day),
        "time_from": chinese_time(day, inspection.time_from),
        "time_to": chinese_time(day, inspection.time_to),
        "place": inspection.place,
        "representative": inspection.firm_representative,
        "representative_post": inspection.firm_representative_post,
        "representative_phone": inspection.firm_representative_phone,
    }


def _common_part(inspection, doc_type):
    return {
        "bureau": _bureau_part(inspection.bureau),
        "document": {
            "title": str(DocType(doc_type).label),
            "number": "",
            "date": "",
            "approver": "",
        },
        "firm": _firm_part(inspection.firm),
        "agency": {"name": inspection.agency.name},
        "inspectors": _inspectors_part(inspection),
    }


def _photos_of(hazards):
    """Each hazard's confirmed photos with a thumbnail, by hazard id, oldest first."""
    photos = {}
    for evidence in (
        Evidence.objects.filter(
            hazard__in=hazards,
            status=Evidence.Status.CONFIRMED,
            purpose__in=(Evidence.Purpose.FINDING, Evidence.Purpose.ON_SPOT),
        )
        .exclude(thumbnail_key="")
        .order_by("created_at")
    ):
        photos.setdefault(evidence.hazard_id, []).append(
            {
                "key": evidence.thumbnail_key,
                "taken_at": timezone.localtime(evidence.taken_at).strftime("%Y-%m-%d %H:%M")
                if evidence.taken_at
                else "",
            }
        )
    return photos


def _hazard_part(number, hazard, photos):
    return {
        "no": number,
        "category": hazard.get_category_display(),
        "level": hazard.get_level_display(),
        "is_major": hazard.level == HazardLevel.MAJOR,
        "description": hazard.description,
        "location": hazard.location,
        "legal_basis": hazard.legal_basis,
        "requirement": hazard.requirement,
        "deadline": chinese_date(hazard.deadline),
        "rectified_on_spot": hazard.rectified_on_spot,
        "photos": photos.get(hazard.pk, []),
    }


def _ordered_hazards(inspection):
    return list(inspection.hazards.order_by("created_at", "pk"))


def inspection_record_context(inspection):
    hazards = _ordered_hazards(inspection)
    photos = _photos_of(hazards)
    answers = list(
        ChecklistAnswer.objects.filter(inspection=inspection)
        .select_related("item")
        .order_by("item__position")
    )
    return {
        **_common_part(inspection, DocType.INSPECTION_RECORD),
        "inspection": _inspection_part(inspection),
        "findings": [
            {
                "no": number,
                "category": answer.item.get_category_display(),
                "text": answer.item.text,
                "result": answer.get_answer_display(),
                "note": answer.note,
            }
            for number, answer in enumerate(answers, start=1)
        ],
        "hazards": [
            _hazard_part(number, hazard, photos) for number, hazard in enumerate(hazards, start=1)
        ],
        "summary": {
            "checked": len(answers),
            "passed": sum(a.answer == ChecklistAnswer.Answer.PASS for a in answers),
            "hazards": len(hazards),
            "major": sum(h.level == HazardLevel.MAJOR for h in hazards),
        },
    }


def order_hazards(inspection):
    """The hazards an order names: all but the general ones rectified on the spot."""
    return [hazard for hazard in _ordered_hazards(inspection) if not hazard.rectified_on_spot]


def rectification_order_context(inspection, hazards):
    items = [_hazard_part(number, hazard, {}) for number, hazard in enumerate(hazards, start=1)]
    by_deadline = {}
    for item, hazard in zip(items, hazards, strict=True):
        by_deadline.setdefault(hazard.deadline, []).append(item["no"])
    return {
        **_common_part(inspection, DocType.RECTIFICATION_ORDER),
        "inspection": _inspection_part(inspection),
        "hazards": items,
        "major_numbers": _numbers(item["no"] for item in items if item["is_major"]),
        "deadline_groups": [
            {"numbers": _numbers(numbers), "deadline": chinese_date(deadline)}
            for deadline, numbers in sorted(by_deadline.items())
        ],
    }


def reinspection_opinion_context(order, hazards, *, reinspected_on, inspector, agency):
    """The opinion of `agency`'s `inspector` on the re-inspected `hazards` of `order`, each
    numbered as in the order."""
    numbers = {item["hazard_id"]: item["no"] for item in order.context.get("hazard_numbers", [])}
    inspection = order.inspection
    rectified, not_rectified = [], []
    for hazard in hazards:
        entry = {
            "no": numbers.get(str(hazard.pk), ""),
            "description": hazard.description,
            "note": hazard.reinspection_note,
        }
        if hazard.status == Hazard.Status.VERIFIED:
            rectified.append(entry)
        else:
            not_rectified.append({**entry, "new_deadline": chinese_date(hazard.deadline)})
    return {
        **_common_part(inspection, DocType.REINSPECTION_OPINION),
        "agency": {"name": agency.name},
        "inspectors": [
            {
                "name": inspector.full_name or inspector.username,
                "certificate": inspector.certificate_number,
            }
        ],
        "order": {
            "number": order.number,
            "date": chinese_date(order.approved_at and timezone.localdate(order.approved_at)),
            "decision": "责令限期整改",
        },
        "reinspection": {"date": chinese_date(reinspected_on)},
        "rectified": sorted(rectified, key=lambda entry: str(entry["no"]).zfill(4)),
        "not_rectified": sorted(not_rectified, key=lambda entry: str(entry["no"]).zfill(4)),
    }


# --- Drafts ---------------------------------------------------------------------------------------


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
        hazards=_ordered_hazards(inspection),
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
