"""The `catalogue` fixture's copy of the seeded catalogue equals what catalogue_load writes.

The copy is captured once per session (tests/catalogue_snapshot.py); these tests hold it to a
real load, table by table, on whichever engine the suite runs.
"""

import pytest
from django.apps import apps
from django.db import transaction

from findings.audit_chain import AUDIT_LOGGER, chain_verify
from findings.models import AuditChainHead, AuditEvent, Finding, Phase
from findings.services.catalogue import catalogue_load
from tests.catalogue_snapshot import sequences_restart, table_rows

# Values taken from the clock when the rows are written; the hashes cover created_at.
CLOCK_FIELDS = {
    Finding: {"created_at", "updated_at"},
    AuditEvent: {"created_at", "previous_hash", "hash"},
    AuditChainHead: {"hash"},
}


def database_rows() -> dict[str, list[dict]]:
    """Every table's rows in id order, less the values that depend on when they were written."""
    return {
        model._meta.db_table: [
            {name: value for name, value in row.items() if name not in CLOCK_FIELDS.get(model, ())}
            for _, row in sorted(table_rows(model).items())
        ]
        for model in apps.get_models()
    }


def assert_the_copy_equals_a_real_load(snapshot) -> None:
    every_table = apps.get_models()
    with transaction.atomic():
        sequences_restart(every_table)
        report = catalogue_load(context=snapshot.context)
        loaded = database_rows()
        transaction.set_rollback(True)
    sequences_restart(every_table)

    assert snapshot.fits()
    copied_report = snapshot.restore()

    assert database_rows() == loaded
    assert copied_report.created == report.created
    assert chain_verify() == (AuditEvent.objects.count(), None)


def test_it_copies_every_row_a_real_load_writes(db, catalogue_snapshot):
    assert_the_copy_equals_a_real_load(catalogue_snapshot)


def test_it_chains_the_copied_events_after_a_personas_events(viewer, catalogue_snapshot):
    assert AuditEvent.objects.exists()

    assert_the_copy_equals_a_real_load(catalogue_snapshot)


def test_it_gives_out_new_ids_after_the_copied_rows(catalogue):
    newest = Finding.objects.order_by("-pk").first()

    added = Finding.objects.create(code="ZZ-999", title="After the catalogue", phase=newest.phase)

    assert added.pk > newest.pk


@pytest.fixture
def phase_2a_renamed(db) -> Phase:
    return Phase.objects.create(
        code="2A", name="Renamed", priority_band="CRITICAL", folder_name="p2a", order=1
    )


def test_it_loads_for_real_when_part_of_the_catalogue_is_there(phase_2a_renamed, catalogue):
    assert Phase.objects.get(code="2A").name == "Renamed"
    assert Phase.objects.count() == 4
    assert chain_verify() == (AuditEvent.objects.count(), None)


@pytest.mark.django_db(transaction=True)
def test_it_loads_for_real_in_transactional_tests(caplog, catalogue):
    # Only committed appends are logged: the copy, like a rolled-back load, logs none.
    logged = [record for record in caplog.get_records("setup") if record.name == AUDIT_LOGGER]

    assert len(logged) == AuditEvent.objects.count() > 0
