"""Writes to the enterprise register."""

import hashlib
import json
import re
import tempfile
import uuid
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain, groupby
from operator import attrgetter
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors.evidence import (
    ALLOWED_TYPES,
    HEAD_BYTES,
    PHOTO_TYPES,
    extension_for,
    make_thumbnail,
    photo_facts,
    sniff_type,
)
from contractors.models import (
    Agency,
    Assignment,
    Checklist,
    ChecklistAnswer,
    ChecklistItem,
    Contract,
    Evidence,
    Firm,
    FirmGroupObjectPermission,
    Grid,
    Hazard,
    HazardCategory,
    HazardLevel,
    Inspection,
    Park,
    RegisterImport,
    Street,
)
from contractors.permissions import FIRM_PERMISSIONS, firm_permissions
from contractors.register_import import (
    Reference,
    RegisterFileError,
    read_register,
    validate_rows,
)
from contractors.selectors import (
    agency_holds_firm,
    current_checklist,
    hazards_visible_to,
    inspections_visible_to,
)
from contractors.uscc import normalise_uscc
from documents.drafting import draft_inspection_documents, draft_reinspection_opinion
from portal.access import membership_of
from portal.figures import (
    note_days_changed,
    note_firms_changed,
    note_hazards_changed,
    note_inspections_changed,
)
from portal.models import AGENCY_ROLES, Bureau, Role, User
from portal.services import record_audit_event, record_audit_events
from portal.storage import evidence_store

# Also keeps `uscc__in` under SQLite's limit on query variables.
BATCH_SIZE = 500


