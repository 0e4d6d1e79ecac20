"""The audit room's one write: an export of the log is itself an audit event (ASVS 5.0
V16.2.1, who read the log and what they took away)."""

from django.db import transaction

from portal.services import record_audit_event


@transaction.atomic
def do_record_audit_export(*, actor, bureau, filters, count):
    record_audit_event(
        actor=actor,
        action="audit.exported",
        bureau=bureau,
        detail={"filters": filters, "events": count},
    )
