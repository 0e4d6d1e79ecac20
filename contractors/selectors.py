"""Reads of register data, always scoped to who is asking."""

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import gettext as _

from contractors.models import (
    Agency,
    Assignment,
    Contract,
    Firm,
    FirmGroupObjectPermission,
    FirmUserObjectPermission,
    KeyCategory,
    Park,
    RegisterImport,
    Street,
)
from contractors.uscc import normalise_uscc, uscc_error
from portal.access import membership_of
from portal.models import Membership, Role

NOT_KEY_SUPERVISED = "none"


def _granted(permission_model, codename, **holder):
    return Exists(
        permission_model.objects.filter(
            content_object=OuterRef("pk"), permission__codename=codename, **holder
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
            _granted(FirmGroupObjectPermission, "view_firm", group__agency=membership.agency_id)
        )
    return Firm.objects.filter(_granted(FirmUserObjectPermission, "view_firm", user=user))


def _current_assignments():
    return Assignment.objects.filter(firm=OuterRef("pk"), ended_at__isnull=True)


def with_current_agency(firms):
    """Annotate each firm with its current agency and inspector (None when unassigned)."""
    current = _current_assignments()
    return firms.annotate(
        current_agency_id=Subquery(current.values("contract__agency_id")[:1]),
        current_agency_name=Subquery(current.values("contract__agency__name")[:1]),
        current_inspector_id=Subquery(current.values("inspector_id")[:1]),
        current_inspector_name=Subquery(current.values("inspector__full_name")[:1]),
    )


def search_firms(user, *, q="", street=None, park=None, key_category=None, agency=None, mine=False):
    """The visible firms matching a register search, ready for a list page (no query per row).

    `key_category` is a KeyCategory value, NOT_KEY_SUPERVISED, or empty for any; `agency`
    keeps the firms currently assigned to that agency; `mine` the firms shared out to `user`."""
    firms = with_current_agency(firms_visible_to(user).select_related("street", "grid", "park"))
    if q:
        q = q.strip()
        firms = firms.filter(Q(name__icontains=q) | Q(uscc__icontains=q.upper()))
    if street:
        firms = firms.filter(street_id=street)
    if park:
        firms = firms.filter(park_id=park)
    if key_category == NOT_KEY_SUPERVISED:
        firms = firms.filter(key_category="")
    elif key_category:
        firms = firms.filter(key_category=key_category)
    if agency:
        firms = firms.filter(Exists(_current_assignments().filter(contract__agency_id=agency)))
    if mine:
        firms = firms.filter(Exists(_current_assignments().filter(inspector=user)))
    return firms.order_by("name", "uscc")


def access_firm_by_id(user, firm_id):
    """The firm, if `user` may see it; 404 alike for missing and not visible."""
    firms = with_current_agency(firms_visible_to(user).select_related("street", "grid", "park"))
    try:
        return firms.get(pk=firm_id)
    except (Firm.DoesNotExist, ValidationError):
        raise Http404 from None


def streets_of(user):
    membership = membership_of(user)
    if membership is None:
        return Street.objects.none()
    return Street.objects.filter(bureau_id=membership.bureau_id).order_by("code")


def parks_of(user):
    membership = membership_of(user)
    if membership is None:
        return Park.objects.none()
    return Park.objects.filter(bureau_id=membership.bureau_id).order_by("name")


def access_register_import_by_id(user, import_id):
    """A register import of the user's bureau: 404 outside the bureau, 403 for bureau staff
    who are not its admins."""
    membership = membership_of(user)
    if membership is None or not membership.is_bureau_staff:
        raise Http404
    try:
        register_import = RegisterImport.objects.select_related("uploaded_by").get(
            pk=import_id, bureau_id=membership.bureau_id
        )
    except (RegisterImport.DoesNotExist, ValidationError):
        raise Http404 from None
    if membership.role != Role.BUREAU_ADMIN:
        raise PermissionDenied
    return register_import


def register_summary(user):
    """Firm counts of the visible register, in one aggregate query."""
    return firms_visible_to(user).aggregate(
        firms=Count("pk"),
        key_units=Count("pk", filter=~Q(key_category="")),
        fire=Count("pk", filter=Q(key_category=KeyCategory.FIRE)),
        construction=Count("pk", filter=Q(key_category=KeyCategory.CONSTRUCTION)),
        key_places=Count("pk", filter=Q(key_category=KeyCategory.KEY_PLACE)),
        in_parks=Count("pk", filter=Q(park__isnull=False)),
    )


def recent_register_imports(user, *, limit=5):
    membership = membership_of(user)
    if membership is None or membership.role != Role.BUREAU_ADMIN:
        return RegisterImport.objects.none()
    return RegisterImport.objects.filter(bureau_id=membership.bureau_id).select_related(
        "uploaded_by"
    )[:limit]


def contracts_visible_to(user):
    """Contracts with their current assignment count: all of the bureau's for its staff, its
    own for an agency's staff, none for anyone else."""
    membership = membership_of(user)
    if membership is None or not (membership.is_bureau_staff or membership.is_agency_staff):
        return Contract.objects.none()
    contracts = Contract.objects.filter(bureau_id=membership.bureau_id)
    if membership.is_agency_staff:
        contracts = contracts.filter(agency_id=membership.agency_id)
    return contracts.select_related("agency").annotate(
        assigned=Count("assignments", filter=Q(assignments__ended_at__isnull=True))
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
    if street:
        firms = firms.filter(street_id=street)
    if grid:
        firms = firms.filter(grid_id=grid)
    if park:
        firms = firms.filter(park_id=park)
    if key_category == NOT_KEY_SUPERVISED:
        firms = firms.filter(key_category="")
    elif key_category:
        firms = firms.filter(key_category=key_category)
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
