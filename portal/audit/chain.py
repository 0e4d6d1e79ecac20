"""The audit log's hash chain (ASVS 5.0 V16.4.2, logs protected from modification).

Each bureau's events form one chain, and the events of no bureau another, so that bureaus do
not wait for each other. An event's `hash` is SHA-256 over its canonical form (`canonical`),
which includes its number in the chain and the previous event's hash: altering a field breaks
the event's hash, deleting or moving an event breaks the numbering and the next event's link,
and deleting the last events leaves the chain's head (`AuditChainHead`) pointing past them.
"""

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.models import AuditChainHead
from portal.models import AuditEvent

# Part of every hash, so that a later change of the canonical form can tell old links apart.
FORM = "audit-v1"
HEADS = AuditChainHead._meta.db_table


def chain_key(bureau_id):
    return str(bureau_id) if bureau_id else ""


def _address(value):
    # PostgreSQL's inet hands an address back in its own spelling (IPv6 compressed): hash the
    # address, not the text.
    if not value:
        return ""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return str(value)


def _plain(value):
    """The detail as JSON reads it back from either database: PostgreSQL's jsonb keeps numbers
    as numerics, so a whole float (1.0, 1e20) may come back as an integer."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def canonical(event, previous_hash):
    """The bytes an event's hash covers: every field that says what happened, in one order."""
    fields = [
        FORM,
        event.sequence,
        previous_hash,
        event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        chain_key(event.actor_id),
        chain_key(event.bureau_id),
        event.action,
        event.target_type,
        event.target_id,
        _address(event.ip_address),
        _plain(event.detail),
    ]
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(event, previous_hash):
    return hashlib.sha256(canonical(event, previous_hash)).hexdigest()


def _locked_head(cursor, key):
    """(id, sequence, hash) of the chain's head, locked until the transaction ends. Plain SQL:
    every audited write passes here, and the ORM's compiling would double its cost."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    select = f"SELECT id, sequence, hash FROM {HEADS} WHERE chain = %s{lock}"
    cursor.execute(select, [key])
    head = cursor.fetchone()
    if head is None:
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(chain=key)
        except IntegrityError:
            pass  # a concurrent writer started the chain: its lock is waited for below
        cursor.execute(select, [key])
        head = cursor.fetchone()
    return head


def append(events):
    """Link `events` (all of one bureau, in order) after their chain's head and save them.

    The head stays locked until the caller's transaction ends, so the chain's writers take
    turns: the services call this last, when their own writes are done."""
    if not events:
        return
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        head, sequence, previous = _locked_head(cursor, chain_key(events[0].bureau_id))
        now = timezone.now()
        for event in events:
            sequence += 1
            event.sequence = sequence
            event.at = now
            event.hash = previous = digest(event, previous)
        if len(events) == 1:
            events[0].save()
        else:
            AuditEvent.objects.bulk_create(events, batch_size=500)
        cursor.execute(
            f"UPDATE {HEADS} SET sequence = %s, hash = %s WHERE id = %s", [sequence, previous, head]
        )


@dataclass(frozen=True)
class Verdict:
    """One chain walked: how many events hold, and the first that does not (None: all do)."""

    key: str
    verified: int
    broken: AuditEvent | None = None
    problem: str = ""

    @property
    def ok(self):
        return not self.problem


def verify(key):
    """Walk the chain `key` from its first event, checking each link, then its head."""
    events = AuditEvent.objects.filter(
        **({"bureau_id": key} if key else {"bureau__isnull": True})
    ).order_by("sequence")
    previous, verified = "", 0
    for event in events.iterator(chunk_size=2000):
        expected = verified + 1
        if event.sequence != expected:
            problem = _("序号为 %(found)d，应为 %(expected)d：其前的事件被删除或移动") % {
                "found": event.sequence,
                "expected": expected,
            }
            return Verdict(key, verified, event, problem)
        if event.hash != digest(event, previous):
            problem = _("哈希值不符：事件被修改，或不在原来的位置")
            return Verdict(key, verified, event, problem)
        previous, verified = event.hash, expected
    head = AuditChainHead.objects.filter(chain=key).first()
    if verified and (head is None or (head.sequence, head.hash) != (verified, previous)):
        problem = _(
            "链尾记录为第 %(head)d 条，实有 %(found)d 条：末尾的事件被删除，或链尾被改动"
        ) % {
            "head": head.sequence if head else 0,
            "found": verified,
        }
        return Verdict(key, verified, None, problem)
    if not verified and head is not None and head.sequence:
        problem = _("链尾记录为第 %(head)d 条，实有 0 条：事件被删除") % {"head": head.sequence}
        return Verdict(key, 0, None, problem)
    return Verdict(key, verified)


def chain_keys():
    """Every chain there is: those with a head and those with events (a head lost is a break)."""
    keys = set(AuditChainHead.objects.values_list("chain", flat=True))
    bureaus = AuditEvent.objects.order_by().values_list("bureau_id", flat=True).distinct()
    keys.update(chain_key(bureau_id) for bureau_id in bureaus)
    return sorted(keys)
