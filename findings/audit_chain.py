"""The tamper-evident audit trail: every event is chained to the one before by a keyed hash.

Each event's hash is an HMAC-SHA256, under the secret `AUDIT_CHAIN_KEY`, of its content and the
hash before it. Changing, inserting, reordering or deleting an event breaks the chain at that
point, which `manage.py verify_audit` reports; forging a valid link needs the key, which the
database does not hold. Each event names its key by `key_id`, so a rotated key starts a new
segment that is checked with the key it was signed with (`AUDIT_CHAIN_RETIRED_KEYS`).

Cutting the newest events and moving the head back leaves a valid, shorter chain: every append
therefore logs its sequence and hash once committed (logger `domainflow.audit`), and
`verify_audit --log` proves the database still holds the newest event the log saw.

Database triggers refuse UPDATE and DELETE on audit rows besides (findings.db_triggers);
`manage.py flush` (a deliberate wipe of the whole database) is the one thing that may empty the
table, through `audit_purge_allowed`.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial

from django.conf import settings
from django.db import connection, connections, transaction

from findings.locks import HEAD_ID, chain_head_for_append
from findings.models import GENESIS_HASH, AuditChainHead, AuditEvent

PURGE_SETTING = "domainflow.audit_purge"
SQLITE_PURGE_FUNCTION = "domainflow_audit_purge_allowed"
AUDIT_LOGGER = "domainflow.audit"
KEY_ID_LABEL = b"domainflow audit chain key id"

audit_log = logging.getLogger(AUDIT_LOGGER)


@lru_cache(maxsize=16)
def chain_key_id(key: str) -> str:
    """The short public name of a chain key, stored with each event it signs."""
    return hmac.new(key.encode(), KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def chain_keys() -> dict[str, str]:
    """Every configured key by its id: the current one and the retired ones."""
    keys = [settings.AUDIT_CHAIN_KEY, *settings.AUDIT_CHAIN_RETIRED_KEYS]
    return {chain_key_id(key): key for key in keys}


def event_hash(event: AuditEvent, previous_hash: str, key: str) -> str:
    payload = {
        "sequence": event.sequence,
        "key_id": event.key_id,
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
    return hmac.new(key.encode(), (previous_hash + canonical).encode(), hashlib.sha256).hexdigest()


def _canonical_ip(address: str | None) -> str | None:
    """One spelling per address, as databases write some IPv6 forms back differently."""
    return ipaddress.ip_address(address).exploded if address else None


def chain_append(event: AuditEvent) -> AuditEvent:
    """Give `event` the next place in the chain and save it. Call inside a transaction.

    The head comes locked: the phase-change protocol holds its lock already, and an append
    outside the protocol takes it here (findings.locks.chain_head_for_append).
    """
    head = chain_head_for_append()
    key = settings.AUDIT_CHAIN_KEY
    event.sequence = head.sequence + 1
    event.previous_hash = head.hash
    event.key_id = chain_key_id(key)
    event.hash = event_hash(event, head.hash, key)
    event.save()
    head.sequence, head.hash = event.sequence, event.hash
    head.save(update_fields=["sequence", "hash"])
    # Only a committed append leaves the database's record: a rolled-back one never existed.
    transaction.on_commit(partial(_log_append, event.sequence, event.hash))
    return event


def _log_append(sequence: int, digest: str) -> None:
    audit_log.info("audit chain appended", extra={"audit_sequence": sequence, "audit_hash": digest})


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
        events = AuditEvent.objects.order_by("sequence").iterator(batch_size)
        return chain_walk(head, events, keyed_signature_problem(chain_keys()))


def keyed_signature_problem(keys: dict[str, str]) -> Callable[[AuditEvent, str], str | None]:
    """What is wrong with an event's hash under `keys` (by key id), or None if it holds."""

    def problem(event: AuditEvent, previous_hash: str) -> str | None:
        if event.key_id is None:
            return (
                "it names no key (it was forged, or written before keyed hashing and never "
                "re-signed by migration findings.0004)"
            )
        key = keys.get(event.key_id)
        if key is None:
            return (
                f"it was signed with key id {event.key_id}, which is neither AUDIT_CHAIN_KEY nor "
                "one of AUDIT_CHAIN_RETIRED_KEYS (add the key it was signed with to "
                "AUDIT_CHAIN_RETIRED_KEYS, or it was forged)"
            )
        if not hmac.compare_digest(event_hash(event, previous_hash, key), event.hash):
            return "its content no longer matches its hash (it was altered)"
        return None

    return problem


def chain_walk(
    head: AuditChainHead | None,
    events: Iterator[AuditEvent],
    signature_problem: Callable[[AuditEvent, str], str | None],
) -> tuple[int, ChainBreak | None]:
    """Walk `events` in sequence order against `head`; the verification behind chain_verify."""
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
        problem = signature_problem(event, previous_hash)
        if problem is not None:
            return expected - 1, ChainBreak(event.sequence, problem)
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


def chain_holds(sequence: int, digest: str) -> ChainBreak | None:
    """Whether the database still holds event #`sequence` with `digest`, as a log recorded it."""
    stored = AuditEvent.objects.filter(sequence=sequence).values_list("hash", flat=True).first()
    if stored is None:
        newest = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True)
        return ChainBreak(
            sequence,
            f"the log saw #{sequence} with hash {digest}, the database's chain ends at "
            f"#{newest.first() or 0} (the newest events were deleted and the head moved back)",
        )
    if not hmac.compare_digest(stored, digest):
        return ChainBreak(
            sequence,
            f"the log saw #{sequence} with hash {digest}, the database holds #{sequence} with hash "
            f"{stored} (the chain was rewritten from there on)",
        )
    return None


def logged_newest_append(lines: Iterable[str]) -> tuple[int, str] | None:
    """The highest sequence, and its hash, that `domainflow.audit` log lines record.

    The log may mix in other loggers' JSON lines and lines that are not JSON at all.
    """
    newest = None
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("logger") != AUDIT_LOGGER:
            continue
        sequence, digest = entry.get("audit_sequence"), entry.get("audit_hash")
        if not isinstance(sequence, int) or not isinstance(digest, str):
            continue
        if newest is None or sequence > newest[0]:
            newest = (sequence, digest)
    return newest


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
