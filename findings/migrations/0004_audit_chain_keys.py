"""Keyed audit chain hashes, and a purge setting that counts only for the tables' owner.

Until now each event's hash was a plain SHA-256, which anyone who can write the database can
recompute for a forged event. This migration names each event's key (`key_id`) and re-signs the
existing chain with AUDIT_CHAIN_KEY, after proving it intact under the old hashing: a trail that
is already broken is not laundered into a valid one. Unapplying it re-signs with the old hashing.
"""

import hashlib
import ipaddress
import json

from django.conf import settings
from django.db import migrations, models

from findings.audit_chain import (
    HEAD_ID,
    chain_key_id,
    chain_keys,
    chain_walk,
    event_hash,
    keyed_signature_problem,
)
from findings.db_triggers import (
    POSTGRESQL_FUNCTION_ANY_PURGE,
    POSTGRESQL_FUNCTION_OWNER_PURGE,
    audit_triggers_suspended,
)
from findings.models import GENESIS_HASH

BATCH = 1000


def plain_event_hash(event, previous_hash: str) -> str:
    """The hash before this migration: SHA-256 with no key, kept here as history."""
    address = event.ip_address and ipaddress.ip_address(event.ip_address).exploded
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
        "ip_address": address or None,
        "user_agent": event.user_agent,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()


def plain_signature_problem(event, previous_hash: str) -> str | None:
    if plain_event_hash(event, previous_hash) != event.hash:
        return "its content no longer matches its hash (it was altered)"
    return None


def sign_with_current_key(event, previous_hash: str) -> None:
    key = settings.AUDIT_CHAIN_KEY
    event.key_id = chain_key_id(key)
    event.hash = event_hash(event, previous_hash, key)


def sign_plainly(event, previous_hash: str) -> None:
    event.key_id = None
    event.hash = plain_event_hash(event, previous_hash)


def rechain(apps, schema_editor, *, signature_problem, sign) -> None:
    """Prove the chain intact under its present hashing, then sign every link anew with `sign`."""
    AuditEvent = apps.get_model("findings", "AuditEvent")
    AuditChainHead = apps.get_model("findings", "AuditChainHead")
    head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
    events = AuditEvent.objects.order_by("sequence")
    intact, chain_break = chain_walk(head, events.iterator(BATCH), signature_problem)
    if chain_break is not None:
        raise RuntimeError(
            f"Migration findings.0004 will not re-sign a broken audit trail: event "
            f"#{chain_break.sequence}: {chain_break.problem}. {intact} events before it are "
            "intact. Restore the database from a backup taken before the break, or keep it as "
            "evidence and investigate, before migrating."
        )
    if head is None:
        return
    previous_hash, after = GENESIS_HASH, 0
    with audit_triggers_suspended(schema_editor.connection):
        # In slices by sequence rather than one open cursor, as the rows change under it.
        while batch := list(events.filter(sequence__gt=after)[:BATCH]):
            for event in batch:
                event.previous_hash = previous_hash
                sign(event, previous_hash)
                previous_hash = event.hash
            AuditEvent.objects.bulk_update(batch, ["key_id", "previous_hash", "hash"])
            after = batch[-1].sequence
    head.hash = previous_hash
    head.save(update_fields=["hash"])


def sign_with_key(apps, schema_editor):
    rechain(
        apps, schema_editor, signature_problem=plain_signature_problem, sign=sign_with_current_key
    )


def sign_without_key(apps, schema_editor):
    rechain(
        apps,
        schema_editor,
        signature_problem=keyed_signature_problem(chain_keys()),
        sign=sign_plainly,
    )


def purge_for_the_owner_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FUNCTION_OWNER_PURGE, params=None)


def purge_for_any_session(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FUNCTION_ANY_PURGE, params=None)


class Migration(migrations.Migration):
    dependencies = [("findings", "0003_phase_progress_counters")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="key_id",
            field=models.CharField(max_length=16, null=True),
        ),
        migrations.RunPython(sign_with_key, sign_without_key),
        migrations.RunPython(purge_for_the_owner_only, purge_for_any_session),
    ]
