"""Who may read the audit log, and the events they may read (ASVS 5.0 V16.4.1: the log is read
only by those it is kept for).

The bureau's admins read its log: it holds every user's logins and every change, which is the
admins' to oversee. Reviewers read the documents and their evidence, not who did what across
the bureau, so the log is not theirs; agency and firm users never see it. Everyone who may not
read it gets 404, as for a page that does not exist."""

from datetime import datetime, time, timedelta

from django.core.paginator import Paginator
from django.http import Http404
from django.utils import timezone

from portal.access import membership_of
from portal.models import AuditEvent, Role, User

EVENTS_PER_PAGE = 50


def audit_reader(user):
    """The membership of a user who may read the bureau's audit log; 404 for anyone else."""
    membership = membership_of(user)
    if membership is None or membership.role != Role.BUREAU_ADMIN:
        raise Http404
    return membership


def actors_of(membership):
    """The people whose events the reader may filter by: everyone of the bureau."""
    return User.objects.filter(membership__bureau_id=membership.bureau_id).order_by("username")


def _start_of(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_events(
    membership, *, actor=None, target_type="", target_id="", action="", date_from=None, date_to=None
):
    """The bureau's events that match, newest first (the chain's order), with their actors.
    `action` matches by its start, so that "firm." finds every change of a firm; days are the
    bureau's local days, both included."""
    events = AuditEvent.objects.filter(bureau_id=membership.bureau_id)
    if actor is not None:
        events = events.filter(actor=actor)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    if action:
        events = events.filter(action__startswith=action)
    if date_from:
        events = events.filter(at__gte=_start_of(date_from))
    if date_to:
        events = events.filter(at__lt=_start_of(date_to + timedelta(days=1)))
    return events.select_related("actor").order_by("-sequence")


def audit_event_page(events, number):
    return Paginator(events, EVENTS_PER_PAGE).get_page(number)
