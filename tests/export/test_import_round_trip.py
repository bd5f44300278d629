"""import_tactical_docs: export, edit in a text editor, import, with the export's record deciding
what the author changed and what the tracker changed since."""

import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from findings.export.snapshot import snapshot_load
from findings.export.tree import MANIFEST, zip_stream
from findings.models import AuditEvent, Finding
from findings.services.content import finding_content_save

SI_001 = "phase_2a_foundation/SI-001_TACTICAL_PLAN.md"
SI_002 = "phase_2a_foundation/SI-002_TACTICAL_PLAN.md"
GROUPED = "phase_2d_architecture/REMAINING_FINDINGS_TACTICAL_PLAN.md"


def export(out: Path, *options: str) -> str:
    stdout = StringIO()
    call_command("export_tactical_docs", "--out", str(out), *options, stdout=stdout)
    return stdout.getvalue()


def import_docs(path: Path, *options: str) -> str:
    stdout = StringIO()
    call_command("import_tactical_docs", str(path), *options, stdout=stdout)
    return stdout.getvalue()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def out(catalogue, tmp_path) -> Path:
    folder = tmp_path / "plans"
    export(folder)
    return folder


def test_it_changes_nothing_and_audits_nothing_when_importing_a_fresh_export(out):
    events = AuditEvent.objects.count()
    versions = dict(Finding.objects.values_list("code", "content_version"))

    report = import_docs(out)

    assert "0 sections changed" in report
    assert AuditEvent.objects.count() == events
    assert dict(Finding.objects.values_list("code", "content_version")) == versions


def test_it_imports_exactly_the_one_edited_section_audited_as_the_user(out, reviewer):
    edit(
        out / SI_001,
        "- **Root Cause**: [Technical root cause analysis]",
        "- **Root Cause**: Nested transactions\n    commit halfway.",
    )
    before = Finding.objects.get(code="SI-001")

    import_docs(out, "--user", reviewer.username)

    after = Finding.objects.get(code="SI-001")
    assert after.root_cause == "Nested transactions\ncommit halfway."
    assert after.content_version == before.content_version + 1
    unchanged = [f.name for f in Finding._meta.concrete_fields if f.name != "root_cause"]
    changed = [n for n in unchanged if getattr(after, n) != getattr(before, n)]
    assert sorted(changed) == ["content_version", "updated_at"]
    event = AuditEvent.objects.get(action="finding.content_imported")
    assert event.actor == reviewer
    assert event.after["file"] == SI_001
    assert event.before == {"root_cause": "", "content_version": before.content_version}
    assert event.after["root_cause"] == "Nested transactions\ncommit halfway."


def test_it_reads_an_unindented_line_under_a_field_as_its_continuation(out):
    edit(
        out / SI_001,
        "- **Root Cause**: [Technical root cause analysis]\n",
        "- **Root Cause**: Nested transactions\ncommit halfway.\n",
    )

    import_docs(out)

    assert Finding.objects.get(code="SI-001").root_cause == "Nested transactions\ncommit halfway."


def test_it_imports_code_edited_inside_a_grouped_document(out, system_context):
    grouped = next(entry for entry in snapshot_load().documents if entry.path == GROUPED)
    second = grouped.parts[1].finding.code
    text = (out / GROUPED).read_text()
    before, part = text.split(f"\n## {second}: ")
    go_skeleton = part.split("```go\n", 1)[1].split("\n```", 1)[0]
    part = part.replace(go_skeleton, "func Apply() error {\n\treturn nil\n}", 1)
    (out / GROUPED).write_text(f"{before}\n## {second}: {part}")

    import_docs(out)

    assert (
        Finding.objects.get(code=second).go_implementation
        == "func Apply() error {\n\treturn nil\n}"
    )


def test_it_refuses_a_section_changed_in_the_file_and_in_the_tracker(out, system_context):
    finding = Finding.objects.get(code="SI-001")
    finding_content_save(
        code="SI-001",
        field="root_cause",
        text="Written in the tracker.",
        expected_version=finding.content_version,
        context=system_context,
    )
    edit(out / SI_001, "[Technical root cause analysis]", "Written in the file.")
    edit(out / SI_001, "[Business impact]", "Only in the file.")

    with pytest.raises(CommandError) as refusal:
        import_docs(out)

    assert f"{SI_001}:1: SI-001's sections root_cause changed both" in str(refusal.value)
    finding.refresh_from_db()
    assert finding.root_cause == "Written in the tracker."
    assert finding.impact == ""


