"""Every write of hazards (record, edit, rectify, re-inspect, mark overdue): `do_<verb>(*, actor,
...)`, atomic and audited."""

from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors import hooks
from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.inspections.models import ChecklistAnswer
from contractors.inspections.rules import (
    bureau_today,
    locked_hazard,
    locked_inspection,
    note_hazard_changed,
    note_inspection_changed,
    require_editable,
    require_holding_agency,
)
from contractors.register.services import BATCH_SIZE
from portal.access import membership_of
from portal.models import Bureau, Role
from portal.services import record_audit_event, record_audit_events
from portal.validation import (
    InvalidTransition,
    add_error,
    check_choice,
    full_clean_into,
    require_known_fields,
)

DEFAULT_RECTIFICATION_DAYS = 30


HAZARD_FIELDS = (
    "category",
    "level",
    "description",
    "location",
    "legal_basis",
    "requirement",
    "deadline",
    "rectified_on_spot",
)


HAZARD_RELATIONS = ("inspection", "firm", "item", "rectified_by", "verified_by")


def _validate_hazard(hazard, *, old_deadline=None):
    """Raise a ValidationError naming every bad field of `hazard`. The deadline may not be in
    the past when it is set or changed; an unchanged one may have passed meanwhile."""
    errors = {}
    check_choice(errors, "category", hazard.category, HazardCategory, _("隐患类别"))
    check_choice(errors, "level", hazard.level, HazardLevel, _("隐患等级"))
    if not (hazard.description or "").strip():
        add_error(errors, "description", _("请填写隐患描述。"))
    if hazard.deadline in (None, ""):
        add_error(errors, "deadline", _("请填写整改期限。"))
    if hazard.item is not None and hazard.item.checklist_id != hazard.inspection.checklist_id:
        add_error(errors, "item", _("该检查项不属于本次检查使用的检查表。"))
    full_clean_into(errors, hazard, HAZARD_RELATIONS)
    if (
        "deadline" not in errors
        and hazard.deadline != old_deadline
        and hazard.deadline < bureau_today()
    ):
        add_error(errors, "deadline", _("整改期限不能早于今天。"))
    if hazard.rectified_on_spot and hazard.level == HazardLevel.MAJOR:
        add_error(errors, "rectified_on_spot", _("重大事故隐患不能当场整改。"))
    if errors:
        raise ValidationError(errors)


def hazard_detail(hazard):
    return {
        "inspection": str(hazard.inspection_id),
        "category": hazard.category,
        "level": hazard.level,
        "deadline": hazard.deadline.isoformat(),
        "rectified_on_spot": hazard.rectified_on_spot,
    }


@transaction.atomic
def do_record_hazard(
    *,
    actor,
    inspection,
    category,
    level,
    description,
    location="",
    legal_basis="",
    requirement="",
    deadline,
    item=None,
    rectified_on_spot=False,
):
    """A hazard found in a draft or returned inspection. One rectified on the spot (general
    hazards only) becomes verified when the inspection is submitted with its "after" photo."""
    inspection = locked_inspection(inspection)
    require_holding_agency(actor, inspection.firm, inspection.agency)
    require_editable(inspection)
    hazard = Hazard(
        inspection=inspection,
        firm_id=inspection.firm_id,
        item=item,
        category=category,
        level=level,
        description=description,
        location=location,
        legal_basis=legal_basis,
        requirement=requirement,
        deadline=deadline,
        rectified_on_spot=rectified_on_spot,
    )
    _validate_hazard(hazard)
    hazard.save()
    note_inspection_changed(inspection)
    if item is not None:
        ChecklistAnswer.objects.update_or_create(
            inspection=inspection, item=item, defaults={"answer": ChecklistAnswer.Answer.HAZARD}
        )
    record_audit_event(
        actor=actor,
        action="hazard.recorded",
        target=hazard,
        bureau=inspection.bureau,
        detail=hazard_detail(hazard),
    )
    return hazard


@transaction.atomic
def do_update_hazard(*, actor, hazard, **fields):
    """Change the given fields of a hazard while its inspection is draft or returned."""
    require_known_fields(fields, HAZARD_FIELDS, "a hazard")
    inspection = locked_inspection(hazard.inspection)
    hazard = locked_hazard(hazard)
    require_holding_agency(actor, inspection.firm, inspection.agency)
    require_editable(inspection)
    old_deadline, was_on_spot = hazard.deadline, hazard.rectified_on_spot
    for name, value in fields.items():
        setattr(hazard, name, value)
    hazard.inspection = inspection
    _validate_hazard(hazard, old_deadline=old_deadline)
    if was_on_spot and not hazard.rectified_on_spot and hazard.status == Hazard.Status.VERIFIED:
        # It was verified only because it was fixed on the spot; now it waits for the firm.
        reopen_hazard(hazard)
    hazard.save()
    note_inspection_changed(inspection)
    record_audit_event(
        actor=actor,
        action="hazard.updated",
        target=hazard,
        bureau=inspection.bureau,
        detail={"fields": sorted(fields)},
    )
    return hazard


def _evidence_ids(errors, hazard, evidence, purpose, *, required):
    """The ids of `evidence` (objects or ids), all confirmed for `hazard` with `purpose`."""
    wanted = {getattr(item, "pk", item) for item in evidence or ()}
    if not wanted:
        if required:
            add_error(errors, "evidence", _("请上传整改后的照片或材料。"))
        return []
    try:
        found = list(
            Evidence.objects.filter(
                pk__in=wanted, hazard=hazard, purpose=purpose, status=Evidence.Status.CONFIRMED
            ).values_list("pk", flat=True)
        )
    except ValidationError:
        found = []
    if len(found) != len(wanted):
        add_error(errors, "evidence", _("证据材料须是为该隐患上传并已确认的文件。"))
    return sorted(str(pk) for pk in found)


