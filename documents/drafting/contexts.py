"""The contexts of the three documents, built from an inspection and its hazards.

Contexts hold plain text only (JSON), formatted the way the forms print it, so a re-render of a
stored context with its template version gives the same text."""

from django.utils import timezone

from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard, HazardLevel
from contractors.inspections.models import ChecklistAnswer
from documents.models import DocType, DocumentSettings


def chinese_date(day):
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def chinese_time(day, time):
    if not (day and time):
        return ""
    return f"{chinese_date(day)}{time.hour}时{time.minute:02d}分"


def _numbers(values):
    return "、".join(str(value) for value in values)


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


def ordered_hazards(inspection):
    return list(inspection.hazards.order_by("created_at", "pk"))


def inspection_record_context(inspection):
    hazards = ordered_hazards(inspection)
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
    return [hazard for hazard in ordered_hazards(inspection) if not hazard.rectified_on_spot]


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
