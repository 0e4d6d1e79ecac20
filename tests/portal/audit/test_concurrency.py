"""Writers at the same moment cannot fork a chain (ASVS 5.0 V16.4.2), on PostgreSQL's row locks:
each waits for the chain's head, so the numbers stay gap-free and every link verifies."""

import threading

import pytest
from django.db import connection, transaction

from portal.audit.chain import chain_key, verify
from portal.models import AuditEvent, Bureau
from portal.services import record_audit_event, record_audit_events

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks of PostgreSQL"),
]


def at_once(count, action):
    """Run `action(n)` in `count` threads released together, each with its own connection."""
    barrier = threading.Barrier(count)
    errors = []

    def run(n):
        try:
            barrier.wait()
            action(n)
        except Exception as error:  # noqa: BLE001  (reported by the test below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_v16_4_2_two_writers_at_once_leave_one_unbroken_chain():
    bureau = Bureau.objects.create(name="并发局", short_name="并", region_code="310199")

    def write(n):
        for i in range(40):
            with transaction.atomic():
                record_audit_event(actor=None, action="t.single", bureau=bureau, detail={"n": n})
                if i % 10 == 0:
                    record_audit_events(
                        actor=None,
                        action="t.bulk",
                        targets=[bureau, bureau],
                        bureau=bureau,
                        detail_of=lambda target, i=i: {"n": n, "i": i},
                    )

    assert at_once(2, write) == []

    sequences = list(
        AuditEvent.objects.filter(bureau=bureau)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, 2 * (40 + 8) + 1))
    verdict = verify(chain_key(bureau.pk))
    assert verdict.ok, verdict.problem
    assert verdict.verified == len(sequences)


def test_v16_4_2_two_writers_starting_a_new_chain_at_once_share_one_head():
    bureau = Bureau.objects.create(name="新链局", short_name="新", region_code="310198")

    assert at_once(4, lambda n: record_audit_event(actor=None, action="t", bureau=bureau)) == []

    assert verify(chain_key(bureau.pk)).verified == 4
