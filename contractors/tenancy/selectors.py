"""Every read of tenancy (agencies, contracts, assignments, the firms' object permissions), scoped
to who is asking: `access_*_by_id` answers 404 for missing and forbidden alike."""

import re
from dataclasses import dataclass

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, UUIDField
from django.http import Http404
from django.utils.translation import gettext as _

from contractors.register.models import (
    Firm,
)
from contractors.register.uscc import normalise_uscc, uscc_error
from contractors.tenancy.models import (
    Agency,
    Assignment,
    Contract,
    FirmGroupObjectPermission,
    FirmUserObjectPermission,
)
from portal.access import membership_of
from portal.models import AGENCY_ROLES, Membership, Role, User


# Unordered: the models' default orderings would add a sort of the one row to every plan.
def _permission_id(codename):
    permission = Permission.objects.filter(content_type__app_label="contractors", codename=codename)
    return Subquery(permission.order_by().values("pk")[:1])


def _agency_group_id(agency_id):
    return Subquery(Agency.objects.filter(pk=agency_id).order_by().values("group_id")[:1])


def _granted(permission_model, codename, **holder):
    # The permission and the group by id, not through joins: the planner then estimates the
    # granted rows right and reads them from guardian's (holder, permission, object) index
    # (bench/README.md, the firm list).
    return Exists(
        permission_model.objects.filter(
            content_object=OuterRef("pk"), permission_id=_permission_id(codename), **holder
        )
    )


def firms_visible_to(user):
    """The firms `user` may see: the bureau's whole register for its staff; for agency staff the
    firms their agency's group may view; for a firm user the firm it may view."""
    membership = membership_of(user)
    if membership is None:
        return Firm.objects.none()
    if membership.is_bureau_staff:
        return Firm.objects.filter(bureau_id=membership.bureau_id)
    if membership.is_agency_staff:
        return Firm.objects.filter(
            _granted(
                FirmGroupObjectPermission,
                "view_firm",
                group_id=_agency_group_id(membership.agency_id),
            )
        )
    return Firm.objects.filter(_granted(FirmUserObjectPermission, "view_firm", user=user))


def count_firms_visible_to(user):
    """How many firms `user` may see (`firms_visible_to(user).count()`). For agency staff it
    counts the agency's permission rows alone, index-only from guardian's (group, permission,
    object) unique index: one row per firm, and the foreign key guarantees the firm exists, so
    the join to the firms would add nothing but its cost (bench/README.md, the firm list)."""
    membership = membership_of(user)
    if membership is not None and membership.is_agency_staff:
        return FirmGroupObjectPermission.objects.filter(
            group_id=_agency_group_id(membership.agency_id),
            permission_id=_permission_id("view_firm"),
        ).count()
    return firms_visible_to(user).count()


def _current_assignments():
    return Assignment.objects.filter(firm=OuterRef("pk"), ended_at__isnull=True).order_by()


def with_current_agency(firms):
    """Annotate each firm with its current agency and inspector (None when unassigned)."""
    current = _current_assignments()
    return firms.annotate(
        current_agency_id=Subquery(
            current.values("contract__agency_id")[:1], output_field=UUIDField()
        ),
        current_agency_name=Subquery(current.values("contract__agency__name")[:1]),
        current_inspector_id=Subquery(current.values("inspector_id")[:1], output_field=UUIDField()),
        current_inspector_name=Subquery(current.values("inspector__full_name")[:1]),
    )


def access_firm_by_id(user, firm_id):
    """The firm, if `user` may see it; 404 alike for missing and not visible."""
    firms = with_current_agency(firms_visible_to(user).select_related("street", "grid", "park"))
    try:
        return firms.get(pk=firm_id)
    except (Firm.DoesNotExist, ValidationError):
        raise Http404 from None


def contracts_visible_to(user):
    """Contracts with their current assignment count: all of the bureau's for its staff, its
    own for an agency's staff, none for anyone else."""
    membership = membership_of(user)
    if membership is None or not (membership.is_bureau_staff or membership.is_agency_staff):
        return Contract.objects.none()
    contracts = Contract.objects.filter(bureau_id=membership.bureau_id)
    if membership.is_agency_staff:
        contracts = contracts.filter(agency_id=membership.agency_id)
    return (
        contracts.select_related("agency")
        .annotate(assigned=Count("assignments", filter=Q(assignments__ended_at__isnull=True)))
        .order_by("-period_start", "agency__name", "pk")
    )


def access_contract_by_id(user, contract_id):
    """The contract, if `user` may see it; 404 alike for missing and not visible."""
    try:
        return contracts_visible_to(user).get(pk=contract_id)
    except (Contract.DoesNotExist, ValidationError):
        raise Http404 from None


