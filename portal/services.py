"""The core's writes: the audit log every service appends to, and API tokens."""

from django.db import transaction
from rest_framework.authtoken.models import Token

from portal.access import bureau_of
from portal.audit import chain
from portal.models import AuditEvent
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
    """Append an audit event to its bureau's chain; called inside the service's transaction so
    both land or neither (the chain stays locked until it ends: call it last)."""
    event = _audit_event(actor=actor, action=action, target=target, bureau=bureau, detail=detail)
    chain.append([event])
    return event


def record_audit_events(*, actor, action, targets, bureau, detail_of):
    """One audit event per target, written in bulk and chained in the targets' order;
    `detail_of(target)` gives each its detail."""
    chain.append(
        [
            _audit_event(
                actor=actor, action=action, target=target, bureau=bureau, detail=detail_of(target)
            )
            for target in targets
        ]
    )


@transaction.atomic
def do_issue_api_token(*, actor):
    """The user's API token, created on first request; the same key on later requests."""
    token, created = Token.objects.get_or_create(user=actor)
    if created:
        record_audit_event(
            actor=actor,
            action="auth.token_issued",
            target=actor,
            bureau=bureau_of(actor),
        )
    return token
