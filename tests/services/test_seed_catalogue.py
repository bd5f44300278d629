"""The loaded catalogue matches TACTICAL_DOCUMENT_GENERATION_PLAN.md, as read from the seed itself.

Nothing in this module comes from findings/seed.py except TITLE_PLACEHOLDER: the document is parsed
afresh, so a slip in the hand-copied facts fails here instead of passing by agreeing with itself.
"""

import re
from dataclasses import dataclass
from functools import cache

import pytest
from django.conf import settings

from findings.models import (
    ChecklistItem,
    ChecklistSection,
    Finding,
    Phase,
    Status,
    TacticalDocument,
)
from findings.seed import TITLE_PLACEHOLDER

SEED_PATH = settings.BASE_DIR.parent / "shared" / "seed" / "TACTICAL_DOCUMENT_GENERATION_PLAN.md"
CODE = r"(?:SI|BF|BL)-\d{3}"


@dataclass(frozen=True)
class ListedFile:
    folder: str
    file_name: str
    comment: str


@dataclass(frozen=True)
class SequencedDocument:
    number: int
    file_name: str
    title: str
    phase_code: str


@dataclass(frozen=True)
class PhaseHeading:
    code: str
    name: str
    band: str


@cache
def seed_text() -> str:
    return SEED_PATH.read_text(encoding="utf-8")


def section(heading: str) -> str:
    """The text under a `## **HEADING**` line, up to the next heading of that level."""
    match = re.search(
        rf"^## \*\*{re.escape(heading)}\*\*$(.*?)(?=^## \*\*|\Z)", seed_text(), re.M | re.S
    )
    assert match, f"the seed has no section {heading!r}"
    return match.group(1)


def fenced_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.M | re.S)


@cache
def directory_listing() -> tuple[ListedFile, ...]:
    """(folder, file, comment) for every file of DIRECTORY STRUCTURE TO CREATE, in order."""
    (tree,) = fenced_blocks(section("DIRECTORY STRUCTURE TO CREATE"), "")
    lines = tree.splitlines()
    assert lines[0] == "docs/tactical_plans/"
    files, folder = [], ""
    for line in lines[1:]:
        match = re.match(
            r"^(?P<indent>(?:│   |    )*)[├└]── (?P<name>\S+)(?:\s+# (?P<c>.*))?$", line
        )
        assert match, f"unexpected line in the directory listing: {line!r}"
        depth = len(match["indent"]) // 4
        name = match["name"]
        if name.endswith("/"):
            assert depth == 0
            folder = name.rstrip("/")
        else:
            files.append(ListedFile(folder if depth else "", name, (match["c"] or "").strip()))
    return tuple(files)


@cache
def generation_sequence() -> tuple[SequencedDocument, ...]:
    """The numbered documents of DOCUMENT GENERATION SEQUENCE, with the phase heading above each."""
    documents, phase_code = [], None
    for line in section("DOCUMENT GENERATION SEQUENCE").splitlines():
        heading = re.match(r"^### \*\*Phase (\w+):", line)
        if heading:
            phase_code = heading.group(1)
            continue
        item = re.match(r"^(\d+)\. \*\*(\S+\.md)\*\* - (.*)$", line)
        if item:
            number, file_name, title = item.groups()
            documents.append(SequencedDocument(int(number), file_name, title.strip(), phase_code))
    return tuple(documents)


def phases_needing_signoff() -> list[str]:
    return re.findall(r"MANDATORY PHASE (\w+) SIGNOFF REQUIRED", seed_text())


@cache
def completed_codes() -> tuple[str, ...]:
    match = re.search(r"^- ✅ \*\*(\d+) Findings Completed\*\*: (.*)$", seed_text(), re.M)
    assert match, "the seed has no completed findings line"
    codes = tuple(code.strip() for code in match.group(2).split(","))
    assert len(codes) == int(match.group(1))
    return codes


@cache
def phase_headings() -> tuple[PhaseHeading, ...]:
    """The phases of the framework diagram, like `Phase 2C: Performance - HIGH/MEDIUM`."""
    found = re.findall(r"\[Phase (2[A-D]): (\w+) - ([A-Z/]+)\]", seed_text())
    return tuple(PhaseHeading(*groups) for groups in found)


