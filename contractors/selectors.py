"""Reads of register data, always scoped to who is asking."""

import re
from dataclasses import dataclass

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, UUIDField
from django.http import Http404
from django.utils.translation import gettext as _

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
    FirmUserObjectPermission,
    Grid,
    Hazard,
    Inspection,
    KeyCategory,
    Park,
    RegisterImport,
    Street,
)
from contractors.uscc import normalise_uscc, uscc_error
from portal.access import membership_of
from portal.models import AGENCY_ROLES, Membership, Role, User

NOT_KEY_SUPERVISED = "none"


def _permission_id(codename):
    return Subquery(
        Permission.objects.filter(content_type__app_label="contractors", codename=codename).values(
            "pk"
        )[:1]
    )


def _agency_group_id(agency_id):
    return Subquery(Agency.objects.filter(pk=agency_id).values("group_id")[:1])


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


def _current_assignments():
    return Assignment.objects.filter(firm=OuterRef("pk"), ended_at__isnull=True)


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
    # A firm user may not learn which agency holds its firm by filtering for it.
    if agency and getattr(membership_of(user), "role", None) != Role.FIRM_USER:
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


def grids_of(user):
    """The grids of the user's bureau, with their streets, in street order."""
    membership = membership_of(user)
    if membership is None:
        return Grid.objects.none()
    return (
        Grid.objects.filter(street__bureau_id=membership.bureau_id)
        .select_related("street")
        .order_by("street__code", "name")
    )


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


# --- Inspections and hazards -------------------------------------------------------------------


def current_checklist(bureau):
    """The checklist version new inspections of `bureau` use, or None before one is installed."""
    return Checklist.objects.filter(bureau=bureau, is_current=True).first()


def checklist_in_use(checklist):
    """Whether an inspection has used this checklist version, which then must not change."""
    return checklist is not None and Inspection.objects.filter(checklist=checklist).exists()


def agency_holds_firm(agency_id, firm):
    """Whether the agency currently holds `firm`: its group may inspect it. The one rule behind
    starting, editing and submitting inspections and re-inspecting hazards."""
    return FirmGroupObjectPermission.objects.filter(
        group__agency=agency_id, content_object=firm, permission__codename="inspect_firm"
    ).exists()


def _inspections_of(membership):
    if membership is None:
        return Inspection.objects.none()
    inspections = Inspection.objects.filter(bureau_id=membership.bureau_id)
    if membership.is_bureau_staff:
        return inspections
    if membership.is_agency_staff:
        # By the agency that did them, not by the firm's current agency: the work stays with
        # the agency after the firm moves.
        return inspections.filter(agency_id=membership.agency_id)
    return inspections.filter(firm_id=membership.firm_id, submitted_at__isnull=False)


def inspections_visible_to(user):
    """The inspections `user` may see: the bureau's all for its staff; for agency staff the
    agency's own, even of firms it no longer holds; for a firm user its firm's once submitted,
    never drafts."""
    return (
        _inspections_of(membership_of(user))
        .select_related("firm", "agency", "contract", "checklist", "created_by")
        .prefetch_related("inspectors")
    )


def may_work_on_inspection(user, inspection):
    """Whether `user` may do the agency's work on `inspection`: staff of its agency while that
    agency still holds the firm. Whether the inspection's state allows it is the service's
    concern."""
    membership = membership_of(user)
    return (
        membership is not None
        and membership.is_agency_staff
        and membership.agency_id == inspection.agency_id
        and agency_holds_firm(membership.agency_id, inspection.firm_id)
    )


def access_inspection_by_id(user, inspection_id, *, write=False):
    """The inspection, if `user` may see it (404 alike for missing and not visible); with
    `write`, 403 unless `user` may do the agency's work on it."""
    try:
        inspection = inspections_visible_to(user).get(pk=inspection_id)
    except (Inspection.DoesNotExist, ValidationError):
        raise Http404 from None
    if write and not may_work_on_inspection(user, inspection):
        raise PermissionDenied
    return inspection


def checklist_with_answers(inspection):
    """The items of the inspection's checklist in order, each annotated with its `answer`,
    `answer_note` and the `hazard_id` recorded for it (None where there is none yet)."""
    answers = ChecklistAnswer.objects.filter(inspection=inspection, item=OuterRef("pk"))
    hazards = Hazard.objects.filter(inspection=inspection, item=OuterRef("pk")).order_by(
        "created_at"
    )
    return (
        ChecklistItem.objects.filter(checklist_id=inspection.checklist_id)
        .annotate(
            answer=Subquery(answers.values("answer")[:1]),
            answer_note=Subquery(answers.values("note")[:1]),
            hazard_id=Subquery(hazards.values("pk")[:1], output_field=UUIDField()),
        )
        .order_by("position")
    )


