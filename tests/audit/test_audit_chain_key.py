"""AUDIT_CHAIN_KEY: required in production, rotated by segments, and applied to older trails.

How verify_audit reports events forged without the key is in test_verify_audit.py.
"""

import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader

from findings.audit_chain import chain_key_id, chain_verify
from findings.db_triggers import audit_triggers_suspended
from findings.models import AuditChainHead, AuditEvent, Phase
from findings.services.audit import ActionContext, audit_record
from tests.database_roles import as_owner

ROOT = Path(__file__).resolve().parents[2]
keys_migration = importlib.import_module("findings.migrations.0004_audit_chain_keys")

pytestmark = pytest.mark.usefixtures("as_app_role")


@pytest.fixture
def phase(db) -> Phase:
    return Phase.objects.create(
        code="2A", name="Foundation", priority_band="CRITICAL", folder_name="p2a", order=1
    )


def record(phase: Phase, count: int = 2) -> None:
    for _ in range(count):
        audit_record(
            context=ActionContext.system("test"),
            action="phase.checked",
            obj=phase,
            permission="system:test",
        )


def key_ids() -> list[str | None]:
    return list(AuditEvent.objects.order_by("sequence").values_list("key_id", flat=True))


def test_it_verifies_each_segment_with_the_key_that_signed_it(phase, settings):
    settings.AUDIT_CHAIN_KEY = "key A"
    record(phase)
    settings.AUDIT_CHAIN_KEY, settings.AUDIT_CHAIN_RETIRED_KEYS = "key B", ["key A"]
    record(phase)

    assert key_ids() == [chain_key_id("key A")] * 2 + [chain_key_id("key B")] * 2
    assert chain_verify() == (4, None)


def test_it_names_the_key_of_a_segment_whose_key_is_not_configured(phase, settings):
    settings.AUDIT_CHAIN_KEY = "key A"
    record(phase)
    settings.AUDIT_CHAIN_KEY = "key B"
    record(phase)

    with pytest.raises(CommandError) as error:
        call_command("verify_audit")

    assert str(error.value) == (
        "The audit trail is broken at event #1: it was signed with key id "
        f"{chain_key_id('key A')}, which is neither AUDIT_CHAIN_KEY nor one of "
        "AUDIT_CHAIN_RETIRED_KEYS (add the key it was signed with to AUDIT_CHAIN_RETIRED_KEYS, "
        "or it was forged). 0 events before it are intact."
    )


def test_it_names_a_key_by_the_start_of_its_hmac_of_a_fixed_label():
    # README tells operators how to work out a key's id; this is that recipe.
    recipe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import hashlib, hmac, sys; print(hmac.new(sys.argv[1].encode(), "
            "b'domainflow audit chain key id', hashlib.sha256).hexdigest()[:16])",
            "key A",
        ],
        capture_output=True,
        text=True,
        check=True,
    )

    assert recipe.stdout.strip() == chain_key_id("key A")


class Rollback(Exception):
    """Raised inside a transaction to roll it back on purpose."""


def test_it_logs_no_append_that_was_rolled_back(phase, caplog, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks(execute=True)
    with capture as callbacks, pytest.raises(Rollback), transaction.atomic():
        record(phase, count=1)
        raise Rollback

    assert callbacks == []
    assert [record for record in caplog.records if record.name == "domainflow.audit"] == []


def run_migration(operation) -> None:
    """A RunPython function of migration 0004 on the test's connection, as the tables' owner.

    It gets the models as of that migration, and a schema editor that it only reads the
    connection of: SQLite's own refuses to open inside the test's transaction.
    """
    state = MigrationLoader(None).project_state(("findings", "0004_audit_chain_keys"))
    with as_owner():
        if connection.vendor == "postgresql":
            # ALTER TABLE refuses to run while the test's own inserts have checks pending.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        operation(state.apps, SimpleNamespace(connection=connection))


def test_the_migration_re_signs_an_older_unkeyed_trail_with_the_key(phase, settings):
    record(phase, count=3)
    run_migration(keys_migration.sign_without_key)
    head = AuditChainHead.objects.get()
    # The trail as migration 0003 left it: no key ids, plain SHA-256 that anyone can recompute.
    assert key_ids() == [None] * 3
    assert head.hash == AuditEvent.objects.get(sequence=3).hash
    intact, chain_break = chain_verify()
    assert (intact, chain_break.sequence) == (0, 1)
    assert chain_break.problem.startswith("it names no key")

    run_migration(keys_migration.sign_with_key)

    assert key_ids() == [chain_key_id(settings.AUDIT_CHAIN_KEY)] * 3
    assert AuditChainHead.objects.get().hash == AuditEvent.objects.get(sequence=3).hash
    assert chain_verify() == (3, None)


def test_the_migration_refuses_to_re_sign_a_broken_trail(phase):
    record(phase, count=3)
    run_migration(keys_migration.sign_without_key)
    with as_owner(), audit_triggers_suspended(connection), connection.cursor() as cursor:
        cursor.execute("UPDATE findings_auditevent SET action = 'x' WHERE sequence = 2")

    with pytest.raises(RuntimeError) as error:
        run_migration(keys_migration.sign_with_key)

    assert str(error.value).startswith(
        "Migration findings.0004 will not re-sign a broken audit trail: event #2: its content no "
        "longer matches its hash (it was altered). 1 events before it are intact."
    )
    assert key_ids() == [None] * 3


def settings_import(**environment: str) -> subprocess.CompletedProcess:
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AUDIT_CHAIN_", "DEBUG", "SECRET_KEY"))
    }
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.AUDIT_CHAIN_KEY)"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "domainflow.settings", **environment},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_the_settings_require_the_key_with_debug_off():
    result = settings_import(DEBUG="0", SECRET_KEY="s")

    assert result.returncode != 0
    assert "ImproperlyConfigured: AUDIT_CHAIN_KEY is required when DEBUG is off" in result.stderr


def test_the_settings_use_a_development_key_only_with_debug_on():
    assert settings_import(DEBUG="1").stdout == "development-only-audit-chain-key\n"
    assert settings_import(DEBUG="0", SECRET_KEY="s", AUDIT_CHAIN_KEY="k").stdout == "k\n"


def test_the_settings_refuse_a_key_that_could_not_be_retired():
    result = settings_import(DEBUG="0", SECRET_KEY="s", AUDIT_CHAIN_KEY="a,b")

    assert "AUDIT_CHAIN_KEY must not contain a comma" in result.stderr


def test_make_serve_refuses_to_start_without_the_key():
    environment = {name: value for name, value in os.environ.items() if name != "AUDIT_CHAIN_KEY"}
    environment["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"

    result = subprocess.run(
        [ROOT / "scripts" / "serve"], env=environment, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    assert result.stderr.startswith(
        "make serve needs AUDIT_CHAIN_KEY, the secret that signs the audit trail"
    )
