"""The audit log's hash chain and `manage.py verify_audit` (ASVS 5.0 V16.4.2: logs protected
from modification; V16.4.3 gaps and tampering detected).

A test that tampers with the log first lifts the append-only trigger inside its own
transaction (`triggers.remove`), as someone with the database owner's rights could; the
rollback at the end of the test puts it back."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from portal.audit import triggers
from portal.audit.chain import chain_key, digest, verify
from portal.audit.models import AuditChainHead
from portal.models import AuditEvent, Bureau
from portal.services import record_audit_event, record_audit_events


@pytest.fixture
def other_bureau(db):
    return Bureau.objects.create(
        name="上海市静安区应急管理局", short_name="静", region_code="310106"
    )


def chain_of(bureau):
    return list(AuditEvent.objects.filter(bureau=bureau).order_by("sequence"))


def write(bureau, count, *, actor=None, action="firm.updated"):
    return [
        record_audit_event(actor=actor, action=action, bureau=bureau, detail={"n": n, "名称": "甲"})
        for n in range(count)
    ]


def verify_audit(*args):
    out = io.StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def refused_verify_audit(*args):
    with pytest.raises(CommandError) as refused:
        verify_audit(*args)
    return str(refused.value)


def test_v16_4_2_each_bureau_has_its_own_chain_numbered_from_one(bureau, other_bureau):
    write(bureau, 3)
    write(other_bureau, 2)
    write(None, 1)

    assert [e.sequence for e in chain_of(bureau)] == [1, 2, 3]
    assert [e.sequence for e in chain_of(other_bureau)] == [1, 2]
    assert AuditEvent.objects.get(bureau=None).sequence == 1
    first, second, third = chain_of(bureau)
    assert first.hash == digest(first, "")
    assert second.hash == digest(second, first.hash)
    assert third.hash == digest(third, second.hash)
    head = AuditChainHead.objects.get(chain=chain_key(bureau.pk))
    assert (head.sequence, head.hash) == (3, third.hash)


def test_v16_4_2_the_hash_covers_every_field_that_says_what_happened(cast):
    event = record_audit_event(
        actor=cast.admin,
        action="firm.updated",
        target=cast.firm_a,
        bureau=cast.bureau,
        detail={"name": "甲"},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    previous = previous_hash(stored)
    assert stored.hash == digest(stored, previous)
    for field, value in [
        ("action", "firm.deleted"),
        ("target_id", str(cast.firm_b.pk)),
        ("target_type", "portal.user"),
        ("actor_id", cast.reviewer.pk),
        ("ip_address", "10.0.0.9"),
        ("detail", {"name": "乙"}),
        ("at", stored.at.replace(year=2020)),
        ("sequence", 2),
    ]:
        changed = AuditEvent.objects.get(pk=event.pk)
        setattr(changed, field, value)
        assert digest(changed, previous) != stored.hash, field
    assert digest(stored, "0" * 64) != stored.hash


def test_v16_4_2_bulk_events_are_chained_in_the_order_of_their_targets(cast):
    before = len(chain_of(cast.bureau))
    firms = [cast.firm_b, cast.firm_a]

    record_audit_events(
        actor=cast.admin,
        action="firm.assigned",
        targets=firms,
        bureau=cast.bureau,
        detail_of=lambda firm: {"firm": firm.name},
    )

    events = chain_of(cast.bureau)
    assert [e.target_id for e in events[before:]] == [str(cast.firm_b.pk), str(cast.firm_a.pk)]
    assert [e.sequence for e in events] == list(range(1, before + 3))
    assert verify(chain_key(cast.bureau.pk)).ok


def test_v16_4_3_verify_audit_counts_each_chain_and_passes_an_untouched_log(bureau, other_bureau):
    write(bureau, 4)
    write(other_bureau, 2)

    out = verify_audit()

    assert f"{bureau.name}：4 条事件校验通过" in out
    assert f"{other_bureau.name}：2 条事件校验通过" in out
    assert verify_audit("--bureau", other_bureau.region_code).strip() == (
        f"{other_bureau.name}：2 条事件校验通过"
    )


def test_verify_audit_refuses_an_unknown_bureau_code(bureau):
    assert "没有行政区划代码为 999999 的管理局" in refused_verify_audit("--bureau", "999999")


def tamper(sql, params):
    triggers.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    triggers.install(connection)


def test_v16_4_3_an_altered_field_is_found_and_named(bureau, other_bureau):
    events = write(bureau, 4)
    write(other_bureau, 2)
    tamper(
        "UPDATE portal_auditevent SET detail = %s WHERE id = %s",
        ['{"n": 99, "名称": "甲"}', db_id(events[2])],
    )

    message = refused_verify_audit()

    assert f"{bureau.name}：前 2 条事件校验通过；第 3 条事件 {events[2].pk}" in message
    assert "哈希值不符" in message
    assert other_bureau.name not in message  # the other chain still holds
    assert "2 条事件校验通过" in verify_audit("--bureau", other_bureau.region_code)


def test_v16_4_3_a_row_deleted_from_the_middle_is_found_at_the_next_event(bureau):
    events = write(bureau, 5)
    tamper("DELETE FROM portal_auditevent WHERE id = %s", [db_id(events[1])])

    message = refused_verify_audit("--bureau", bureau.region_code)

    assert f"前 1 条事件校验通过；第 3 条事件 {events[2].pk}" in message
    assert "序号为 3，应为 2" in message


def test_v16_4_3_rows_deleted_from_the_end_are_found_at_the_chain_head(bureau):
    events = write(bureau, 5)
    tamper(
        "DELETE FROM portal_auditevent WHERE id IN (%s, %s)", [db_id(events[3]), db_id(events[4])]
    )

    message = refused_verify_audit()

    assert "前 3 条事件校验通过；链尾" in message
    assert "链尾记录为第 5 条，实有 3 条" in message


def test_v16_4_3_two_events_moved_into_each_others_place_are_found(bureau):
    events = write(bureau, 4)
    # Swap the numbers of events 2 and 3 (through a free number: the pair is unique).
    tamper("UPDATE portal_auditevent SET sequence = 100 WHERE id = %s", [db_id(events[1])])
    tamper("UPDATE portal_auditevent SET sequence = 2 WHERE id = %s", [db_id(events[2])])
    tamper("UPDATE portal_auditevent SET sequence = 3 WHERE id = %s", [db_id(events[1])])

    message = refused_verify_audit()

    assert f"前 1 条事件校验通过；第 2 条事件 {events[2].pk}" in message


def test_verify_audit_says_when_the_append_only_trigger_is_missing(bureau):
    write(bureau, 1)
    triggers.remove(connection)

    message = refused_verify_audit()

    assert "审计表缺少拒绝修改和删除的触发器" in message
    triggers.install(connection)
    assert "1 条事件校验通过" in verify_audit()


def previous_hash(event):
    if event.sequence == 1:
        return ""
    return AuditEvent.objects.get(bureau=event.bureau, sequence=event.sequence - 1).hash


def db_id(event):
    # Django keeps UUIDs as 32 hex digits on SQLite and as uuid on PostgreSQL.
    return event.pk.hex if connection.vendor == "sqlite" else event.pk
