"""The audit table refuses UPDATE and DELETE below the ORM (ASVS 5.0 V16.4.2), and the admin
shows events without a way to add, change or delete one."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from portal.audit import triggers
from portal.models import AuditEvent, Bureau, User
from portal.services import record_audit_event


@pytest.fixture
def event(bureau):
    return record_audit_event(actor=None, action="firm.updated", bureau=bureau, detail={"a": 1})


def refused(sql, params):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def db_id(event):
    return event.pk.hex if connection.vendor == "sqlite" else event.pk


def test_v16_4_2_a_raw_update_of_an_audit_event_is_refused_by_the_database(event):
    refused("UPDATE portal_auditevent SET action = %s WHERE id = %s", ["x", db_id(event)])
    refused("UPDATE portal_auditevent SET detail = %s", ["{}"])

    assert AuditEvent.objects.get(pk=event.pk).action == "firm.updated"


def test_v16_4_2_a_raw_delete_of_an_audit_event_is_refused_by_the_database(event):
    refused("DELETE FROM portal_auditevent WHERE id = %s", [db_id(event)])
    refused("DELETE FROM portal_auditevent", [])

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_v16_4_2_queryset_updates_and_deletes_are_refused_too(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    event.action = "x"
    with pytest.raises(ValueError, match="append-only"):
        event.save()

    assert AuditEvent.objects.get(pk=event.pk).action == "firm.updated"


def test_v16_4_2_even_a_superuser_cannot_add_change_or_delete_events_in_the_admin(client, event):
    root = User.objects.create_superuser("root", password="root-pass-2021")
    client.force_login(root)

    changelist = client.get(reverse("admin:portal_auditevent_changelist"))
    assert changelist.status_code == 200
    assert event.action.encode() in changelist.content
    assert client.get(reverse("admin:portal_auditevent_add")).status_code == 403
    page = reverse("admin:portal_auditevent_change", args=[event.pk])
    assert client.post(page, {"action": "x"}).status_code == 403
    delete = reverse("admin:portal_auditevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = client.post(
        reverse("admin:portal_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code in {200, 302}
    assert AuditEvent.objects.get(pk=event.pk).action == "firm.updated"


@pytest.mark.django_db(transaction=True)
def test_v16_4_2_flush_empties_the_whole_database_and_leaves_the_trigger_armed():
    """`flush` (`seed_demo --reset`) may empty the whole database, on SQLite too, where it is a
    DELETE per table: the backend lifts the trigger for that transaction only."""
    bureau = Bureau.objects.create(name="清空局", short_name="清", region_code="310196")
    record_audit_event(actor=None, action="before.flush", bureau=bureau)

    call_command("flush", interactive=False, verbosity=0)

    assert not AuditEvent.objects.exists()
    assert triggers.installed(connection)
    bureau = Bureau.objects.create(name="清空局", short_name="清", region_code="310196")
    event = record_audit_event(actor=None, action="after.flush", bureau=bureau)
    assert event.sequence == 1
    refused("DELETE FROM portal_auditevent WHERE id = %s", [db_id(event)])
