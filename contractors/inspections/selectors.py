"""Every read of inspections (start, answer the checklist, submit, accept or return), scoped to who
is asking: `access_*_by_id` answers 404 for missing and forbidden alike."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery, UUIDField
from django.http import Http404

from contractors.checklists.models import ChecklistItem
from contractors.hazards.models import Hazard
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.tenancy.selectors import agency_holds_firm
from portal.access import membership_of


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