def foundation_codes() -> list[str]:
    """The completed findings whose implementations every remaining plan builds on."""
    match = re.search(rf"based on successful ({CODE})/({CODE}) implementations", seed_text())
    assert match, "the seed names no foundation findings"
    return sorted(match.groups())


@cache
def pattern_library() -> dict[str, str]:
    """Each `-- XX-NNN:` pattern of the PostgreSQL pattern library, up to the next one."""
    patterns = {}
    for block in fenced_blocks(section("PHASE-SPECIFIC POSTGRESQL PATTERN LIBRARY"), "sql"):
        starts = [m.start() for m in re.finditer(rf"^-- {CODE}:", block, re.M)]
        for start, end in zip(starts, [*starts[1:], len(block)], strict=True):
            chunk = block[start:end].strip()
            code = re.match(rf"-- ({CODE}):", chunk).group(1)
            assert code not in patterns
            patterns[code] = chunk
    return patterns


@cache
def standard_checklist() -> tuple[tuple[str, str], ...]:
    """(section heading, item text) of the template's Section 5 checklist, in order."""
    match = re.search(r"^### \*\*Section 5:.*?$(.*?)^### \*\*Section 6:", seed_text(), re.M | re.S)
    assert match, "the seed has no Section 5"
    items, heading = [], None
    for line in match.group(1).splitlines():
        if line.startswith("#### "):
            heading = line.removeprefix("#### ").strip()
        elif line.startswith("- [ ] "):
            items.append((heading, line.removeprefix("- [ ] ").strip()))
    return tuple(items)


def planned_codes() -> list[str]:
    """Every finding the sequence's documents cover; the grouped one names a range of codes."""
    codes = []
    for document in generation_sequence():
        own = re.match(rf"^({CODE})_TACTICAL_PLAN\.md$", document.file_name)
        if own:
            codes.append(own.group(1))
            continue
        grouped = re.match(r"^BL-(\d{3}) through BL-(\d{3}) grouped$", document.title)
        assert grouped, f"cannot tell which findings {document.file_name} covers"
        first, last = (int(number) for number in grouped.groups())
        codes.extend(f"BL-{number:03d}" for number in range(first, last + 1))
    return codes


# --- The parsers read what we expect: each is checked against a few facts seen by eye. ---


@pytest.mark.db_independent
def test_it_parses_the_directory_listing_of_the_seed():
    listing = directory_listing()

    assert listing[0] == ListedFile("", "README.md", "Index and navigation")
    assert listing[1] == ListedFile(
        "phase_2a_foundation", "SI-001_TACTICAL_PLAN.md", "Enhanced Transaction Management"
    )
    assert listing[-1] == ListedFile(
        "phase_2d_architecture",
        "REMAINING_FINDINGS_TACTICAL_PLAN.md",
        "BL-010 through BL-014 grouped",
    )
    assert len(listing) == 20


@pytest.mark.db_independent
def test_it_parses_the_generation_sequence_of_the_seed():
    sequence = generation_sequence()

    assert [document.number for document in sequence] == list(range(4, 23))
    assert sequence[0] == SequencedDocument(
        4, "SI-001_TACTICAL_PLAN.md", "Enhanced Transaction Management Anti-patterns", "2A"
    )
    assert sequence[-1].phase_code == "2D"


@pytest.mark.db_independent
def test_it_parses_the_phases_the_patterns_and_the_checklist_of_the_seed():
    assert completed_codes()[0] == "BF-001"
    assert [heading.code for heading in phase_headings()] == ["2A", "2B", "2C", "2D"]
    assert foundation_codes() == ["BF-001", "BL-002"]
    assert phases_needing_signoff() == ["2A"]
    assert len(pattern_library()) == 11
    assert pattern_library()["SI-005"].endswith("recommendations JSONB);")
    assert len(standard_checklist()) == 13
    assert len(planned_codes()) == 23


# --- The catalogue in the database matches the seed. ---


