from portal.models import AuditEvent
from portal.request_context import client_ip


def record_audit_event(*, actor, action, target=None, bureau=None, detail=None):
    """Append an audit event; called inside the service's transaction so both land or neither."""
    return AuditEvent.objects.create(
        actor=actor,
        bureau=bureau,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        ip_address=client_ip.get(),
        detail=detail or {},
    )
