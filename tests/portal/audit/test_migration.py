"""Migration 0007 chains the events written before it, in the order they were written, and
only then arms the trigger (ASVS 5.0 V16.4.2)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from portal.audit import triggers
from portal.audit.chain import chain_key, verify

BEFORE = [("portal", "0006_bureau_managers_need_second_factor")]
AFTER = [("portal", "0007_audit_chain")]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_v16_4_2_the_events_before_the_migration_are_chained_oldest_first():
    old = migrate(BEFORE)
    try:
        assert not triggers.installed(connection)
        Bureau = old.get_model("portal", "Bureau")
        Event = old.get_model("portal", "AuditEvent")
        bureau = Bureau.objects.create(name="旧局", short_name="旧", region_code="310197")
        start = datetime(2021, 3, 1, 8, tzinfo=UTC)
        written = []
        for n in (2, 0, 1):  # written out of order: the chain follows their time
            event = Event.objects.create(bureau=bureau, action=f"old.{n}", detail={"n": n})
            Event.objects.filter(pk=event.pk).update(at=start + timedelta(minutes=n))
            written.append(event.pk)
        Event.objects.create(bureau=None, action="old.none")
    finally:
        new = migrate(AFTER)

    Event = new.get_model("portal", "AuditEvent")
    chained = Event.objects.filter(bureau_id=bureau.pk).order_by("sequence")
    assert [(e.sequence, e.action) for e in chained] == [(1, "old.0"), (2, "old.1"), (3, "old.2")]
    assert verify(chain_key(bureau.pk)).verified == 3
    assert verify(chain_key(None)).verified == 1
    assert triggers.installed(connection)
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(pk=written[0]).update(action="x")
