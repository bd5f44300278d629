"""export_tactical_docs: the seed's directory structure, byte for byte the same each time, in a
folder it owns (replacing its own files, removing its own stale ones, refusing anyone else's)."""

import re
from functools import cache
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from findings.export.tree import MANIFEST
from findings.models import TacticalDocument

SEED_PATH = settings.BASE_DIR.parent / "shared" / "seed" / "TACTICAL_DOCUMENT_GENERATION_PLAN.md"


@cache
def seed_listing() -> tuple[str, ...]:
    """Every file of the seed's DIRECTORY STRUCTURE TO CREATE, read from the seed itself."""
    text = SEED_PATH.read_text(encoding="utf-8")
    section = re.search(
        r"^## \*\*DIRECTORY STRUCTURE TO CREATE\*\*$(.*?)^## \*\*", text, re.M | re.S
    ).group(1)
    lines = re.search(r"^```\n(.*?)^```$", section, re.M | re.S).group(1).splitlines()
    assert lines[0] == "docs/tactical_plans/"
    paths, folder = [], ""
    for line in lines[1:]:
        match = re.match(r"^((?:│   |    )*)[├└]── (\S+)", line)
        assert match, f"unexpected line in the listing: {line!r}"
        depth, name = len(match.group(1)) // 4, match.group(2)
        if name.endswith("/"):
            folder = name.rstrip("/")
        else:
            paths.append(f"{folder}/{name}" if depth else name)
    return tuple(paths)


def export(out: Path, *options: str) -> str:
    stdout = StringIO()
    call_command("export_tactical_docs", "--out", str(out), *options, stdout=stdout)
    return stdout.getvalue()


def files_in(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_listing_parser_reads_the_seed():
    assert len(seed_listing()) == 20
    assert seed_listing()[0] == "README.md"
    assert seed_listing()[-1] == "phase_2d_architecture/REMAINING_FINDINGS_TACTICAL_PLAN.md"


def test_it_writes_exactly_the_seeds_directory_structure(catalogue, tmp_path):
    export(tmp_path / "out")

    written = files_in(tmp_path / "out")
    # The manifest is how the export knows the folder is its own; everything else is the seed's.
    assert sorted(set(written) - {MANIFEST}) == sorted(seed_listing())
    assert MANIFEST in written


def test_it_writes_to_docs_tactical_plans_under_the_working_folder_by_default(
    catalogue, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)

    call_command("export_tactical_docs", stdout=StringIO())

    assert (tmp_path / "docs" / "tactical_plans" / "README.md").is_file()


def test_it_writes_the_same_bytes_every_time(catalogue, tmp_path):
    export(tmp_path / "first")
    export(tmp_path / "second")

    assert files_in(tmp_path / "first") == files_in(tmp_path / "second")


def test_it_leaves_unchanged_files_alone_on_a_second_export(catalogue, tmp_path):
    export(tmp_path / "out")

    output = export(tmp_path / "out")

    assert "0 written, 20 unchanged, 0 stale removed" in output


def test_it_writes_plain_lf_text_without_an_export_date(catalogue, tmp_path):
    export(tmp_path / "out")

    for path, content in files_in(tmp_path / "out").items():
        text = content.decode("utf-8")
        assert "\r" not in text, path
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), f"{path} holds a date"


def test_it_removes_its_own_stale_files_and_keeps_everyone_elses(catalogue, tmp_path):
    out = tmp_path / "out"
    export(out)
    (out / "phase_2d_architecture" / "notes.txt").write_text("mine")
    TacticalDocument.objects.filter(file_name="BL-009_TACTICAL_PLAN.md").update(
        file_name="BL-009_PLAN.md"
    )

    output = export(out)

    assert not (out / "phase_2d_architecture" / "BL-009_TACTICAL_PLAN.md").exists()
    assert (out / "phase_2d_architecture" / "BL-009_PLAN.md").is_file()
    assert (out / "phase_2d_architecture" / "notes.txt").read_text() == "mine"
    assert "1 stale removed" in output
    assert "phase_2d_architecture/BL-009_PLAN.md" in (out / MANIFEST).read_text()


def test_it_removes_a_phase_folder_left_empty(catalogue, tmp_path):
    out = tmp_path / "out"
    export(out)
    TacticalDocument.objects.filter(phase__code="2A").delete()

    export(out)

    assert not (out / "phase_2a_foundation").exists()


def test_it_refuses_a_non_empty_folder_it_did_not_make(catalogue, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.md").write_text("someone else's")

    with pytest.raises(CommandError, match="not empty and was not made by") as refusal:
        export(out)

    assert refusal.value.returncode == 1
    assert "--force" in str(refusal.value)
    assert sorted(files_in(out)) == ["mine.md"]


def test_it_writes_into_a_foreign_folder_when_forced_and_owns_it_after(catalogue, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.md").write_text("someone else's")

    export(out, "--force")
    export(out)

    assert (out / "mine.md").read_text() == "someone else's"
    assert set(seed_listing()) <= set(files_in(out))


def test_it_writes_into_an_empty_folder_without_force(catalogue, tmp_path):
    (tmp_path / "out").mkdir()

    export(tmp_path / "out")

    assert (tmp_path / "out" / "README.md").is_file()


def test_it_refuses_a_file_name_that_would_leave_the_tree(catalogue, tmp_path):
    TacticalDocument.objects.filter(file_name="SI-001_TACTICAL_PLAN.md").update(
        file_name="../../escaped.md"
    )

    with pytest.raises(CommandError, match="not a plain file or folder name"):
        export(tmp_path / "out" / "tree")

    assert not (tmp_path / "escaped.md").exists()
    assert not (tmp_path / "out").exists()


def test_it_refuses_a_manifest_that_lists_paths_outside_the_tree(catalogue, tmp_path):
    out = tmp_path / "out"
    export(out)
    (tmp_path / "precious.txt").write_text("keep me")
    (out / MANIFEST).write_text("README.md\n../precious.txt\n")

    with pytest.raises(CommandError, match="not a path in the tree"):
        export(out)

    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_it_reports_what_it_wrote(catalogue, tmp_path):
    output = export(tmp_path / "out")

    assert output.strip() == (
        f"Exported the tactical plans to {tmp_path / 'out'}: "
        "20 written, 0 unchanged, 0 stale removed."
    )