def test_it_loads_the_four_phases_with_their_bands_folders_and_signoff_gate(catalogue):
    folders = list(dict.fromkeys(item.folder for item in directory_listing() if item.folder))
    expected = [
        (
            heading.code,
            heading.name,
            heading.band,
            folder,
            order,
            heading.code in phases_needing_signoff(),
        )
        for order, (heading, folder) in enumerate(zip(phase_headings(), folders, strict=True), 1)
    ]

    loaded = list(
        Phase.objects.values_list(
            "code", "name", "priority_band", "folder_name", "order", "requires_signoff"
        )
    )

    assert loaded == expected
    assert phases_needing_signoff() == ["2A"]


def test_it_names_each_phase_folder_after_the_phase(catalogue):
    folders = dict(Phase.objects.values_list("code", "folder_name"))

    assert folders == {
        heading.code: f"phase_{heading.code.lower()}_{heading.name.lower()}"
        for heading in phase_headings()
    }


def test_it_loads_nineteen_documents_in_the_sequence_of_the_seed(catalogue):
    loaded = list(TacticalDocument.objects.values_list("sequence", "file_name", "title"))

    expected = [(doc.number, doc.file_name, doc.title) for doc in generation_sequence()]
    assert len(loaded) == 19
    assert loaded == expected


def test_it_puts_each_document_in_the_folder_the_listing_gives(catalogue):
    listed = [f"{item.folder}/{item.file_name}" for item in directory_listing() if item.folder]

    paths = [document.path for document in TacticalDocument.objects.select_related("phase")]

    assert paths == listed


def test_it_puts_each_document_under_the_phase_heading_of_the_sequence(catalogue):
    loaded = dict(TacticalDocument.objects.values_list("file_name", "phase__code"))

    assert loaded == {doc.file_name: doc.phase_code for doc in generation_sequence()}


def test_it_gives_documents_titles_that_the_listing_comments_begin(catalogue):
    # The listing shortens two titles ("Enhanced Transaction Management" for "... Anti-patterns").
    titles = dict(TacticalDocument.objects.values_list("file_name", "title"))

    for item in directory_listing():
        if item.folder:
            assert titles[item.file_name].startswith(item.comment), item.file_name


def test_it_does_not_load_the_readme_as_a_tactical_document(catalogue):
    assert not TacticalDocument.objects.filter(file_name="README.md").exists()


def test_it_loads_thirty_findings(catalogue):
    expected = sorted([*completed_codes(), *planned_codes()])

    assert list(Finding.objects.values_list("code", flat=True)) == expected
    assert len(expected) == 30


def test_it_loads_the_seven_completed_findings_without_phase_or_document(catalogue):
    completed = Finding.objects.filter(code__in=completed_codes())

    rows = set(completed.values_list("status", "phase", "document", "title", "priority"))

    assert completed.count() == 7
    assert rows == {(Status.COMPLETED, None, None, TITLE_PLACEHOLDER, "")}
    assert set(Finding.objects.filter(status=Status.COMPLETED).values_list("code", flat=True)) == (
        set(completed_codes())
    )


def test_it_gives_completed_findings_no_checklist_and_no_dependencies(catalogue):
    completed = Finding.objects.filter(code__in=completed_codes())

    assert not ChecklistItem.objects.filter(finding__in=completed).exists()
    assert not Finding.objects.filter(code__in=completed_codes(), dependency_links__isnull=False)


def test_it_gives_each_single_finding_document_its_own_finding_and_title(catalogue):
    single = [doc for doc in generation_sequence() if doc.file_name[:6] in planned_codes()]

    for doc in single:
        finding = Finding.objects.get(code=doc.file_name[:6])
        assert (finding.document.file_name, finding.title) == (doc.file_name, doc.title)
        assert finding.status == Status.PLANNED
    assert len(single) == 18


def test_it_groups_bl_010_to_bl_014_on_the_remaining_findings_document(catalogue):
    grouped = Finding.objects.filter(document__file_name="REMAINING_FINDINGS_TACTICAL_PLAN.md")

    assert list(grouped.values_list("code", flat=True)) == [
        "BL-010",
        "BL-011",
        "BL-012",
        "BL-013",
        "BL-014",
    ]
    assert set(grouped.values_list("title", flat=True)) == {TITLE_PLACEHOLDER}
    assert set(grouped.values_list("phase__code", flat=True)) == {"2D"}


