"""Inspections that reach the documents: drafted on submit, signed by the reviewer."""

from datetime import timedelta

from django.utils import timezone

from contractors.checklists.services import do_install_default_checklist
from contractors.evidence.models import Evidence
from contractors.hazards.models import HazardCategory, HazardLevel
from contractors.hazards.services import do_record_hazard, do_rectify_hazard
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.inspections.services import (
    do_answer_item,
    do_start_inspection,
    do_submit_inspection,
)
from documents.models import DocType
from documents.review.services import do_approve_document
from tests.contractors.inspections.test_inspections import add_evidence

HAZARDS = [
    (HazardCategory.FIRE, HazardLevel.MAJOR, '仓库消防通道被货物堵塞 <A&B> "急"', "1号仓库"),
    (HazardCategory.PRODUCTION, HazardLevel.GENERAL, "配电箱未张贴警示标志", "生产车间"),
    (HazardCategory.SPECIAL_EQUIPMENT, HazardLevel.GENERAL, "叉车未定期检验", "装卸区"),
]


def draft_inspection(cast, *, firm=None, inspector=None, hazards=2):
    """A draft inspection of firm A (or `firm`) with every item answered and `hazards` hazards
    from HAZARDS (cycled), the first of them major."""
    inspector = inspector or cast.inspector_a1
    if not inspector.certificate_number:
        for number, user in enumerate((cast.inspector_a1, cast.inspector_a2), start=1):
            user.certificate_number = f"3107000{number}"
            user.save(update_fields=["certificate_number"])
    do_install_default_checklist(actor=None, bureau=cast.bureau)
    inspection = do_start_inspection(
        actor=inspector,
        firm=firm or cast.firm_a,
        kind=Inspection.Kind.ROUTINE,
        inspected_on=timezone.localdate(),
        inspectors=[cast.inspector_a1, cast.inspector_a2],
        firm_representative="张安全",
        firm_representative_post="安全主管",
        firm_representative_phone="13800000000",
        place="一号车间",
    )
    for item in inspection.checklist.items.all():
        do_answer_item(
            actor=inspector, inspection=inspection, item=item, answer=ChecklistAnswer.Answer.PASS
        )
    for index in range(hazards):
        category, level, description, location = HAZARDS[index % len(HAZARDS)]
        do_record_hazard(
            actor=inspector,
            inspection=inspection,
            category=category,
            level=level,
            description=f"{description}（{index + 1}）" if index >= len(HAZARDS) else description,
            location=location,
            legal_basis="《中华人民共和国安全生产法》第四十一条",
            requirement="立即整改",
            deadline=timezone.localdate() + timedelta(days=7 * (index % 2 + 1)),
        )
    return inspection


def submitted_inspection(cast, **options):
    """A submitted inspection and its drafted documents by type."""
    inspection = draft_inspection(cast, **options)
    inspection = do_submit_inspection(
        actor=options.get("inspector") or cast.inspector_a1, inspection=inspection
    )
    return inspection, {document.doc_type: document for document in inspection.drafted_documents}


def signed_order(cast, **options):
    """A submitted inspection whose record and order the reviewer has signed; the order."""
    inspection, drafted = submitted_inspection(cast, **options)
    do_approve_document(actor=cast.reviewer, document=drafted[DocType.INSPECTION_RECORD])
    return do_approve_document(actor=cast.reviewer, document=drafted[DocType.RECTIFICATION_ORDER])


def rectify(cast, hazard):
    """Firm A reports `hazard` rectified, with its evidence."""
    evidence = add_evidence(
        hazard.inspection,
        hazard=hazard,
        purpose=Evidence.Purpose.RECTIFICATION,
        uploader=cast.firm_user_a,
    )
    return do_rectify_hazard(
        actor=cast.firm_user_a, hazard=hazard, note="已整改", evidence=[evidence]
    )
