from django.db import transaction
from rest_framework.authtoken.models import Token

from contractors.models import FirmUserObjectPermission
from contractors.permissions import firm_permissions
from portal.models import AuditEvent, Membership
from portal.request_context import client_ip


def _audit_event(*, actor, action, target, bureau, detail):
    return AuditEvent(
        actor=actor,
        bureau=bureau,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        ip_address=client_ip.get(),
        detail=detail or {},
    )


def record_audit_event(*, actor, action, target=None, bureau=None, detail=None):
    """Append an audit event; called inside the service's transaction so both land or neither."""
    event = _audit_event(actor=actor, action=action, target=target, bureau=bureau, detail=detail)
    event.save()
    return event


def record_audit_events(*, actor, action, targets, bureau, detail_of):
    """One audit event per target, written in bulk; `detail_of(target)` gives each its detail."""
    AuditEvent.objects.bulk_create(
        [
            _audit_event(
                actor=actor, action=action, target=target, bureau=bureau, detail=detail_of(target)
            )
            for target in targets
        ],
        batch_size=500,
    )


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


@transaction.atomic
def do_issue_api_token(*, actor):
    """The user's API token, created on first request; the same key on later requests."""
    token, created = Token.objects.get_or_create(user=actor)
    if created:
        record_audit_event(
            actor=actor,
            action="auth.token_issued",
            target=actor,
            bureau=getattr(getattr(actor, "membership", None), "bureau", None),
        )
    return token
