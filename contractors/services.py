"""Writes to the enterprise register."""

import hashlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors.models import (
    Agency,
    Assignment,
    Contract,
    Firm,
    FirmGroupObjectPermission,
    Grid,
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
from contractors.uscc import normalise_uscc
from portal.models import Role
from portal.services import record_audit_event, record_audit_events

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
