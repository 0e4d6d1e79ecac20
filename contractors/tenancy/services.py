"""Every write of tenancy (agencies, contracts, assignments, the firms' object permissions):
`do_<verb>(*, actor, ...)`, atomic and audited."""

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors.register.models import Firm
from contractors.register.services import BATCH_SIZE
from contractors.register.uscc import normalise_uscc
from contractors.tenancy.models import (
    Agency,
    Assignment,
    Contract,
    FirmGroupObjectPermission,
    FirmUserObjectPermission,
)
from contractors.tenancy.permissions import FIRM_PERMISSIONS, firm_permissions
from portal.models import Membership, Role
from portal.services import record_audit_event, record_audit_events


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


@transaction.atomic
def do_add_member(*, actor, user, role, bureau, agency=None, firm=None):
    """Make `user` a member of one organisation with `role`, with the access that role brings:
    agency staff join the agency's group, a firm user may view its own firm."""
    membership = Membership.objects.create(
        user=user, role=role, bureau=bureau, agency=agency, firm=firm
    )
    if agency is not None:
        user.groups.add(agency.group)
    if firm is not None:
        FirmUserObjectPermission.objects.get_or_create(
            user=user, content_object=firm, permission=firm_permissions()["view_firm"]
        )
    record_audit_event(
        actor=actor,
        action="membership.created",
        target=user,
        bureau=bureau,
        detail={
            "role": role,
            "agency": str(agency.pk) if agency else None,
            "firm": str(firm.pk) if firm else None,
        },
    )
    return membership