def with_last_inspection(firms, user):
    """Annotate each firm with the latest inspection of it that `user` may see:
    `last_inspection_id`, `last_inspected_on`, `last_inspection_status` (None when none)."""
    last = (
        _inspections_of(membership_of(user))
        .filter(firm=OuterRef("pk"))
        .order_by("-inspected_on", "-created_at")
    )
    return firms.annotate(
        last_inspection_id=Subquery(last.values("pk")[:1], output_field=UUIDField()),
        last_inspected_on=Subquery(last.values("inspected_on")[:1]),
        last_inspection_status=Subquery(last.values("status")[:1]),
    )


def hazards_visible_to(user):
    """The hazards `user` may see: the bureau's all for its staff; for agency staff those of
    its own inspections, and the submitted ones of the firms it holds now (it re-inspects
    them); for a firm user its firm's of submitted inspections."""
    membership = membership_of(user)
    if membership is None:
        return Hazard.objects.none()
    hazards = Hazard.objects.filter(inspection__bureau_id=membership.bureau_id)
    if membership.is_agency_staff:
        held = firms_visible_to(user).values("pk")
        hazards = hazards.filter(
            Q(inspection__agency_id=membership.agency_id)
            | Q(inspection__submitted_at__isnull=False, firm__in=held)
        )
    elif not membership.is_bureau_staff:
        hazards = hazards.filter(firm_id=membership.firm_id, inspection__submitted_at__isnull=False)
    return hazards.select_related("firm", "inspection", "inspection__agency", "item")


def access_hazard_by_id(user, hazard_id):
    """The hazard, if `user` may see it; 404 alike for missing and not visible."""
    try:
        return hazards_visible_to(user).get(pk=hazard_id)
    except (Hazard.DoesNotExist, ValidationError):
        raise Http404 from None


# --- The inspector's and the firm's pages ------------------------------------------------------


def agency_staff_of(agency_id):
    """The agency's manager and inspectors, who may go on an inspection, by name."""
    return User.objects.filter(
        membership__agency_id=agency_id, membership__role__in=AGENCY_ROLES
    ).order_by("full_name", "username")


def in_period(queryset, *, date_from=None, date_to=None, prefix=""):
    """Rows of inspections submitted with an inspection date in the period, as the statistics
    count them (drafts never count); unchanged without a period."""
    if not (date_from or date_to):
        return queryset
    queryset = queryset.filter(**{f"{prefix}submitted_at__isnull": False})
    if date_from:
        queryset = queryset.filter(**{f"{prefix}inspected_on__gte": date_from})
    if date_to:
        queryset = queryset.filter(**{f"{prefix}inspected_on__lte": date_to})
    return queryset


def filter_hazards(
    hazards,
    *,
    date_from=None,
    date_to=None,
    status=None,
    category=None,
    level=None,
    street=None,
    park=None,
    agency=None,
):
    """The hazards behind a dashboard figure: by inspection period, state, kind and place."""
    hazards = in_period(hazards, date_from=date_from, date_to=date_to, prefix="inspection__")
    wanted = {
        "status": status,
        "category": category,
        "level": level,
        "firm__street": street,
        "firm__park": park,
        "inspection__agency": agency,
    }
    return hazards.filter(**{field: value for field, value in wanted.items() if value})


def hazards_awaiting_reinspection(user):
    """Rectified hazards of the firms the user's agency holds now: the agency re-inspects them."""
    held = firms_visible_to(user).values("pk")
    return hazards_visible_to(user).filter(status=Hazard.Status.RECTIFIED, firm__in=held)


# --- Evidence ----------------------------------------------------------------------------------


def evidence_visible_to(user):
    """The evidence `user` may see: confirmed files of the inspections and hazards it may see,
    and its own uploads still awaiting confirmation there."""
    if membership_of(user) is None:
        return Evidence.objects.none()
    where = Q(inspection__in=inspections_visible_to(user).values("pk")) | Q(
        hazard__in=hazards_visible_to(user).values("pk")
    )
    mine_pending = Q(status=Evidence.Status.PENDING, uploaded_by=user)
    return Evidence.objects.filter(
        where, Q(status=Evidence.Status.CONFIRMED) | mine_pending
    ).select_related("bureau", "inspection", "hazard", "uploaded_by")


def access_evidence_by_id(user, evidence_id):
    """The evidence, if `user` may see it; 404 alike for missing and not visible."""
    try:
        return evidence_visible_to(user).get(pk=evidence_id)
    except (Evidence.DoesNotExist, ValidationError):
        raise Http404 from None
