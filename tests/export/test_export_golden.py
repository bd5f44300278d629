"""One whole document pinned byte for byte, so any change to the export shows up as a diff."""

import difflib
import os
from pathlib import Path

import pytest

from findings.export.documents import document_markdown
from findings.export.snapshot import snapshot_load

GOLDEN = Path(__file__).parent / "golden" / "SI-001_TACTICAL_PLAN.md"
REGENERATE = "REGENERATE_GOLDEN=1 SECRET_KEY=x .venv/bin/pytest tests/export/test_export_golden.py"


def rendered(file_name: str) -> str:
    snapshot = snapshot_load()
    entry = next(e for e in snapshot.documents if e.document.file_name == file_name)
    return document_markdown(entry, snapshot)


def test_it_renders_si_001_of_the_seeded_catalogue_as_pinned(catalogue):
    text = rendered("SI-001_TACTICAL_PLAN.md")
    if os.environ.get("REGENERATE_GOLDEN") == "1":
        GOLDEN.write_bytes(text.encode())
        pytest.skip(f"regenerated {GOLDEN}: review `git diff` before committing it")

    expected = GOLDEN.read_bytes().decode()

    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            text.splitlines(keepends=True),
            "golden",
            "rendered",
        )
    )
    assert text == expected, (
        f"SI-001_TACTICAL_PLAN.md no longer matches {GOLDEN.name}. If the change is intended, "
        f"regenerate it with `{REGENERATE}` and review the diff.\n{diff}"
    )