@dataclass
class ImportReport:
    """What a register import did (with dry_run: would do) and the errors that blocked rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)
    committed: bool = False

    def as_dict(self):
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
        }


@transaction.atomic
def do_import_register(*, actor, bureau, content, filename, dry_run, valid_only=False):
    """Upsert the firms of a register file into `bureau`'s register by credit code.

    Any error leaves the register untouched and the counts at zero, unless `valid_only`: then
    the valid rows are written and the errors still reported. `dry_run` computes the same
    report without writing (so a preview of the valid rows alone passes `valid_only=True`).
    """
    try:
        table = read_register(content, filename)
    except RegisterFileError as error:
        return ImportReport(errors=error.errors)
    reference = _reference_of(bureau)
    rows, errors = validate_rows(table, reference)
    if errors and not valid_only:
        return ImportReport(errors=errors)
    new, changed, fields, unchanged = _plan(bureau, rows, reference)
    report = ImportReport(
        created=len(new),
        updated=len(changed),
        unchanged=unchanged,
        errors=errors,
        committed=not dry_run,
    )
    if dry_run or not (new or changed):
        return report
    _write(new, changed, fields)
    record_audit_event(
        actor=actor,
        bureau=bureau,
        action="register.import",
        detail={
            "filename": filename,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "errors": len(errors),
            "valid_only": valid_only,
        },
    )
    return report


def _reference_of(bureau):
    return Reference.build(
        streets=list(Street.objects.filter(bureau=bureau)),
        grids=list(Grid.objects.filter(street__bureau=bureau)),
        parks=list(Park.objects.filter(bureau=bureau)),
    )


def _plan(bureau, rows, reference):
    """(new firms, changed firms, the fields that changed, number of unchanged firms)."""
    existing = _existing_firms(bureau, [values["uscc"] for _row, values in rows])
    new, changed, fields, unchanged = [], [], set(), 0
    for _row, values in rows:
        firm = existing.get(values["uscc"])
        if firm is None:
            new.append(Firm(bureau=bureau, **values))
            continue
        differing = _apply(firm, values, reference)
        if differing:
            changed.append(firm)
            fields |= differing
        else:
            unchanged += 1
    return new, changed, fields, unchanged


def _existing_firms(bureau, codes):
    firms = {}
    for start in range(0, len(codes), BATCH_SIZE):
        chunk = codes[start : start + BATCH_SIZE]
        firms.update(
            (firm.uscc, firm) for firm in Firm.objects.filter(bureau=bureau, uscc__in=chunk)
        )
    return firms


def _apply(firm, values, reference):
    """Copy `values` onto `firm`; the names of the fields that differed."""
    street_id = values["street"].pk
    if "grid" not in values and reference.grid_streets.get(firm.grid_id, street_id) != street_id:
        # A file without a grid column may move a firm to another street: the old grid would
        # then point into the wrong street.
        values = {**values, "grid": None}
    differing = set()
    for name, value in values.items():
        attname = Firm._meta.get_field(name).attname
        if getattr(firm, attname) != getattr(value, "pk", value):
            setattr(firm, name, value)
            differing.add(name)
    return differing


def _write(new, changed, fields):
    Firm.objects.bulk_create(new, batch_size=BATCH_SIZE)
    if changed:
        _update(changed, fields)
    if fields & {"street", "park"}:
        # Counted by street and park: a moved firm's days are recounted.
        note_firms_changed(firm_ids=[firm.pk for firm in changed])


def _update(changed, fields):
    Firm.objects.bulk_update(changed, sorted(fields), batch_size=BATCH_SIZE)
    # bulk_update bypasses save(), so auto_now does not fire; a plain UPDATE per batch is also
    # much cheaper than bulk_update's per-row CASE for a value every row shares.
    now = timezone.now()
    for start in range(0, len(changed), BATCH_SIZE):
        batch = [firm.pk for firm in changed[start : start + BATCH_SIZE]]
        Firm.objects.filter(pk__in=batch).update(updated_at=now)


def _register_import_path(bureau, register_import, filename):
    suffix = PurePosixPath(filename).suffix.lower()[:8]
    return f"bureau/{bureau.pk}/register-imports/{register_import.pk}{suffix}"


@transaction.atomic
def do_preview_register_import(*, actor, bureau, filename, content):
    """Keep the uploaded file and what importing it would do, for the admin to confirm.

    The preview counts the valid rows even when some rows are bad, so the admin can choose to
    import only those."""
    report = do_import_register(
        actor=actor,
        bureau=bureau,
        content=content,
        filename=filename,
        dry_run=True,
        valid_only=True,
    )
    register_import = RegisterImport(
        bureau=bureau,
        uploaded_by=actor,
        filename=PurePosixPath(filename).name[:255],
        sha256=hashlib.sha256(content).hexdigest(),
        result=report.as_dict(),
    )
    register_import.file.save(
        _register_import_path(bureau, register_import, filename), ContentFile(content), save=False
    )
    # A failed insert must not leave an orphan file behind.
    try:
        register_import.save()
    except Exception:
        register_import.file.delete(save=False)
        raise
    record_audit_event(
        actor=actor,
        bureau=bureau,
        action="register.import_preview",
        target=register_import,
        detail={"filename": register_import.filename, "errors": len(report.errors)},
    )
    return register_import


@transaction.atomic
def do_commit_register_import(*, actor, register_import, valid_only=False):
    """Import a previewed file for real; the register may have changed since the preview, so the
    report is computed again."""
    register_import = RegisterImport.objects.select_for_update().get(pk=register_import.pk)
    if register_import.status == RegisterImport.Status.COMMITTED:
        raise ValidationError(_("该文件已经导入，不能重复导入。"))
    with register_import.file.open("rb") as stored:
        content = stored.read()
    report = do_import_register(
        actor=actor,
        bureau=register_import.bureau,
        content=content,
        filename=register_import.filename,
        dry_run=False,
        valid_only=valid_only,
    )
    register_import.result = report.as_dict()
    if report.committed:
        register_import.status = RegisterImport.Status.COMMITTED
    register_import.save(update_fields=["result", "status"])
    return report


# --- Agencies, contracts and assignments -------------------------------------------------------


@transaction.atomic
def do_create_agency(*, actor, bureau, name, uscc, qualification="", contact="", phone=""):
    """A new agency of the bureau, with the group its object permissions are granted to."""
    agency = Agency(
        bureau=bureau,
        name=name,
        uscc=normalise_uscc(uscc),
        qualification=qualification,
        contact=contact,
        phone=phone,
    )
    agency.group = Group.objects.create(name=f"agency:{agency.pk}")
    agency.full_clean()
    agency.save()
    record_audit_event(actor=actor, action="agency.created", target=agency, bureau=bureau)
    return agency


@transaction.atomic
def do_create_contract(
    *, actor, bureau, agency, period_start, period_end, quota, number="", note=""
):
    if agency.bureau_id != bureau.pk:
        raise ValidationError({"agency": _("该服务机构不属于本局。")})
    if period_end < period_start:
        raise ValidationError({"period_end": _("服务期止不能早于服务期起。")})
    if quota < 1:
        raise ValidationError({"quota": _("企业配额至少为1家。")})
    contract = Contract.objects.create(
        bureau=bureau,
        agency=agency,
        number=number,
        period_start=period_start,
        period_end=period_end,
        quota=quota,
        note=note,
    )
    record_audit_event(
        actor=actor,
        action="contract.created",
        target=contract,
        bureau=bureau,
        detail={
            "agency": str(agency.pk),
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
            "quota": quota,
        },
    )
    return contract


class QuotaExceeded(Exception):
    """Assigning would take the contract over its quota and the admin has not confirmed it."""

    def __init__(self, usage):
        self.usage = usage
        super().__init__(
            _(
                "超出合同配额：配额 %(quota)d 家，已分配 %(current)d 家，本次新增 %(adding)d 家，"
                "分配后共 %(after)d 家。"
            )
            % usage
        )


@dataclass
class AssignmentResult:
    assigned: int
    moved: int
    already: int


@transaction.atomic
def do_assign_firms(*, actor, contract, firms, allow_over_quota=False):
    """Assign `firms` (a queryset of the bureau's firms) to `contract`.

    Firms currently with another contract move: that assignment ends and its agency loses
    access in the same transaction. Going over the quota needs `allow_over_quota`, which is
    recorded in the audit log."""
    contract = Contract.objects.select_for_update().select_related("agency").get(pk=contract.pk)
    firm_ids = _lock_firms(contract.bureau_id, firms)
    current = list(
        Assignment.objects.filter(firm_id__in=firm_ids, ended_at__isnull=True).select_related(
            "contract__agency"
        )
    )
    already = {a.firm_id for a in current if a.contract_id == contract.pk}
    moving = [a for a in current if a.contract_id != contract.pk]
    adding = [firm_id for firm_id in firm_ids if firm_id not in already]
    usage = _quota_usage(contract, adding=len(adding))
    if usage["after"] > contract.quota:
        if not allow_over_quota:
            raise QuotaExceeded(usage)
        record_audit_event(
            actor=actor,
            action="contract.quota_exceeded_confirmed",
            target=contract,
            bureau=contract.bureau,
            detail=usage,
        )
    now = timezone.now()
    _end_assignments(actor, moving, now, contract.bureau)
    Assignment.objects.bulk_create(
        [
            Assignment(contract=contract, firm_id=firm_id, assigned_by=actor, assigned_at=now)
            for firm_id in adding
        ],
        batch_size=BATCH_SIZE,
    )
    _grant(contract.agency, adding)
    moved_from = {a.firm_id: a.contract for a in moving}
    record_audit_events(
        actor=actor,
        action="firm.assigned",
        targets=Firm.objects.filter(pk__in=adding).only("pk"),
        bureau=contract.bureau,
        detail_of=lambda firm: _assignment_detail(contract, moved_from.get(firm.pk)),
    )
    return AssignmentResult(assigned=len(adding), moved=len(moving), already=len(already))


@transaction.atomic
def do_unassign_firms(*, actor, contract, firms):
    """End the current assignments of `firms` to `contract`; its agency loses access at once."""
    contract = Contract.objects.select_for_update().select_related("agency").get(pk=contract.pk)
    firm_ids = _lock_firms(contract.bureau_id, firms)
    ending = list(
        Assignment.objects.filter(
            contract=contract, firm_id__in=firm_ids, ended_at__isnull=True
        ).select_related("contract__agency")
    )
    _end_assignments(actor, ending, timezone.now(), contract.bureau)
    return len(ending)


@transaction.atomic
def do_share_out_firms(*, actor, agency, firms, inspector):
    """Give the agency's current firms among `firms` to `inspector` (None: to nobody)."""
    if inspector is not None:
        membership = getattr(inspector, "membership", None)
        if (
            membership is None
            or membership.agency_id != agency.pk
            or (membership.role != Role.AGENCY_INSPECTOR)
        ):
            raise ValidationError({"inspector": _("只能分给本机构的检查员。")})
    assignments = Assignment.objects.filter(
        contract__agency=agency, ended_at__isnull=True, firm__in=firms
    )
    shared = list(assignments.values_list("firm_id", flat=True))
    assignments.update(inspector=inspector)
    record_audit_events(
        actor=actor,
        action="firm.shared_out",
        targets=Firm.objects.filter(pk__in=shared).only("pk"),
        bureau=agency.bureau,
        detail_of=lambda firm: {
            "agency": str(agency.pk),
            "inspector": str(inspector.pk) if inspector else None,
        },
    )
    return len(shared)


def _lock_firms(bureau_id, firms):
    """Lock the bureau's firms among `firms` in a stable order; their ids."""
    return list(
        Firm.objects.select_for_update()
        .filter(bureau_id=bureau_id, pk__in=firms.values("pk"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _quota_usage(contract, *, adding):
    current = contract.assignments.filter(ended_at__isnull=True).count()
    return {
        "quota": contract.quota,
        "current": current,
        "adding": adding,
        "after": current + adding,
    }


def _end_assignments(actor, assignments, now, bureau):
    """End `assignments` and take their agencies' access away, with one audit event each."""
    if not assignments:
        return
    Assignment.objects.filter(pk__in=[a.pk for a in assignments]).update(
        ended_at=now, ended_by=actor
    )
    by_agency = {}
    for assignment in assignments:
        by_agency.setdefault(assignment.contract.agency, []).append(assignment.firm_id)
    for agency, firm_ids in by_agency.items():
        _revoke(agency, firm_ids)
    contract_of = {a.firm_id: a.contract for a in assignments}
    record_audit_events(
        actor=actor,
        action="firm.unassigned",
        targets=Firm.objects.filter(pk__in=contract_of).only("pk"),
        bureau=bureau,
        detail_of=lambda firm: {
            "contract": str(contract_of[firm.pk].pk),
            "agency": str(contract_of[firm.pk].agency_id),
        },
    )


def _grant(agency, firm_ids):
    permissions = firm_permissions().values()
    FirmGroupObjectPermission.objects.bulk_create(
        [
            FirmGroupObjectPermission(group_id=agency.group_id, permission=p, content_object_id=f)
            for f in firm_ids
            for p in permissions
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )


def _revoke(agency, firm_ids):
    FirmGroupObjectPermission.objects.filter(
        group_id=agency.group_id,
        content_object_id__in=firm_ids,
        permission__codename__in=FIRM_PERMISSIONS,
    ).delete()


def _assignment_detail(contract, previous):
    detail = {"contract": str(contract.pk), "agency": str(contract.agency_id)}
    if previous is not None:
        detail.update(
            moved_from_contract=str(previous.pk), moved_from_agency=str(previous.agency_id)
        )
    return detail


# --- Inspections and hazards -------------------------------------------------------------------

CHECKLIST_FILE = Path(__file__).resolve().parent / "data" / "checklist.json"
CHECKLIST_ITEM_FIELDS = ("category", "text", "legal_basis", "requirement")
DEFAULT_RECTIFICATION_DAYS = 30
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
# Checked by the services themselves; full_clean() would query them again.
INSPECTION_RELATIONS = ("bureau", "firm", "agency", "contract", "checklist", "created_by")
HAZARD_RELATIONS = ("inspection", "firm", "item", "rectified_by", "verified_by")


class InvalidTransition(ValidationError):
    """The inspection or hazard is not in a state that allows the action (the API answers
    409): a submitted inspection is read-only, a verified hazard cannot be rectified again."""


def _today():
    # TIME_ZONE is the bureau's (Asia/Shanghai): deadlines and inspection dates are its days.
    return timezone.localdate()


def _agency_staff(actor):
    membership = membership_of(actor)
    if membership is None or not membership.is_agency_staff:
        raise PermissionDenied(_("只有第三方服务机构的人员可以开展检查。"))
    return membership


def _not_held():
    return PermissionDenied(_("该企业目前不由本机构负责，不能开展或修改检查。"))


def _require_holding_agency(actor, firm, agency=None):
    """The actor's agency membership; the agency must hold `firm` now (and be `agency`)."""
    membership = _agency_staff(actor)
    if agency is not None and membership.agency_id != agency.pk:
        raise PermissionDenied(_("这不是本机构的检查。"))
    if not agency_holds_firm(membership.agency_id, firm):
        raise _not_held()
    return membership


def _require_reviewer(actor, inspection):
    membership = membership_of(actor)
    if (
        membership is None
        or membership.role != Role.BUREAU_REVIEWER
        or membership.bureau_id != inspection.bureau_id
    ):
        raise PermissionDenied(_("只有管理局审核员可以审核检查。"))


def _require_editable(inspection):
    if not inspection.is_editable:
        raise InvalidTransition(_("已提交的检查不能修改。"))


def _figures_changed(inspection):
    """What the statistics count of `inspection` may have changed: its date, its hazards, its
    being submitted (`portal/figures.py`; nothing while it is a draft)."""
    note_inspections_changed(inspections=Inspection.objects.filter(pk=inspection.pk))


def _hazard_figures_changed(hazard):
    """A hazard changed state (`portal/figures.py`)."""
    note_hazards_changed(hazards=Hazard.objects.filter(pk=hazard.pk))


def _locked_inspection(inspection):
    return (
        Inspection.objects.select_for_update(of=("self",))
        .select_related("firm", "agency", "checklist")
        .get(pk=inspection.pk)
    )


def _locked_hazard(hazard):
    return (
        Hazard.objects.select_for_update(of=("self",))
        .select_related("inspection", "firm")
        .get(pk=hazard.pk)
    )


def _add_error(errors, field, message):
    errors.setdefault(field, []).append(message)


def _check_choice(errors, field, value, choices, label):
    if value in (None, ""):
        _add_error(errors, field, _("请选择%(label)s。") % {"label": label})
    elif value not in choices.values:
        _add_error(
            errors, field, _("未知的%(label)s：%(value)s") % {"label": label, "value": value}
        )


def _full_clean_into(errors, instance, relations):
    """Model validation (lengths, dates, decimals) for the fields not already in error; it also
    turns strings into the fields' types."""
    try:
        instance.full_clean(
            exclude=[*relations, *errors], validate_unique=False, validate_constraints=False
        )
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)


def _coordinate(errors, field, value, limit):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(COORDINATE_STEP, rounding=ROUND_HALF_UP)
        within = -limit <= number <= limit
    except ArithmeticError:
        _add_error(errors, field, _("坐标格式不正确。"))
        return None
    if not within:
        _add_error(errors, field, _("坐标超出范围。"))
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
        _add_error(errors, "inspectors", _("检查人员必须是本机构的检查员或负责人。"))
    elif len(staff) < MIN_INSPECTORS:
        _add_error(errors, "inspectors", _("检查人员不得少于两人。"))
    return staff


def _validate_inspection(inspection, inspectors):
    """Raise a ValidationError naming every bad field of `inspection`; the inspectors as users."""
    errors = {}
    _check_choice(errors, "kind", inspection.kind, Inspection.Kind, _("检查类型"))
    if not (inspection.firm_representative or "").strip():
        _add_error(errors, "firm_representative", _("请填写企业在场人员姓名。"))
    inspection.latitude = _coordinate(errors, "latitude", inspection.latitude, 90)
    inspection.longitude = _coordinate(errors, "longitude", inspection.longitude, 180)
    staff = _agency_inspectors(errors, inspectors, inspection.agency_id)
    _full_clean_into(errors, inspection, INSPECTION_RELATIONS)
    if "inspected_on" not in errors and inspection.inspected_on > _today():
        _add_error(errors, "inspected_on", _("检查日期不能晚于今天。"))
    times = (inspection.time_from, inspection.time_to)
    if not {"time_from", "time_to"} & errors.keys() and None not in times and times[1] < times[0]:
        _add_error(errors, "time_to", _("检查结束时间不能早于开始时间。"))
    if inspection.kind == Inspection.Kind.CAMPAIGN and not (inspection.campaign or "").strip():
        _add_error(errors, "campaign", _("专项检查请填写专项整治名称。"))
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
    membership = _require_holding_agency(actor, firm)
    assignment = (
        Assignment.objects.select_related("contract")
        .filter(firm=firm, ended_at__isnull=True, contract__agency_id=membership.agency_id)
        .first()
    )
    if assignment is None:
        raise _not_held()
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
    unknown = set(fields) - set(INSPECTION_FIELDS)
    if unknown:
        raise TypeError(f"not an inspection field: {', '.join(sorted(unknown))}")
    inspection = _locked_inspection(inspection)
    _require_holding_agency(actor, inspection.firm, inspection.agency)
    _require_editable(inspection)
    changed = sorted(fields)
    inspectors = fields.pop("inspectors", None)
    if inspectors is None:
        inspectors = list(inspection.inspectors.all())
    for name, value in fields.items():
        setattr(inspection, name, value)
    staff = _validate_inspection(inspection, inspectors)
    _figures_changed(inspection)  # the day it had
    inspection.save()
    _figures_changed(inspection)  # the day it has
    inspection.inspectors.set(staff)
    record_audit_event(
        actor=actor,
        action="inspection.updated",
        target=inspection,
        bureau=inspection.bureau,
        detail={"fields": changed},
    )
    return inspection


def _validate_hazard(hazard, *, old_deadline=None):
    """Raise a ValidationError naming every bad field of `hazard`. The deadline may not be in
    the past when it is set or changed; an unchanged one may have passed meanwhile."""
    errors = {}
    _check_choice(errors, "category", hazard.category, HazardCategory, _("隐患类别"))
    _check_choice(errors, "level", hazard.level, HazardLevel, _("隐患等级"))
    if not (hazard.description or "").strip():
        _add_error(errors, "description", _("请填写隐患描述。"))
    if hazard.deadline in (None, ""):
        _add_error(errors, "deadline", _("请填写整改期限。"))
    if hazard.item is not None and hazard.item.checklist_id != hazard.inspection.checklist_id:
        _add_error(errors, "item", _("该检查项不属于本次检查使用的检查表。"))
    _full_clean_into(errors, hazard, HAZARD_RELATIONS)
    if "deadline" not in errors and hazard.deadline != old_deadline and hazard.deadline < _today():
        _add_error(errors, "deadline", _("整改期限不能早于今天。"))
    if hazard.rectified_on_spot and hazard.level == HazardLevel.MAJOR:
        _add_error(errors, "rectified_on_spot", _("重大事故隐患不能当场整改。"))
    if errors:
        raise ValidationError(errors)


def _hazard_detail(hazard):
    return {
        "inspection": str(hazard.inspection_id),
        "category": hazard.category,
        "level": hazard.level,
        "deadline": hazard.deadline.isoformat(),
        "rectified_on_spot": hazard.rectified_on_spot,
    }


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
    _figures_changed(inspection)
    for hazard in hazards:
        record_audit_event(
            actor=actor,
            action="hazard.removed",
            target=hazard,
            bureau=inspection.bureau,
            detail=_hazard_detail(hazard),
        )


@transaction.atomic
def do_answer_item(*, actor, inspection, item, answer, note=""):
    """Record the answer to one checklist item; (the answer, the item's hazard or None).

    "hazard" records a general hazard pre-filled from the item the first time; answering
    otherwise removes the item's hazards again."""
    inspection = _locked_inspection(inspection)
    _require_holding_agency(actor, inspection.firm, inspection.agency)
    _require_editable(inspection)
    errors = {}
    if item.checklist_id != inspection.checklist_id:
        _add_error(errors, "item", _("该检查项不属于本次检查使用的检查表。"))
    _check_choice(errors, "answer", answer, ChecklistAnswer.Answer, _("检查结果"))
    if len(note or "") > ChecklistAnswer._meta.get_field("note").max_length:
        _add_error(errors, "note", _("说明过长，请精简。"))
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
                detail=_hazard_detail(hazard),
            )
    else:
        _remove_item_hazards(actor, inspection, item)
    record, _created = ChecklistAnswer.objects.update_or_create(
        inspection=inspection, item=item, defaults={"answer": answer, "note": note or ""}
    )
    _figures_changed(inspection)
    record_audit_event(
        actor=actor,
        action="inspection.answered",
        target=inspection,
        bureau=inspection.bureau,
        detail={"item": str(item.pk), "position": item.position, "answer": answer},
    )
    return record, hazard


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
    inspection = _locked_inspection(inspection)
    _require_holding_agency(actor, inspection.firm, inspection.agency)
    _require_editable(inspection)
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
    _figures_changed(inspection)
    if item is not None:
        ChecklistAnswer.objects.update_or_create(
            inspection=inspection, item=item, defaults={"answer": ChecklistAnswer.Answer.HAZARD}
        )
    record_audit_event(
        actor=actor,
        action="hazard.recorded",
        target=hazard,
        bureau=inspection.bureau,
        detail=_hazard_detail(hazard),
    )
    return hazard


@transaction.atomic
def do_update_hazard(*, actor, hazard, **fields):
    """Change the given fields of a hazard while its inspection is draft or returned."""
    unknown = set(fields) - set(HAZARD_FIELDS)
    if unknown:
        raise TypeError(f"not a hazard field: {', '.join(sorted(unknown))}")
    inspection = _locked_inspection(hazard.inspection)
    hazard = _locked_hazard(hazard)
    _require_holding_agency(actor, inspection.firm, inspection.agency)
    _require_editable(inspection)
    old_deadline, was_on_spot = hazard.deadline, hazard.rectified_on_spot
    for name, value in fields.items():
        setattr(hazard, name, value)
    hazard.inspection = inspection
    _validate_hazard(hazard, old_deadline=old_deadline)
    if was_on_spot and not hazard.rectified_on_spot and hazard.status == Hazard.Status.VERIFIED:
        # It was verified only because it was fixed on the spot; now it waits for the firm.
        _reopen(hazard)
    hazard.save()
    _figures_changed(inspection)
    record_audit_event(
        actor=actor,
        action="hazard.updated",
        target=hazard,
        bureau=inspection.bureau,
        detail={"fields": sorted(fields)},
    )
    return hazard


def _reopen(hazard):
    hazard.status = Hazard.Status.OPEN
    hazard.rectified_at = hazard.rectified_by = None
    hazard.verified_at = hazard.verified_by = None


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
        _add_error(errors, "answers", _("还有%(n)d项检查内容未填写结果。") % {"n": unanswered})
    for hazard in on_spot:
        if not hazard.has_after_photo:
            _add_error(
                errors,
                "hazards",
                _("当场整改的隐患“%(hazard)s”还没有整改后的照片。") % {"hazard": hazard},
            )
    return errors


@transaction.atomic
def do_submit_inspection(*, actor, inspection):
    """Draft or returned -> submitted, once every item is answered and every hazard fixed on
    the spot has its "after" photo; those hazards are then verified."""
    inspection = _locked_inspection(inspection)
    _require_holding_agency(actor, inspection.firm, inspection.agency)
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
    _figures_changed(inspection)
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
    inspection.drafted_documents = draft_inspection_documents(actor=actor, inspection=inspection)
    return inspection


def _locked_for_review(actor, inspection):
    inspection = _locked_inspection(inspection)
    _require_reviewer(actor, inspection)
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


def _evidence_ids(errors, hazard, evidence, purpose, *, required):
    """The ids of `evidence` (objects or ids), all confirmed for `hazard` with `purpose`."""
    wanted = {getattr(item, "pk", item) for item in evidence or ()}
    if not wanted:
        if required:
            _add_error(errors, "evidence", _("请上传整改后的照片或材料。"))
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
        _add_error(errors, "evidence", _("证据材料须是为该隐患上传并已确认的文件。"))
    return sorted(str(pk) for pk in found)


@transaction.atomic
def do_rectify_hazard(*, actor, hazard, note, evidence):
    """The firm reports a hazard rectified, with its evidence: open/overdue -> rectified,
    awaiting the agency's re-inspection."""
    hazard = _locked_hazard(hazard)
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
        _add_error(errors, "note", _("请填写整改情况。"))
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
    _hazard_figures_changed(hazard)
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
        _add_error(errors, "deadline", _("复查未通过时请填写新的整改期限。"))
    elif deadline < _today():
        _add_error(errors, "deadline", _("整改期限不能早于今天。"))
    return deadline


@transaction.atomic
def do_reinspect_hazard(*, actor, hazard, passed, note, evidence, deadline=None):
    """The agency holding the firm now re-inspects a rectified hazard: verified when `passed`,
    otherwise open again with a new `deadline`."""
    hazard = _locked_hazard(hazard)
    _require_holding_agency(actor, hazard.firm)
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
            _add_error(errors, "note", _("复查未通过时请写明复查意见。"))
    if errors:
        raise ValidationError(errors)
    hazard.reinspection_note = note
    if passed:
        hazard.status = Hazard.Status.VERIFIED
        hazard.verified_at = timezone.now()
        hazard.verified_by = actor
    else:
        _reopen(hazard)
        hazard.deadline = deadline
    hazard.save()
    _hazard_figures_changed(hazard)
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
    hazard.drafted_opinion = draft_reinspection_opinion(actor=actor, hazard=hazard)
    return hazard


@transaction.atomic
def do_mark_overdue_hazards(*, today=None):
    """Open hazards of submitted inspections whose deadline has passed become overdue; the
    number marked. Running it again the same day marks nothing more."""
    today = today or _today()
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
        note_days_changed(bureau_id=bureau_id, days=changed)
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


def _checklist_items(checklist):
    return [
        dict(zip(CHECKLIST_ITEM_FIELDS, values, strict=True))
        for values in checklist.items.order_by("position").values_list(*CHECKLIST_ITEM_FIELDS)
    ]


def _new_checklist_version(actor, bureau, name, items, *, action, detail=None):
    """Version max+1 of the bureau's checklist `name` with `items`, made current."""
    # Serialises version numbering and the one-current switch per bureau.
    Bureau.objects.select_for_update().get(pk=bureau.pk)
    latest = Checklist.objects.filter(bureau=bureau, name=name).aggregate(Max("version"))
    Checklist.objects.filter(bureau=bureau, is_current=True).update(is_current=False)
    checklist = Checklist.objects.create(
        bureau=bureau,
        name=name,
        version=(latest["version__max"] or 0) + 1,
        is_current=True,
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(checklist=checklist, position=position, **item)
        for position, item in enumerate(items, 1)
    )
    record_audit_event(
        actor=actor,
        action=action,
        target=checklist,
        bureau=bureau,
        detail={"version": checklist.version, "items": len(items), **(detail or {})},
    )
    return checklist


@transaction.atomic
def do_install_default_checklist(*, actor, bureau):
    """Make the shipped default checklist (contractors/data/checklist.json) the bureau's
    current one, as a new version; nothing changes when it already is."""
    data = json.loads(CHECKLIST_FILE.read_text(encoding="utf-8"))
    items = [{name: item[name] for name in CHECKLIST_ITEM_FIELDS} for item in data["items"]]
    current = Checklist.objects.filter(bureau=bureau, is_current=True).first()
    if current is not None and current.name == data["name"] and _checklist_items(current) == items:
        return current
    return _new_checklist_version(actor, bureau, data["name"], items, action="checklist.installed")


@transaction.atomic
def do_copy_checklist_version(*, actor, checklist):
    """A new, current version with the items of `checklist`, to edit where the old version
    must stay as the inspections that used it saw it."""
    return _new_checklist_version(
        actor,
        checklist.bureau,
        checklist.name,
        _checklist_items(checklist),
        action="checklist.copied",
        detail={"copied_from": str(checklist.pk), "copied_version": checklist.version},
    )


# --- Evidence ------------------------------------------------------------------------------------


class EvidenceRejected(ValidationError):
    """The uploaded object failed confirmation (the API answers 400 with the reason); when this
    is raised the object and its row are already gone."""


SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
# The purposes whose evidence always belongs to one hazard.
HAZARD_PURPOSES = (
    Evidence.Purpose.ON_SPOT,
    Evidence.Purpose.RECTIFICATION,
    Evidence.Purpose.REINSPECTION,
)
# A photo is copied aside while it is hashed, for its EXIF and thumbnail; past this size the
# copy spills to a temporary file, never to memory.
PHOTO_SPOOL_BYTES = 1024 * 1024


def _require_evidence_place(actor, inspection, hazard):
    """404 unless `actor` may see the inspection (or the hazard) the evidence would belong to."""
    if hazard is not None:
        visible = hazards_visible_to(actor).filter(pk=hazard.pk)
    else:
        visible = inspections_visible_to(actor).filter(pk=inspection.pk)
    if not visible.exists():
        raise Http404
    if hazard is not None and hazard.inspection_id != inspection.pk:
        raise ValidationError({"hazard": [_("该隐患不属于这次检查。")]})


def _require_evidence_right(actor, inspection, hazard, purpose):
    """Who may add evidence where: the agency holding the firm, to its own inspection while
    that is editable, or to a rectified hazard it re-inspects; the firm's user, to its own
    hazard awaiting rectification."""
    membership = membership_of(actor)
    if purpose == Evidence.Purpose.RECTIFICATION:
        if (
            membership is None
            or membership.role != Role.FIRM_USER
            or membership.firm_id != hazard.firm_id
        ):
            raise PermissionDenied(_("只有该企业的用户可以上传整改材料。"))
        if hazard.status not in (Hazard.Status.OPEN, Hazard.Status.OVERDUE):
            raise InvalidTransition(_("只有待整改或逾期未整改的隐患可以上传整改材料。"))
        return
    if membership is None or not membership.is_agency_staff:
        raise PermissionDenied(_("只有负责该企业的服务机构人员可以上传检查材料。"))
    if not agency_holds_firm(membership.agency_id, inspection.firm_id):
        raise PermissionDenied(_("该企业目前不由本机构负责，不能上传材料。"))
    if purpose == Evidence.Purpose.REINSPECTION:
        if hazard.status != Hazard.Status.RECTIFIED:
            raise InvalidTransition(_("只有已整改、待复查的隐患可以上传复查材料。"))
        return
    if membership.agency_id != inspection.agency_id:
        raise PermissionDenied(_("这不是本机构的检查。"))
    if not inspection.is_editable:
        raise InvalidTransition(_("已提交的检查不能再添加材料。"))


def _upload_filename(filename):
    # Browsers send a bare name, some a whole path; only the name is the user's business.
    return PurePosixPath(str(filename or "").replace("\\", "/")).name.strip()[:255]


def _declared_errors(*, filename, content_type, size, sha256):
    errors = {}
    if not _upload_filename(filename):
        errors["filename"] = [_("请提供文件名。")]
    if content_type not in ALLOWED_TYPES:
        errors["content_type"] = [
            _("不支持的文件类型“%(type)s”：只能上传 JPEG、PNG、HEIC 照片，PDF 文件或 MP4 视频。")
            % {"type": content_type}
        ]
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        errors["size"] = [_("文件大小无效。")]
    elif size > settings.EVIDENCE_MAX_BYTES:
        errors["size"] = [
            _("文件过大（%(size).1f MB），单个文件不能超过 %(limit).0f MB。")
            % {"size": size / 2**20, "limit": settings.EVIDENCE_MAX_BYTES / 2**20}
        ]
    if not isinstance(sha256, str) or not SHA256_PATTERN.fullmatch(sha256.lower()):
        errors["sha256"] = [_("SHA-256 校验值应为 64 位十六进制数。")]
    return errors


def _evidence_key(inspection, content_type):
    return (
        f"bureau/{inspection.bureau_id}/agency/{inspection.agency_id}/inspection/{inspection.pk}/"
        f"{uuid.uuid4()}.{extension_for(content_type)}"
    )


def _same_upload(actor, *, inspection, hazard, purpose, content_type, sha256):
    """The evidence this request repeats: the file confirmed there already, or the actor's own
    slot for it still pending."""
    same_file = Evidence.objects.select_for_update().filter(
        inspection=inspection, hazard=hazard, purpose=purpose, sha256=sha256
    )
    return (
        same_file.filter(status=Evidence.Status.CONFIRMED).first()
        or same_file.filter(
            status=Evidence.Status.PENDING, uploaded_by=actor, content_type=content_type
        ).first()
    )


@transaction.atomic
def do_request_evidence_upload(
    *, actor, inspection, hazard=None, purpose, filename, content_type, size, sha256
):
    """An upload slot: `(evidence, upload)`, a pending Evidence row and the presigned POST
    (`{"url", "fields"}`) that puts its object in storage.

    Asking again for the same file (same inspection, hazard, purpose and SHA-256) reuses the
    actor's pending row with a fresh policy, so a retried upload leaves no duplicate; once the
    file is confirmed, its row comes back with `upload` None: there is nothing left to send."""
    _require_evidence_place(actor, inspection, hazard)
    if purpose not in Evidence.Purpose.values:
        raise ValidationError({"purpose": [_("未知的材料用途。")]})
    if purpose in HAZARD_PURPOSES and hazard is None:
        raise ValidationError({"hazard": [_("请指定材料所属的隐患。")]})
    _require_evidence_right(actor, inspection, hazard, purpose)
    errors = _declared_errors(
        filename=filename, content_type=content_type, size=size, sha256=sha256
    )
    if errors:
        raise ValidationError(errors)
    sha256 = sha256.lower()
    evidence = _same_upload(
        actor,
        inspection=inspection,
        hazard=hazard,
        purpose=purpose,
        content_type=content_type,
        sha256=sha256,
    )
    if evidence is not None and evidence.status == Evidence.Status.CONFIRMED:
        return evidence, None
    store = evidence_store()
    expires_at = timezone.now() + timedelta(seconds=settings.UPLOAD_SLOT_SECONDS)
    reused = evidence is not None
    if reused:
        # Whatever reached the old slot was never confirmed: clear it so the retry can land
        # (the local endpoint never overwrites an object).
        store.delete(evidence.key)
        evidence.filename, evidence.size = _upload_filename(filename), size
        evidence.expires_at = expires_at
        evidence.save(update_fields=["filename", "size", "expires_at"])
    else:
        evidence = Evidence.objects.create(
            bureau_id=inspection.bureau_id,
            inspection=inspection,
            hazard=hazard,
            purpose=purpose,
            key=_evidence_key(inspection, content_type),
            filename=_upload_filename(filename),
            content_type=content_type,
            size=size,
            sha256=sha256,
            uploaded_by=actor,
            expires_at=expires_at,
        )
    upload = store.presign_post(
        key=evidence.key,
        content_type=content_type,
        size=size,
        expires_in=settings.UPLOAD_SLOT_SECONDS,
    )
    record_audit_event(
        actor=actor,
        action="evidence.upload_requested",
        target=evidence,
        bureau=inspection.bureau,
        detail={
            "inspection": str(inspection.pk),
            "hazard": str(hazard.pk) if hazard else None,
            "purpose": purpose,
            "filename": evidence.filename,
            "size": size,
            "reused": reused,
        },
    )
    return evidence, upload


def do_confirm_evidence(*, actor, evidence):
    """Accept the uploaded object once it proves to be what was declared: there, of the
    declared size within the limit, of an allowed type by its first bytes (the declared one),
    with the declared SHA-256. This is the real guard: not every S3 server enforces the POST
    policy. Anything wrong deletes the object and the row and raises EvidenceRejected.

    Not atomic as a whole, on purpose: a refusal must commit the deletion before it raises,
    and the object is read from storage outside any database transaction."""
    if evidence.status == Evidence.Status.CONFIRMED:
        return evidence
    if evidence.uploaded_by_id != actor.pk:
        raise Http404
    store = evidence_store()
    try:
        detected, photo = _checked_object(store, evidence)
    except EvidenceRejected as rejection:
        confirmed = _discard_evidence(actor, store, evidence, rejection)
        if confirmed is None:
            raise
        return confirmed
    facts, thumbnail_key = (None, None, None), ""
    if photo is not None:
        with photo:
            facts, thumbnail_key = photo_facts(photo), _store_thumbnail(store, evidence, photo)
    return _accept_evidence(actor, store, evidence, detected, facts, thumbnail_key)


def _checked_object(store, evidence):
    """`(sniffed type, seekable copy or None)` of the object once every check passes; a copy
    is kept for photos only. The type is sniffed from the same stream that is hashed, so the
    object cannot change between the two checks."""
    if timezone.now() > evidence.expires_at:
        raise EvidenceRejected(_("上传时限已过，请重新上传。"))
    size = store.size_of(evidence.key)
    if size is None:
        raise EvidenceRejected(_("没有收到上传的文件，请重新上传。"))
    if size != evidence.size:
        raise EvidenceRejected(
            _("文件大小与声明不符：声明 %(declared)d 字节，实际 %(actual)d 字节。")
            % {"declared": evidence.size, "actual": size}
        )
    if size > settings.EVIDENCE_MAX_BYTES:
        raise EvidenceRejected(_("文件超过大小上限。"))
    with closing(store.chunks(evidence.key)) as chunks:
        head = b""
        for chunk in chunks:
            head += chunk
            if len(head) >= HEAD_BYTES:
                break
        detected = _sniffed_as_declared(head[:HEAD_BYTES], evidence.content_type)
        copy = (
            tempfile.SpooledTemporaryFile(max_size=PHOTO_SPOOL_BYTES)
            if detected in PHOTO_TYPES
            else None
        )
        digest = hashlib.sha256()
        for chunk in chain([head], chunks):
            digest.update(chunk)
            if copy is not None:
                copy.write(chunk)
    if digest.hexdigest() != evidence.sha256:
        if copy is not None:
            copy.close()
        raise EvidenceRejected(
            _("文件的 SHA-256 校验值与声明不符，文件可能在上传中损坏，请重新上传。")
        )
    return detected, copy


def _sniffed_as_declared(head, declared):
    detected = sniff_type(head)
    if detected is None:
        raise EvidenceRejected(_("文件内容不是允许的类型（JPEG、PNG、HEIC、PDF、MP4）。"))
    if detected != declared:
        raise EvidenceRejected(
            _("文件内容是 %(detected)s，与声明的 %(declared)s 不符。")
            % {"detected": detected, "declared": declared}
        )
    return detected


def _store_thumbnail(store, evidence, photo):
    thumbnail = make_thumbnail(photo)
    if thumbnail is None:
        return ""
    key = evidence.key + ".thumb.jpg"
    store.put(key, thumbnail, "image/jpeg")
    return key


def _accept_evidence(actor, store, evidence, detected, facts, thumbnail_key):
    with transaction.atomic():
        locked = Evidence.objects.select_for_update().filter(pk=evidence.pk).first()
        if locked is None:
            # The purge took the expired slot while the object was being checked.
            for key in filter(None, (evidence.key, thumbnail_key)):
                store.delete(key)
            raise EvidenceRejected(_("上传时限已过，请重新上传。"))
        if locked.status == Evidence.Status.CONFIRMED:
            # A concurrent confirmation of the same upload won.
            return locked
        locked.taken_at, locked.taken_latitude, locked.taken_longitude = facts
        locked.thumbnail_key = thumbnail_key
        locked.status = Evidence.Status.CONFIRMED
        locked.confirmed_at = timezone.now()
        locked.save()
        record_audit_event(
            actor=actor,
            action="evidence.confirmed",
            target=locked,
            bureau=locked.bureau,
            detail={"sha256": locked.sha256, "size": locked.size, "type": detected},
        )
    return locked


def _discard_evidence(actor, store, evidence, rejection):
    """Delete a refused upload, object and row, with an audit event; None. If a concurrent
    confirmation has accepted it meanwhile, nothing is deleted and that evidence is returned."""
    with transaction.atomic():
        pending = Evidence.objects.select_for_update().filter(pk=evidence.pk).first()
        if pending is not None and pending.status == Evidence.Status.CONFIRMED:
            return pending
        store.delete(evidence.key)
        if pending is not None:
            pending.delete()
            record_audit_event(
                actor=actor,
                action="evidence.rejected",
                target=evidence,
                bureau=evidence.bureau,
                detail={"reason": " ".join(rejection.messages), "filename": evidence.filename},
            )
    return None


@transaction.atomic
def do_issue_evidence_download(*, actor, evidence, thumbnail=False):
    """A short-lived URL to the confirmed evidence object (or to its thumbnail), recorded in
    the audit log. The caller has looked the evidence up within what `actor` may see."""
    if evidence.status != Evidence.Status.CONFIRMED or (thumbnail and not evidence.thumbnail_key):
        raise Http404
    key = evidence.thumbnail_key if thumbnail else evidence.key
    filename = evidence.filename
    if thumbnail:
        filename = f"{PurePosixPath(filename).stem}.thumb.jpg"
    record_audit_event(
        actor=actor,
        action="evidence.downloaded",
        target=evidence,
        bureau=evidence.bureau,
        detail={"thumbnail": bool(thumbnail)},
    )
    return evidence_store().download_url(
        key=key, filename=filename, expires_in=settings.DOWNLOAD_URL_SECONDS
    )


@transaction.atomic
def do_purge_expired_uploads(*, actor=None):
    """Delete the upload slots never confirmed in time, with whatever reached storage for
    them; the number deleted. Running it again deletes nothing more."""
    stale = list(
        Evidence.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=Evidence.Status.PENDING, expires_at__lt=timezone.now())
        .select_related("bureau")
        .order_by("bureau_id")
    )
    store = evidence_store()
    for evidence in stale:
        store.delete(evidence.key)
    for _bureau_id, rows in groupby(stale, key=attrgetter("bureau_id")):
        rows = list(rows)
        record_audit_events(
            actor=actor,
            action="evidence.expired",
            targets=rows,
            bureau=rows[0].bureau,
            detail_of=lambda row: {
                "filename": row.filename,
                "uploaded_by": str(row.uploaded_by_id),
            },
        )
    Evidence.objects.filter(pk__in=[evidence.pk for evidence in stale]).delete()
    return len(stale)
