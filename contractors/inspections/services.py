"""Every write of inspections (start, answer the checklist, submit, accept or return):
`do_<verb>(*, actor, ...)`, atomic and audited."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors import hooks
from contractors.checklists.models import ChecklistItem
from contractors.checklists.selectors import current_checklist
from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard, HazardLevel
from contractors.hazards.services import DEFAULT_RECTIFICATION_DAYS, hazard_detail
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.inspections.rules import (
    bureau_today,
    locked_inspection,
    not_held_refusal,
    note_inspection_changed,
    require_editable,
    require_holding_agency,
    require_reviewer,
)
from contractors.tenancy.models import Assignment
from portal.models import AGENCY_ROLES, User
from portal.services import record_audit_event
from portal.validation import (
    InvalidTransition,
    add_error,
    check_choice,
    full_clean_into,
    require_known_fields,
)

MIN_INSPECTORS = 2


COORDINATE_STEP = Decimal("0.000001")


INSPECTION_FIELDS = (
    "kind",
    "campaign",
    "inspected_on",
    "time_from",
    "time_to",
    "inspectors",
    "firm_representative",
    "firm_representative_post",
    "firm_representative_phone",
    "place",
    "latitude",
    "longitude",
)


# Checked by the services themselves; full_clean() would query them again.
INSPECTION_RELATIONS = ("bureau", "firm", "agency", "contract", "checklist", "created_by")


def _coordinate(errors, field, value, limit):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(COORDINATE_STEP, rounding=ROUND_HALF_UP)
        within = -limit <= number <= limit
    except ArithmeticError:
        add_error(errors, field, _("坐标格式不正确。"))
        return None
    if not within:
        add_error(errors, field, _("坐标超出范围。"))
    return number


def _agency_inspectors(errors, inspectors, agency_id):
    """The users among `inspectors` (users or their ids), all staff of the agency."""
    wanted = {getattr(inspector, "pk", inspector) for inspector in inspectors}
    try:
        staff = list(
            User.objects.filter(
                pk__in=wanted,
                membership__agency_id=agency_id,
                membership__role__in=AGENCY_ROLES,
            )
        )
    except ValidationError:
        staff = []
    if len(staff) != len(wanted):
        add_error(errors, "inspectors", _("检查人员必须是本机构的检查员或负责人。"))
    elif len(staff) < MIN_INSPECTORS:
        add_error(errors, "inspectors", _("检查人员不得少于两人。"))
    return staff


def _validate_inspection(inspection, inspectors):
    """Raise a ValidationError naming every bad field of `inspection`; the inspectors as users."""
    errors = {}
    check_choice(errors, "kind", inspection.kind, Inspection.Kind, _("检查类型"))
    if not (inspection.firm_representative or "").strip():
        add_error(errors, "firm_representative", _("请填写企业在场人员姓名。"))
    inspection.latitude = _coordinate(errors, "latitude", inspection.latitude, 90)
    inspection.longitude = _coordinate(errors, "longitude", inspection.longitude, 180)
    staff = _agency_inspectors(errors, inspectors, inspection.agency_id)
    full_clean_into(errors, inspection, INSPECTION_RELATIONS)
    if "inspected_on" not in errors and inspection.inspected_on > bureau_today():
        add_error(errors, "inspected_on", _("检查日期不能晚于今天。"))
    times = (inspection.time_from, inspection.time_to)
    if not {"time_from", "time_to"} & errors.keys() and None not in times and times[1] < times[0]:
        add_error(errors, "time_to", _("检查结束时间不能早于开始时间。"))
    if inspection.kind == Inspection.Kind.CAMPAIGN and not (inspection.campaign or "").strip():
        add_error(errors, "campaign", _("专项检查请填写专项整治名称。"))
    if errors:
        raise ValidationError(errors)
    return staff


@transaction.atomic
def do_start_inspection(
    *,
    actor,
    firm,
    kind,
    inspected_on,
    inspectors,
    firm_representative,
    firm_representative_post="",
    firm_representative_phone="",
    place="",
    latitude=None,
    longitude=None,
    time_from=None,
    time_to=None,
    campaign="",
):
    """A draft inspection of `firm` by the actor's agency, which must hold the firm now, on the
    bureau's current checklist version (recorded, so later versions leave it unchanged)."""
    membership = require_holding_agency(actor, firm)
    assignment = (
        Assignment.objects.select_related("contract")
        .filter(firm=firm, ended_at__isnull=True, contract__agency_id=membership.agency_id)
        .first()
    )
    if assignment is None:
        raise not_held_refusal()
    checklist = current_checklist(firm.bureau_id)
    if checklist is None:
        raise ValidationError(_("本局尚未启用检查表，请联系管理局管理员。"))
    inspection = Inspection(
        bureau_id=firm.bureau_id,
        firm=firm,
        agency_id=membership.agency_id,
        contract=assignment.contract,
        checklist=checklist,
        kind=kind,
        campaign=campaign,
        inspected_on=inspected_on,
        time_from=time_from,
        time_to=time_to,
        firm_representative=firm_representative,
        firm_representative_post=firm_representative_post,
        firm_representative_phone=firm_representative_phone,
        place=place,
        latitude=latitude,
        longitude=longitude,
        created_by=actor,
    )
    staff = _validate_inspection(inspection, inspectors)
    inspection.save()
    inspection.inspectors.set(staff)
    record_audit_event(
        actor=actor,
        action="inspection.started",
        target=inspection,
        bureau=inspection.bureau,
        detail={
            "firm": str(firm.pk),
            "checklist": str(checklist.pk),
            "checklist_version": checklist.version,
            "inspectors": sorted(str(user.pk) for user in staff),
        },
    )
    return inspection


