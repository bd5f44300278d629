"""The tamper-evident audit trail: every event is chained to the one before by a SHA-256 hash.

Changing, inserting, reordering or deleting an event breaks the chain at that point, which
`manage.py verify_audit` reports. Database triggers refuse UPDATE and DELETE on audit rows
besides; `manage.py flush` (a deliberate wipe of the whole database) is the one thing that may
empty the table, through `audit_purge_allowed`.
"""

import hashlib
import ipaddress
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import IntegrityError, connection, connections, transaction

from findings.models import GENESIS_HASH, AuditChainHead, AuditEvent

HEAD_ID = 1
PURGE_SETTING = "domainflow.audit_purge"
SQLITE_PURGE_FUNCTION = "domainflow_audit_purge_allowed"


def event_hash(event: AuditEvent, previous_hash: str) -> str:
    payload = {
        "sequence": event.sequence,
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "finding_id": event.finding_id,
        "before": event.before,
        "after": event.after,
        "permission": event.permission,
        "request_id": event.request_id,
        "ip_address": _canonical_ip(event.ip_address),
        "user_agent": event.user_agent,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()


def _canonical_ip(address: str | None) -> str | None:
    """One spelling per address, as databases write some IPv6 forms back differently."""
    return ipaddress.ip_address(address).exploded if address else None


def _locked_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=HEAD_ID).first()
    if head is not None:
        return head
    # Only an empty database (a fresh install, or after flush) lacks the head; two first writers
    # may race to create it, and the loser then waits on the winner's row.
    try:
        with transaction.atomic():
            AuditChainHead.objects.create(pk=HEAD_ID)
    except IntegrityError:
        pass
    return AuditChainHead.objects.select_for_update().get(pk=HEAD_ID)


def chain_head_lock() -> None:
    """Queue this transaction behind every other change until it ends. Call inside a transaction.

    Every change takes its phases' locks, then this one, before it writes anything. Its writes
    fire the progress triggers, which update other phases' progress rows too; a change that held
    such a row while it waited for the head could meet one that held the head while it waited
    for the row, and PostgreSQL would abort one of them.
    """
    _locked_head()


def chain_append(event: AuditEvent) -> AuditEvent:
    """Give `event` the next place in the chain and save it. Call inside a transaction."""
    head = _locked_head()
    event.sequence = head.sequence + 1
    event.previous_hash = head.hash
    event.hash = event_hash(event, head.hash)
    event.save()
    head.sequence, head.hash = event.sequence, event.hash
    head.save(update_fields=["sequence", "hash"])
    return event


@dataclass
class ChainBreak:
    sequence: int
    problem: str

    def __str__(self) -> str:
        return f"event #{self.sequence}: {self.problem}"


def chain_verify(batch_size: int = 2000) -> tuple[int, ChainBreak | None]:
    """Walk the chain from its start; return how many events hold, and the first break if any.

    It reads one snapshot of the table and its head, so events appended while it runs neither
    break nor extend what it checks.
    """
    starts_transaction = not connection.in_atomic_block
    with transaction.atomic():
        # Inside a caller's transaction the snapshot is the caller's to choose.
        if connection.vendor == "postgresql" and starts_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
        return _walk(head, AuditEvent.objects.order_by("sequence").iterator(batch_size))


def _walk(head: AuditChainHead | None, events: Iterator[AuditEvent]):
    expected, previous_hash = 1, GENESIS_HASH
    for event in events:
        if event.sequence != expected:
            return expected - 1, ChainBreak(
                expected,
                f"missing: the chain jumps from #{expected - 1} to #{event.sequence} "
                "(events were deleted)",
            )
        if head is not None and event.sequence > head.sequence:
            return expected - 1, ChainBreak(
                event.sequence,
                f"comes after the chain's head, #{head.sequence} (it was appended behind the "
                "chain's back, or the head was moved back)",
            )
        if event.previous_hash != previous_hash:
            return expected - 1, ChainBreak(
                event.sequence,
                "does not follow the event before it (an event was inserted, reordered or "
                "deleted here)",
            )
        if event_hash(event, previous_hash) != event.hash:
            return expected - 1, ChainBreak(
                event.sequence, "its content no longer matches its hash (it was altered)"
            )
        expected, previous_hash = expected + 1, event.hash
    last = expected - 1
    if head is None:
        if last == 0:
            return 0, None
        return last, ChainBreak(last + 1, "the chain's head is missing (it was deleted)")
    if head.sequence > last:
        return last, ChainBreak(
            last + 1,
            f"missing: the chain ends at #{last} but its head records #{head.sequence} "
            "(the newest events were deleted)",
        )
    if head.hash != previous_hash:
        return last - 1, ChainBreak(last, "the chain's head does not match it (it was altered)")
    return last, None


_purge = threading.local()


@contextmanager
def audit_purge_allowed(using: str = "default"):
    """Let this connection empty the audit table while the block runs (flush only)."""
    connection = connections[using]
    _purge.allowed = True
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET {PURGE_SETTING} = 'on'")
    try:
        yield
    finally:
        _purge.allowed = False
        # In a failed transaction PostgreSQL refuses even RESET; its rollback undoes the SET.
        if connection.vendor == "postgresql" and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute(f"RESET {PURGE_SETTING}")


def register_sqlite_purge_check(sender, connection, **kwargs):
    # The SQLite trigger asks this function; a client without it (the sqlite3 shell) cannot
    # delete audit rows at all, since the trigger then fails to run.
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SQLITE_PURGE_FUNCTION, 0, lambda: int(getattr(_purge, "allowed", False))
        )
