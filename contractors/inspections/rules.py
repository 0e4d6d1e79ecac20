"""The rules the inspection work shares: who may act on an inspection or a hazard, in which
state, and the hooks that tell the layers above what changed (`contractors/hooks.py`)."""

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors import hooks
from contractors.hazards.models import Hazard
from contractors.inspections.models import Inspection
from contractors.tenancy.selectors import agency_holds_firm
from portal.access import membership_of
from portal.models import Role
from portal.validation import InvalidTransition


def bureau_today():
    # TIME_ZONE is the bureau's (Asia/Shanghai): deadlines and inspection dates are its days.
    return timezone.localdate()


def require_agency_staff(actor):
    membership = membership_of(actor)
    if membership is None or not membership.is_agency_staff:
        raise PermissionDenied(_("只有第三方服务机构的人员可以开展检查。"))
    return membership


def not_held_refusal():
    return PermissionDenied(_("该企业目前不由本机构负责，不能开展或修改检查。"))


def require_holding_agency(actor, firm, agency=None):
    """The actor's agency membership; the agency must hold `firm` now (and be `agency`)."""
    membership = require_agency_staff(actor)
    if agency is not None and membership.agency_id != agency.pk:
        raise PermissionDenied(_("这不是本机构的检查。"))
    if not agency_holds_firm(membership.agency_id, firm):
        raise not_held_refusal()
    return membership


def require_reviewer(actor, inspection):
    membership = membership_of(actor)
    if (
        membership is None
        or membership.role != Role.BUREAU_REVIEWER
        or membership.bureau_id != inspection.bureau_id
    ):
        raise PermissionDenied(_("只有管理局审核员可以审核检查。"))


def require_editable(inspection):
    if not inspection.is_editable:
        raise InvalidTransition(_("已提交的检查不能修改。"))


def note_inspection_changed(inspection):
    """What the statistics count of `inspection` may have changed: its date, its hazards, its
    being submitted (`reporting/notes.py`; nothing while it is a draft)."""
    hooks.inspections_changed.fire(inspections=Inspection.objects.filter(pk=inspection.pk))


def note_hazard_changed(hazard):
    """A hazard changed state (`reporting/notes.py`)."""
    hooks.hazards_changed.fire(hazards=Hazard.objects.filter(pk=hazard.pk))


def locked_inspection(inspection):
    return (
        Inspection.objects.select_for_update(of=("self",))
        .select_related("firm", "agency", "checklist")
        .get(pk=inspection.pk)
    )


def locked_hazard(hazard):
    return (
        Hazard.objects.select_for_update(of=("self",))
        .select_related("inspection", "firm")
        .get(pk=hazard.pk)
    )