@transaction.atomic
def do_update_inspection(*, actor, inspection, **fields):
    """Change the given fields of a draft or returned inspection (same checks as starting)."""
    require_known_fields(fields, INSPECTION_FIELDS, "an inspection")
    inspection = locked_inspection(inspection)
    require_holding_agency(actor, inspection.firm, inspection.agency)
    require_editable(inspection)
    changed = sorted(fields)
    inspectors = fields.pop("inspectors", None)
    if inspectors is None:
        inspectors = list(inspection.inspectors.all())
    for name, value in fields.items():
        setattr(inspection, name, value)
    staff = _validate_inspection(inspection, inspectors)
    note_inspection_changed(inspection)  # the day it had
    inspection.save()
    note_inspection_changed(inspection)  # the day it has
    inspection.inspectors.set(staff)
    record_audit_event(
        actor=actor,
        action="inspection.updated",
        target=inspection,
        bureau=inspection.bureau,
        detail={"fields": changed},
    )
    return inspection


def _prefilled_hazard(inspection, item):
    return Hazard(
        inspection=inspection,
        firm_id=inspection.firm_id,
        item=item,
        category=item.category,
        level=HazardLevel.GENERAL,
        description=item.text,
        legal_basis=item.legal_basis,
        requirement=item.requirement,
        deadline=inspection.inspected_on + timedelta(days=DEFAULT_RECTIFICATION_DAYS),
    )


def _remove_item_hazards(actor, inspection, item):
    """The item no longer finds a hazard: drop the hazards recorded for it, unless evidence
    has been attached to them, which must not be thrown away silently."""
    hazards = list(Hazard.objects.filter(inspection=inspection, item=item))
    if Evidence.objects.filter(hazard__in=hazards).exists():
        raise ValidationError(
            {"answer": _("该项登记的隐患已附有照片或材料，不能改为无隐患；请先修改隐患。")}
        )
    Hazard.objects.filter(pk__in=[hazard.pk for hazard in hazards]).delete()
    note_inspection_changed(inspection)
    for hazard in hazards:
        record_audit_event(
            actor=actor,
            action="hazard.removed",
            target=hazard,
            bureau=inspection.bureau,
            detail=hazard_detail(hazard),
        )


@transaction.atomic
def do_answer_item(*, actor, inspection, item, answer, note=""):
    """Record the answer to one checklist item; (the answer, the item's hazard or None).

    "hazard" records a general hazard pre-filled from the item the first time; answering
    otherwise removes the item's hazards again."""
    inspection = locked_inspection(inspection)
    require_holding_agency(actor, inspection.firm, inspection.agency)
    require_editable(inspection)
    errors = {}
    if item.checklist_id != inspection.checklist_id:
        add_error(errors, "item", _("该检查项不属于本次检查使用的检查表。"))
    check_choice(errors, "answer", answer, ChecklistAnswer.Answer, _("检查结果"))
    if len(note or "") > ChecklistAnswer._meta.get_field("note").max_length:
        add_error(errors, "note", _("说明过长，请精简。"))
    if errors:
        raise ValidationError(errors)
    hazard = None
    if answer == ChecklistAnswer.Answer.HAZARD:
        hazard = Hazard.objects.filter(inspection=inspection, item=item).first()
        if hazard is None:
            hazard = _prefilled_hazard(inspection, item)
            hazard.save()
            record_audit_event(
                actor=actor,
                action="hazard.recorded",
                target=hazard,
                bureau=inspection.bureau,
                detail=hazard_detail(hazard),
            )
    else:
        _remove_item_hazards(actor, inspection, item)
    record, _created = ChecklistAnswer.objects.update_or_create(
        inspection=inspection, item=item, defaults={"answer": answer, "note": note or ""}
    )
    note_inspection_changed(inspection)
    record_audit_event(
        actor=actor,
        action="inspection.answered",
        target=inspection,
        bureau=inspection.bureau,
        detail={"item": str(item.pk), "position": item.position, "answer": answer},
    )
    return record, hazard