def test_it_puts_each_planned_finding_in_the_phase_of_its_document(catalogue):
    by_file = {doc.file_name: doc.phase_code for doc in generation_sequence()}

    for finding in Finding.objects.exclude(status=Status.COMPLETED).select_related(
        "phase", "document"
    ):
        assert finding.phase.code == by_file[finding.document.file_name], finding.code
        assert finding.document.phase_id == finding.phase_id


@pytest.mark.parametrize(
    ("phase_code", "priority", "unconfirmed", "count"),
    [
        ("2A", "CRITICAL", False, 3),
        ("2B", "HIGH", False, 3),
        ("2C", "HIGH", True, 6),
        ("2D", "MEDIUM", True, 11),
    ],
)
def test_it_gives_planned_findings_the_priority_of_their_phase_band(
    catalogue, phase_code, priority, unconfirmed, count
):
    band = next(heading.band for heading in phase_headings() if heading.code == phase_code)
    # A band of one priority is that priority; a band of two is its higher one, awaiting triage.
    assert band.split("/")[0] == priority
    assert ("/" in band) is unconfirmed

    rows = Finding.objects.filter(phase__code=phase_code).values_list(
        "priority", "priority_unconfirmed"
    )

    assert list(rows) == [(priority, unconfirmed)] * count


def test_it_makes_every_planned_finding_depend_on_exactly_the_foundation_findings(catalogue):
    for finding in Finding.objects.exclude(status=Status.COMPLETED):
        codes = sorted(finding.dependency_links.values_list("depends_on__code", flat=True))
        assert codes == foundation_codes(), finding.code


def test_it_gives_each_planned_finding_the_thirteen_standard_checklist_items(catalogue):
    sections = {label: value for value, label in ChecklistSection.choices}
    dependencies = ", ".join(foundation_codes())
    expected = [
        (position, sections[heading], text.replace("[dependency findings]", dependencies))
        for position, (heading, text) in enumerate(standard_checklist(), 1)
    ]

    for finding in Finding.objects.exclude(status=Status.COMPLETED):
        items = finding.checklist_items.order_by("position")
        assert list(items.values_list("position", "section", "text")) == expected, finding.code
        assert not items.filter(checked=True).exists()
    assert ChecklistItem.objects.count() == 23 * 13


def test_it_has_five_mandatory_four_database_and_four_integration_items(catalogue):
    finding = Finding.objects.get(code="SI-001")

    counts = {
        section: finding.checklist_items.filter(section=section).count()
        for section in ChecklistSection.values
    }

    assert counts == {"mandatory": 5, "database": 4, "integration": 4}
    assert finding.checklist_items.filter(
        text="Integration with BF-001, BL-002 verified", names_dependencies=True
    ).exists()
    assert finding.checklist_items.filter(names_dependencies=True).count() == 1


def test_it_gives_each_pattern_library_finding_its_migration_sql(catalogue):
    patterns = pattern_library()

    loaded = dict(Finding.objects.filter(code__in=patterns).values_list("code", "migration_sql"))

    assert loaded == patterns


def test_it_leaves_migration_sql_empty_where_the_library_has_no_pattern(catalogue):
    without = Finding.objects.exclude(code__in=pattern_library())

    assert set(without.values_list("migration_sql", flat=True)) == {""}
    assert without.count() == 30 - 11


def test_it_invents_no_effort_estimates(catalogue):
    assert not Finding.objects.filter(effort_min_days__isnull=False).exists()
    assert not Finding.objects.filter(effort_max_days__isnull=False).exists()


def test_it_uses_the_placeholder_for_every_title_the_seed_does_not_give(catalogue):
    titled = {doc.file_name[:6]: doc.title for doc in generation_sequence()}

    for code, title in Finding.objects.values_list("code", "title"):
        assert title == titled.get(code, TITLE_PLACEHOLDER), code
    assert Finding.objects.filter(title=TITLE_PLACEHOLDER).count() == 7 + 5