def agencies_of(user):
    membership = membership_of(user)
    if membership is None or not membership.is_bureau_staff:
        return Agency.objects.none()
    return Agency.objects.filter(bureau_id=membership.bureau_id).order_by("name")


def inspectors_of(agency):
    return (
        Membership.objects.filter(agency=agency, role=Role.AGENCY_INSPECTOR)
        .select_related("user")
        .order_by("user__username")
    )


@dataclass
class FirmSelection:
    """Firms picked for a bulk assignment, and the pasted codes that could not be used."""

    firms: QuerySet
    problems: list


def select_firms_for_assignment(
    user, *, firm_ids=None, street=None, grid=None, park=None, key_category=None, codes=None
):
    """The bureau's firms matching every given criterion. Pasted credit codes that are
    malformed or not on the register are listed back as problems, one per code."""
    firms = firms_visible_to(user)
    problems = []
    if firm_ids is not None:
        firms = firms.filter(pk__in=firm_ids)
    firms = firms.in_place(street=street, grid=grid, park=park, key_category=key_category)
    if codes is not None:
        wanted, problems = _parse_codes(codes)
        known = set(firms.filter(uscc__in=wanted).values_list("uscc", flat=True))
        problems += [
            _("%(code)s：企业名录中没有这个统一社会信用代码") % {"code": code}
            for code in wanted
            if code not in known
        ]
        firms = firms.filter(uscc__in=wanted)
    return FirmSelection(firms=firms, problems=problems)


def _parse_codes(codes):
    wanted, problems = [], []
    for raw in codes:
        code = normalise_uscc(raw)
        if not code:
            continue
        error = uscc_error(code)
        if error:
            problems.append(f"{code}：{error}")
        elif code not in wanted:
            wanted.append(code)
    return wanted, problems


def split_pasted_codes(text):
    """Credit codes pasted from a spreadsheet: one per line, or separated by commas or spaces."""
    return [part for part in re.split(r"[\s,，;；、]+", text or "") if part]


def assignment_preview(contract, firms):
    """What assigning `firms` to `contract` would do, without doing it."""
    current = Assignment.objects.filter(firm__in=firms, ended_at__isnull=True)
    counts = firms.aggregate(total=Count("pk"))
    already = current.filter(contract=contract).count()
    moved = current.exclude(contract=contract).count()
    assigned = contract.assignments.filter(ended_at__isnull=True).count()
    adding = counts["total"] - already
    return {
        "total": counts["total"],
        "new": adding - moved,
        "moved": moved,
        "already": already,
        "quota": contract.quota,
        "current": assigned,
        "after": assigned + adding,
        "over_quota": assigned + adding > contract.quota,
    }


def contract_firms(contract):
    """The firms currently assigned to `contract` (one the caller may see), with their streets
    and inspectors, for a list page."""
    firms = Firm.objects.filter(Exists(_current_assignments().filter(contract=contract)))
    return with_current_agency(firms.select_related("street", "grid")).order_by("name", "uscc")


def assignment_sample(firms, *, limit):
    """The first `limit` of `firms` by name, with their streets and current agencies."""
    firms = with_current_agency(firms.select_related("street", "grid"))
    return firms.order_by("name", "uscc")[:limit]


def assignment_moves(contract, firms, *, named):
    """Where assigning `firms` to `contract` would take firms from: per agency the count, and
    the firms themselves when there are at most `named` of them."""
    moving = _current_assignments().exclude(contract=contract)
    by_agency = list(
        Assignment.objects.filter(firm__in=firms, ended_at__isnull=True)
        .exclude(contract=contract)
        .values(agency=F("contract__agency__name"))
        .annotate(firms=Count("pk"))
        .order_by("agency")
    )
    moving_firms = []
    if 0 < sum(row["firms"] for row in by_agency) <= named:
        moving_firms = list(assignment_sample(firms.filter(Exists(moving)), limit=named))
    return {"by_agency": by_agency, "firms": moving_firms}


def agency_holds_firm(agency_id, firm):
    """Whether the agency currently holds `firm`: its group may inspect it. The one rule behind
    starting, editing and submitting inspections and re-inspecting hazards."""
    return FirmGroupObjectPermission.objects.filter(
        group__agency=agency_id, content_object=firm, permission__codename="inspect_firm"
    ).exists()


def agency_staff_of(agency_id):
    """The agency's manager and inspectors, who may go on an inspection, by name."""
    return User.objects.filter(
        membership__agency_id=agency_id, membership__role__in=AGENCY_ROLES
    ).order_by("full_name", "username")