def _on_spot_hazards(inspection):
    """The inspection's hazards rectified on the spot, each annotated with `has_after_photo`."""
    after_photos = Evidence.objects.filter(
        hazard=OuterRef("pk"),
        purpose=Evidence.Purpose.ON_SPOT,
        status=Evidence.Status.CONFIRMED,
        content_type__startswith="image/",
    )
    return list(
        inspection.hazards.filter(rectified_on_spot=True)
        .annotate(has_after_photo=Exists(after_photos))
        .order_by("created_at")
    )


def _submission_errors(inspection, on_spot):
    errors = {}
    unanswered = (
        ChecklistItem.objects.filter(checklist_id=inspection.checklist_id)
        .exclude(pk__in=inspection.answers.values("item_id"))
        .count()
    )
    if unanswered:
        add_error(errors, "answers", _("还有%(n)d项检查内容未填写结果。") % {"n": unanswered})
    for hazard in on_spot:
        if not hazard.has_after_photo:
            add_error(
                errors,
                "hazards",
                _("当场整改的隐患“%(hazard)s”还没有整改后的照片。") % {"hazard": hazard},
            )
    return errors


@transaction.atomic
def do_submit_inspection(*, actor, inspection):
    """Draft or returned -> submitted, once every item is answered and every hazard fixed on
    the spot has its "after" photo; those hazards are then verified."""
    inspection = locked_inspection(inspection)
    require_holding_agency(actor, inspection.firm, inspection.agency)
    if not inspection.is_editable:
        raise InvalidTransition(_("该检查已提交，不能重复提交。"))
    on_spot = _on_spot_hazards(inspection)
    errors = _submission_errors(inspection, on_spot)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    Hazard.objects.filter(
        pk__in=[hazard.pk for hazard in on_spot if hazard.status != Hazard.Status.VERIFIED]
    ).update(
        status=Hazard.Status.VERIFIED,
        rectified_at=now,
        rectified_by=actor,
        verified_at=now,
        verified_by=actor,
        updated_at=now,
    )
    previous = inspection.status
    inspection.status = Inspection.Status.SUBMITTED
    inspection.submitted_at = now
    inspection.save(update_fields=["status", "submitted_at"])
    note_inspection_changed(inspection)
    record_audit_event(
        actor=actor,
        action="inspection.submitted",
        target=inspection,
        bureau=inspection.bureau,
        detail={
            "from": previous,
            "hazards": inspection.hazards.count(),
            "verified_on_spot": len(on_spot),
        },
    )
    drafted = hooks.inspection_submitted.fire(actor=actor, inspection=inspection)
    inspection.drafted_documents = [document for documents in drafted for document in documents]
    return inspection


def _locked_for_review(actor, inspection):
    inspection = locked_inspection(inspection)
    require_reviewer(actor, inspection)
    if inspection.status != Inspection.Status.SUBMITTED:
        raise InvalidTransition(_("只有已提交、待审核的检查可以退回或通过。"))
    return inspection


@transaction.atomic
def do_return_inspection(*, actor, inspection, reason):
    """Submitted -> returned to the agency with the reviewer's reason, for it to correct."""
    inspection = _locked_for_review(actor, inspection)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写退回原因。")})
    inspection.status = Inspection.Status.RETURNED
    inspection.return_reason = reason
    inspection.save(update_fields=["status", "return_reason"])
    record_audit_event(
        actor=actor,
        action="inspection.returned",
        target=inspection,
        bureau=inspection.bureau,
        detail={"reason": reason},
    )
    return inspection


@transaction.atomic
def do_accept_inspection(*, actor, inspection):
    """Submitted -> accepted by the bureau's reviewer."""
    inspection = _locked_for_review(actor, inspection)
    inspection.status = Inspection.Status.ACCEPTED
    inspection.save(update_fields=["status"])
    record_audit_event(
        actor=actor, action="inspection.accepted", target=inspection, bureau=inspection.bureau
    )
    return inspection
