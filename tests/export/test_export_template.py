"""The skeleton the documents start from is the seed's own template, read from the seed."""

import re
from functools import cache

import pytest
from django.conf import settings

from findings.export import template

pytestmark = pytest.mark.db_independent

SEED_PATH = settings.BASE_DIR.parent / "shared" / "seed" / "TACTICAL_DOCUMENT_GENERATION_PLAN.md"


@cache
def seed_text() -> str:
    return SEED_PATH.read_text(encoding="utf-8")


def block_under(heading: str, language: str) -> str:
    """The first ```language block after a `### **heading**` line, blank lines left blank."""
    start = seed_text().index(f"### **{heading}**")
    match = re.compile(rf"^```{language}\n(.*?)\n```$", re.M | re.S).search(seed_text(), start)
    return "\n".join(line.rstrip() for line in match.group(1).split("\n"))


def test_the_migration_skeleton_is_the_seeds_section_2():
    seed = block_under("Section 2: PostgreSQL Migration & Database Patterns", "sql")
    note, file_line, rest = seed.split("\n", 2)

    assert note == template.FOUNDATION_NOTE
    assert file_line == "-- File: backend/database/migrations/XXX_[finding_id]_[description].sql"
    assert rest == template.MIGRATION_SKELETON


def test_the_go_skeleton_is_the_seeds_section_3():
    seed = block_under("Section 3: Copy-Paste Ready Go Implementation", "go")

    assert seed == template.GO_SKELETON


def test_the_test_suite_skeleton_is_the_seeds_section_4():
    seed = block_under("Section 4: Real Database Testing Requirements", "go")

    assert seed == template.TEST_SUITE_SKELETON


def test_the_environment_and_worker_pattern_are_the_seeds():
    assert block_under("Environment Setup Requirements", "bash") == template.ENVIRONMENT_SETUP
    assert block_under("Test Execution Patterns", "go") == template.CONCURRENT_WORKER_PATTERN


def test_the_rollback_header_is_the_seeds_section_6():
    start = seed_text().index("### ROLLBACK PROCEDURES")
    seed = re.compile(r"^```sql\n(.*?)\n", re.M | re.S).search(seed_text(), start)

    assert seed.group(1) == template.ROLLBACK_NOTE


def test_the_prose_placeholders_are_the_seeds():
    section_1 = seed_text()[seed_text().index("### **Section 1") :]
    for label, _, placeholder in template.OVERVIEW_FIELDS:
        assert f"- **{label}**: {placeholder}" in section_1
    for number, (label, _, placeholder) in enumerate(template.SUCCESS_FIELDS, start=1):
        assert f"{number}. **{label}**: {placeholder}" in seed_text()
    assert f"**Priority**: {template.PRIORITY_PLACEHOLDER}" in section_1
    assert f"**Estimated Effort**: {template.EFFORT_PLACEHOLDER}" in section_1


def test_every_placeholder_of_the_template_is_known_to_qa():
    start = seed_text().index("## **ENHANCED DOCUMENT TEMPLATE STRUCTURE**")
    end = seed_text().index("## **PHASE-SPECIFIC POSTGRESQL PATTERN LIBRARY**")
    found = set(re.findall(r"\[[^\[\]\n]+\](?!\()", seed_text()[start:end])) - {"[ ]"}

    assert found <= template.TEMPLATE_PLACEHOLDERS