def test_it_imports_a_section_the_tracker_changed_only_elsewhere(out, system_context):
    finding = Finding.objects.get(code="SI-001")
    finding_content_save(
        code="SI-001",
        field="root_cause",
        text="Written in the tracker.",
        expected_version=finding.content_version,
        context=system_context,
    )
    edit(out / SI_001, "[Business impact]", "Only in the file.")

    import_docs(out)

    finding.refresh_from_db()
    assert (finding.root_cause, finding.impact) == ("Written in the tracker.", "Only in the file.")


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        ("## ROLLBACK PROCEDURES", "## ROLLBACK", 194, "expected the heading '### ROLLBACK"),
        ("**Status**: Planned", "**Status**: Done", 1, "the generated text from this line on"),
        ("- [ ] `go test", "- [x] `go test", 158, "the generated text from this line on"),
        ("- **Root Cause**:", "- **Cause**:", 13, "expected the field '- **Root Cause**:'"),
        ('"code":"SI-001"', '"code":"SI-999"', 1, "SI-999 is not a finding of any document"),
        ('"parts"', '"bits"', 237, "the export record (the last line) was edited"),
    ],
)
def test_it_refuses_a_malformed_document_and_applies_nothing(out, old, new, line, reason):
    edit(out / SI_002, "[Specific technical issue]", "A valid edit elsewhere.")
    edit(out / SI_001, old, new)
    versions = dict(Finding.objects.values_list("code", "content_version"))

    with pytest.raises(CommandError) as refusal:
        import_docs(out)

    assert f"{SI_001}:{line}: {reason}" in str(refusal.value)
    assert dict(Finding.objects.values_list("code", "content_version")) == versions


def test_it_refuses_a_file_outside_the_tree(out):
    (out / "phase_2a_foundation" / "NOTES.md").write_text("# notes\n")

    with pytest.raises(CommandError) as refusal:
        import_docs(out)

    assert "phase_2a_foundation/NOTES.md: this file is outside the tree" in str(refusal.value)


def test_it_lists_what_would_change_on_a_dry_run_and_changes_nothing(out):
    edit(out / SI_001, "[Business impact]", "Lost updates.")
    events = AuditEvent.objects.count()

    report = import_docs(out, "--dry-run")

    assert f"{SI_001}\n  SI-001 impact: written (1 lines)\n" in report
    assert "1 sections would change." in report
    assert Finding.objects.get(code="SI-001").impact == ""
    assert AuditEvent.objects.count() == events


def test_it_imports_a_zip_as_exported(catalogue, tmp_path):
    archive = tmp_path / "plans.zip"
    archive.write_bytes(b"".join(zip_stream(snapshot_load())))
    with zipfile.ZipFile(archive) as source:
        files = {name: source.read(name) for name in source.namelist()}
    files[SI_001] = files[SI_001].replace(b"[Business impact]", b"From the zip.")
    with zipfile.ZipFile(archive, "w") as target:
        for name, data in files.items():
            target.writestr(name, data)

    import_docs(archive)

    assert Finding.objects.get(code="SI-001").impact == "From the zip."


def test_it_refuses_a_user_without_edit_content(out, viewer):
    edit(out / SI_001, "[Business impact]", "Lost updates.")

    with pytest.raises(CommandError, match="findings.edit_content"):
        import_docs(out, "--user", viewer.username)


def test_it_refuses_to_overwrite_a_hand_edited_document(out):
    edit(out / SI_001, "[Business impact]", "Not imported yet.")

    with pytest.raises(CommandError) as refusal:
        export(out)

    assert f"changed since the last export wrote them: {SI_001}." in str(refusal.value)
    assert "import_tactical_docs" in str(refusal.value)
    assert "Not imported yet." in (out / SI_001).read_text()


def test_it_overwrites_a_hand_edited_document_when_forced(out):
    edit(out / SI_001, "[Business impact]", "Not imported yet.")

    export(out, "--force")

    assert "[Business impact]" in (out / SI_001).read_text()


def test_it_overwrites_an_edited_document_once_its_edits_are_imported(out):
    edit(out / SI_001, "[Business impact]", "Imported.")
    import_docs(out)

    export(out)

    assert "- **Security/Performance Impact**: Imported." in (out / SI_001).read_text()
    assert import_docs(out).endswith("0 sections changed.\n")


def test_it_records_each_files_hash_in_the_manifest(out):
    manifest = (out / MANIFEST).read_text()

    assert f"  {SI_001}\n" in manifest
    assert len(manifest.split(f"  {SI_001}\n")[0].rsplit("\n", 1)[1]) == 64
