"""Every read of evidence (upload slots, confirmation, downloads, purging what was never
confirmed), scoped to who is asking: `access_*_by_id` answers 404 for missing and forbidden
alike."""

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404

from contractors.evidence.models import Evidence
from contractors.hazards.selectors import hazards_visible_to
from contractors.inspections.selectors import inspections_visible_to
from portal.access import membership_of


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


def evidence_of_inspection(user, inspection):
    """The confirmed evidence of `inspection` itself, not of its hazards (its page). The same
    rows as `evidence_visible_to(user)` narrowed to them, without the hazards' branch, whose
    permission subqueries cost the inspection's page more to build than the rows to read."""
    return Evidence.objects.filter(
        inspection__in=inspections_visible_to(user).filter(pk=inspection.pk).values("pk"),
        hazard=None,
        status=Evidence.Status.CONFIRMED,
    )


def access_evidence_by_id(user, evidence_id):
    """The evidence, if `user` may see it; 404 alike for missing and not visible."""
    try:
        return evidence_visible_to(user).get(pk=evidence_id)
    except (Evidence.DoesNotExist, ValidationError):
        raise Http404 from None
