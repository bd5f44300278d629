"""Export then import is the identity for arbitrary section text, on the text as the export
normalises it (findings.export.reader's docstring says exactly how)."""

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from findings.export.documents import document_markdown, placeholder_values
from findings.export.importing import import_plan
from findings.export.reader import (
    IMPORTED_FIELDS,
    PROSE_FIELDS,
    document_read,
    normalised,
    record_read,
)
from findings.export.snapshot import snapshot_load
from findings.export.tree import tree_files

SI_001 = "phase_2a_foundation/SI-001_TACTICAL_PLAN.md"
GROUPED = "phase_2d_architecture/REMAINING_FINDINGS_TACTICAL_PLAN.md"
# What makes markdown hard to read back: fences of every length, headings and labels the reader
# looks for (inside code and prose), the record's own comment, unicode, trailing spaces, CRLF.
TRICKY = [
    "```", "````", "```go", "~~~", "# SI-001: x", "## FINDING OVERVIEW", "### ROLLBACK PROCEDURES",
    "- **Root Cause**: y", "1. **Functional Requirements**: z", "-- File: a.sql", "---",
    "<!-- tactical-export {} -->", "BEGIN;", "COMMIT;", "\r\n", "\n", "\r", "\t", "    ", "  ",
    " \n", "é", "🙂", "\u2028", "\x0c", "[Business impact]",
]  # fmt: skip
section_text = st.lists(
    st.one_of(
        st.sampled_from(TRICKY),
        st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=8),
    ),
    max_size=12,
).map("".join)
sections = st.fixed_dictionaries(dict.fromkeys(IMPORTED_FIELDS, section_text))
examples = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


@pytest.fixture
def snapshot(catalogue):
    return snapshot_load()


def part_of(snapshot, path: str, index: int):
    entry = next(entry for entry in snapshot.documents if entry.path == path)
    return entry, entry.parts[index].finding


def read_back(snapshot, entry, path: str) -> dict[str, dict[str, str]]:
    files = dict(tree_files(snapshot))
    _, body = record_read(files[path].decode(), path=path)
    values = {part.finding.code: placeholder_values(part.finding) for part in entry.parts}
    read = document_read(body, path=path, codes=entry.codes, values=values)
    return {part.code: {n: s.value for n, s in part.sections.items()} for part in read.parts}


def unambiguous(texts: dict[str, str]) -> bool:
    """Text that is not the placeholder an empty field shows, which reads back as empty."""
    return all(
        normalised(name, text) != PROSE_FIELDS.get(name, (None, None))[1]
        for name, text in texts.items()
    )


@pytest.mark.parametrize(("path", "index"), [(SI_001, 0), (GROUPED, 1)])
@examples
@given(texts=sections)
def test_it_reads_every_section_back_as_the_export_normalised_it(snapshot, path, index, texts):
    assume(unambiguous(texts))
    entry, finding = part_of(snapshot, path, index)
    for name, text in texts.items():
        setattr(finding, name, text)

    read = read_back(snapshot, entry, path)[finding.code]

    assert read == {name: normalised(name, text) for name, text in texts.items()}


@examples
@given(texts=sections)
def test_it_plans_no_change_when_importing_what_it_exported(snapshot, texts):
    entry, finding = part_of(snapshot, SI_001, 0)
    for name, text in texts.items():
        setattr(finding, name, text)

    plan = import_plan(files=dict(tree_files(snapshot)), snapshot=snapshot)

    assert (plan.changes, plan.problems) == ([], [])


@examples
@given(texts=sections)
def test_it_imports_a_section_written_in_the_file_as_its_normalised_text(snapshot, texts):
    assume(unambiguous(texts))
    entry, finding = part_of(snapshot, SI_001, 0)
    for name in texts:
        setattr(finding, name, "")
    exported = dict(tree_files(snapshot))
    record = exported[SI_001].decode().rstrip("\n").rpartition("\n")[2]
    for name, text in texts.items():
        setattr(finding, name, text)
    # The author's file: the sections as they typed them, the record of the export they edited.
    edited = document_markdown(entry, snapshot) + f"\n{record}\n"
    for name in texts:
        setattr(finding, name, "")

    plan = import_plan(files={**exported, SI_001: edited.encode()}, snapshot=snapshot)

    assert plan.problems == []
    written = {name: normalised(name, text) for name, text in texts.items()}
    assert {change.field: change.after for change in plan.changes} == {
        name: text for name, text in written.items() if text
    }