@transaction.atomic
def do_rectify_hazard(*, actor, hazard, note, evidence):
    """The firm reports a hazard rectified, with its evidence: open/overdue -> rectified,
    awaiting the agency's re-inspection."""
    hazard = locked_hazard(hazard)
    membership = membership_of(actor)
    if (
        membership is None
        or membership.role != Role.FIRM_USER
        or membership.firm_id != hazard.firm_id
        or hazard.inspection.submitted_at is None
    ):
        raise PermissionDenied(_("只有该企业的用户可以报告隐患整改。"))
    if hazard.status not in (Hazard.Status.OPEN, Hazard.Status.OVERDUE):
        raise InvalidTransition(_("只有待整改或逾期未整改的隐患可以报告整改。"))
    errors = {}
    note = (note or "").strip()
    if not note:
        add_error(errors, "note", _("请填写整改情况。"))
    evidence_ids = _evidence_ids(
        errors, hazard, evidence, Evidence.Purpose.RECTIFICATION, required=True
    )
    if errors:
        raise ValidationError(errors)
    previous = hazard.status
    hazard.status = Hazard.Status.RECTIFIED
    hazard.rectification_note = note
    hazard.rectified_at = timezone.now()
    hazard.rectified_by = actor
    hazard.save()
    note_hazard_changed(hazard)
    record_audit_event(
        actor=actor,
        action="hazard.rectified",
        target=hazard,
        bureau=hazard.firm.bureau,
        detail={"from": previous, "evidence": evidence_ids},
    )
    return hazard


def _new_deadline(errors, deadline):
    try:
        deadline = Hazard._meta.get_field("deadline").to_python(deadline)
    except ValidationError as error:
        errors["deadline"] = error.messages
        return None
    if deadline is None:
        add_error(errors, "deadline", _("复查未通过时请填写新的整改期限。"))
    elif deadline < bureau_today():
        add_error(errors, "deadline", _("整改期限不能早于今天。"))
    return deadline


@transaction.atomic
def do_reinspect_hazard(*, actor, hazard, passed, note, evidence, deadline=None):
    """The agency holding the firm now re-inspects a rectified hazard: verified when `passed`,
    otherwise open again with a new `deadline`."""
    hazard = locked_hazard(hazard)
    require_holding_agency(actor, hazard.firm)
    if hazard.status != Hazard.Status.RECTIFIED:
        raise InvalidTransition(_("只有已整改、待复查的隐患可以复查。"))
    errors = {}
    note = (note or "").strip()
    evidence_ids = _evidence_ids(
        errors, hazard, evidence, Evidence.Purpose.REINSPECTION, required=False
    )
    if not passed:
        deadline = _new_deadline(errors, deadline)
        if not note:
            add_error(errors, "note", _("复查未通过时请写明复查意见。"))
    if errors:
        raise ValidationError(errors)
    hazard.reinspection_note = note
    if passed:
        hazard.status = Hazard.Status.VERIFIED
        hazard.verified_at = timezone.now()
        hazard.verified_by = actor
    else:
        reopen_hazard(hazard)
        hazard.deadline = deadline
    hazard.save()
    note_hazard_changed(hazard)
    record_audit_event(
        actor=actor,
        action="hazard.reinspected",
        target=hazard,
        bureau=hazard.firm.bureau,
        detail={
            "passed": bool(passed),
            "deadline": hazard.deadline.isoformat(),
            "evidence": evidence_ids,
        },
    )
    drafted = hooks.hazard_reinspected.fire(actor=actor, hazard=hazard)
    hazard.drafted_opinion = next((opinion for opinion in drafted if opinion), None)
    return hazard


@transaction.atomic
def do_mark_overdue_hazards(*, today=None):
    """Open hazards of submitted inspections whose deadline has passed become overdue; the
    number marked. Running it again the same day marks nothing more."""
    today = today or bureau_today()
    due = list(
        Hazard.objects.select_for_update(of=("self",))
        .filter(
            status=Hazard.Status.OPEN,
            deadline__lt=today,
            inspection__submitted_at__isnull=False,
        )
        .values_list("pk", "deadline", "inspection__bureau_id", "inspection__inspected_on")
        .order_by("pk")
    )
    now = timezone.now()
    for start in range(0, len(due), BATCH_SIZE):
        batch = [pk for pk, *_rest in due[start : start + BATCH_SIZE]]
        Hazard.objects.filter(pk__in=batch).update(status=Hazard.Status.OVERDUE, updated_at=now)
    days = defaultdict(set)
    for _pk, _deadline, bureau_id, inspected_on in due:
        days[bureau_id].add(inspected_on)
    for bureau_id, changed in days.items():
        hooks.days_changed.fire(bureau_id=bureau_id, days=changed)
    bureaus = Bureau.objects.in_bulk(days)
    for bureau_id, bureau in bureaus.items():
        record_audit_events(
            actor=None,
            action="hazard.overdue",
            targets=[
                Hazard(pk=pk, deadline=deadline)
                for pk, deadline, owner, _inspected_on in due
                if owner == bureau_id
            ],
            bureau=bureau,
            detail_of=lambda hazard: {
                "deadline": hazard.deadline.isoformat(),
                "today": today.isoformat(),
            },
        )
    return len(due)


def reopen_hazard(hazard):
    hazard.status = Hazard.Status.OPEN
    hazard.rectified_at = hazard.rectified_by = None
    hazard.verified_at = hazard.verified_by = None
