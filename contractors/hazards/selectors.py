"""Every read of hazards (record, edit, rectify, re-inspect, mark overdue), scoped to who is
asking: `access_*_by_id` answers 404 for missing and forbidden alike."""

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404

from contractors.hazards.models import Hazard
from contractors.inspections.selectors import in_period
from contractors.tenancy.selectors import firms_visible_to
from portal.access import membership_of


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
