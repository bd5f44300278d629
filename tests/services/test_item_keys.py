"""Checklist item keys: fixed for the standard items, given once, kept through rewording, unique
within a finding."""

import importlib
import re

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction

from findings.models import ChecklistItem, ChecklistSection, Dependency, Finding
from findings.services.checklist import checklist_item_save
from findings.services.dependencies import dependency_add
from tests.helpers import context_for
from tests.phase_work import item_of

STANDARD_KEYS = [
    "go-test-race",
    "golangci-lint",
    "database-integration-tests",
    "performance-benchmarks",
    "no-breaking-api-changes",
    "migration-applies",
    "migration-rollback",
    "database-performance-impact",
    "concurrent-access",
    "dependencies-verified",
    "state-consistency",
    "audit-logging",
    "error-handling",
]
migration_0010 = importlib.import_module("findings.migrations.0010_api")


def keys_of(code: str) -> list[str]:
    return list(
        ChecklistItem.objects.filter(finding__code=code)
        .order_by("position")
        .values_list("key", flat=True)
    )


def new_item(finding: Finding, text: str, position: int) -> ChecklistItem:
    return ChecklistItem(
        finding=finding, section=ChecklistSection.DATABASE, text=text, position=position
    )


def test_it_gives_a_new_findings_standard_items_their_fixed_keys(catalogue):
    assert keys_of("SI-001") == STANDARD_KEYS
    assert keys_of("BL-014") == STANDARD_KEYS


def test_the_migration_keys_existing_items_standard_first_then_by_text(catalogue, admin_user):
    finding = Finding.objects.get(code="SI-001")
    ChecklistItem.objects.filter(finding=finding, position=2).update(text="Lint is clean")
    for position in (14, 15):
        ChecklistItem.objects.create(
            finding=finding,
            section=ChecklistSection.DATABASE,
            text="Replication lag: measured!",
            position=position,
            key=f"before-keys-{position}",
        )
    for item in ChecklistItem.objects.filter(finding=finding):
        ChecklistItem.objects.filter(pk=item.pk).update(key=f"placeholder-{item.position}")

    migration_0010.items_keyed(apps, None)

    assert keys_of("SI-001") == [
        "go-test-race",
        "lint-is-clean",
        *STANDARD_KEYS[2:],
        "replication-lag-measured",
        "replication-lag-measured-2",
    ]


def test_the_dependency_items_key_survives_new_dependencies(catalogue, admin_user):
    finding = Finding.objects.get(code="SI-002")
    item = ChecklistItem.objects.get(finding=finding, names_dependencies=True)
    Dependency.objects.filter(finding=finding).delete()

    dependency_add(
        finding=finding,
        depends_on=Finding.objects.get(code="BF-001"),
        context=context_for(admin_user),
    )

    item.refresh_from_db()
    assert "BF-001" in item.text
    assert item.key == "dependencies-verified"


def test_rewording_an_item_keeps_its_key(catalogue, admin_user):
    item = item_of("SI-001", 1)
    item.text = "`go test ./... -race -count=3` passes"

    checklist_item_save(item=item, context=context_for(admin_user))

    item.refresh_from_db()
    assert item.key == "go-test-race"


def test_a_new_item_gets_a_slug_of_its_text_distinct_within_its_finding(catalogue, admin_user):
    finding = Finding.objects.get(code="SI-001")
    first = checklist_item_save(
        item=new_item(finding, "Replication lag measured", 14), context=context_for(admin_user)
    )
    second = checklist_item_save(
        item=new_item(finding, "Replication lag measured", 15), context=context_for(admin_user)
    )
    standard_text = checklist_item_save(
        item=new_item(finding, item_of("SI-001", 1).text, 16), context=context_for(admin_user)
    )

    assert [first.key, second.key] == ["replication-lag-measured", "replication-lag-measured-2"]
    assert standard_text.key == "go-test-race-2"


def test_a_moved_item_keeps_its_key_unless_its_new_finding_has_it(catalogue, admin_user):
    reworded = item_of("SI-001", 1)
    reworded.finding = Finding.objects.get(code="BF-001")
    reworded.position = 1

    checklist_item_save(item=reworded, context=context_for(admin_user))
    assert ChecklistItem.objects.get(pk=reworded.pk).key == "go-test-race"

    clashing = item_of("SI-002", 1)
    clashing.finding = Finding.objects.get(code="BF-001")
    clashing.position = 2
    checklist_item_save(item=clashing, context=context_for(admin_user))
    assert ChecklistItem.objects.get(pk=clashing.pk).key == "go-test-race-2"


def test_the_database_refuses_two_items_of_a_finding_with_one_key(catalogue):
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(pk=item_of("SI-001", 2).pk).update(key="go-test-race")


def test_the_finding_page_shows_each_items_key_beside_it(viewer_client):
    html = viewer_client.get("/findings/SI-001/").content.decode()

    keys = re.findall(r'<code class="item-key"[^>]*>([^<]*)</code>', html)
    assert keys == STANDARD_KEYS
