"""What importing exported documents would change, or why they cannot be imported.

A section changed in the file (its text differs from the record's hash) is imported; one the
tracker also changed since the export (the value it would export now differs from the record's)
is a conflict. Unchanged sections are left alone, so exporting and importing changes nothing.
Writing the plan is findings.services.content_import's work.
"""

import difflib
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from io import BytesIO
from pathlib import Path, PurePosixPath

from findings.export.documents import document_markdown
from findings.export.reader import (
    MalformedDocument,
    document_read,
    record_read,
    stretch_hash,
    text_hash,
)
from findings.export.snapshot import DocumentEntry, ExportSnapshot
from findings.export.tree import MANIFEST, README, snapshot_placeholder_values

# A zip of the tree is a few hundred kilobytes; these bound what an upload may make us read.
ZIP_FILES_LIMIT = 1000
ZIP_BYTES_LIMIT = 50 * 1024 * 1024


class TreeUnreadable(Exception):
    """The folder or zip itself cannot be read as an exported tree."""


@dataclass(frozen=True)
class FieldChange:
    path: str
    code: str
    field: str
    before: str
    after: str

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.before.split("\n"), self.after.split("\n"), "tracker", "file", lineterm=""
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        before, after = len(self.before.split("\n")), len(self.after.split("\n"))
        if not self.before:
            return f"{self.code} {self.field}: written ({after} lines)"
        if not self.after:
            return f"{self.code} {self.field}: emptied"
        return f"{self.code} {self.field}: {before} lines → {after} lines"


@dataclass
class ImportPlan:
    changes: list[FieldChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)

    def changes_by_document(self) -> dict[str, list[FieldChange]]:
        grouped = {path: [] for path in self.documents}
        for change in self.changes:
            grouped[change.path].append(change)
        return grouped


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by its path in the tree, hidden files and folders left out."""
    if not folder.is_dir():
        raise TreeUnreadable(f"{folder} is not a folder.")
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or path.is_dir():
            continue
        files[relative.as_posix()] = path.read_bytes()
    return files


def zip_files(data: bytes) -> dict[str, bytes]:
    """Every file of a zip by its name, bounded in number and size."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if len(infos) > ZIP_FILES_LIMIT or sum(i.file_size for i in infos) > ZIP_BYTES_LIMIT:
            raise TreeUnreadable("The zip holds far more than an exported tree.")
        return {info.filename: archive.read(info) for info in infos}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
        raise TreeUnreadable(f"This is not a readable zip file: {error}") from error


def path_files(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return zip_files(path.read_bytes())
    return folder_files(path)


class _Tracker:
    """What the tracker holds now: its documents, findings and the value each section exports."""

    def __init__(self, snapshot: ExportSnapshot):
        self.snapshot = snapshot
        self.entries = {entry.path: entry for entry in snapshot.documents}
        self.values = snapshot_placeholder_values(snapshot)
        self._read = {}

    @cached_property
    def entry_of(self) -> dict[str, DocumentEntry]:
        return {
            part.finding.code: entry for entry in self.snapshot.documents for part in entry.parts
        }

    def finding(self, code: str):
        return next(p.finding for p in self.entry_of[code].parts if p.finding.code == code)

    def exported_values(self, code: str) -> dict[str, str]:
        entry = self.entry_of[code]
        if entry.path not in self._read:
            markdown = document_markdown(entry, self.snapshot)
            read = document_read(markdown, path=entry.path, codes=entry.codes, values=self.values)
            self._read[entry.path] = {
                part.code: {name: s.value for name, s in part.sections.items()}
                for part in read.parts
            }
        return self._read[entry.path][code]


def import_plan(*, files: dict[str, bytes], snapshot: ExportSnapshot) -> ImportPlan:
    """Per document and field what importing `files` (paths in the tree) would change."""
    tracker = _Tracker(snapshot)
    plan = ImportPlan()
    for path in sorted(files):
        name = PurePosixPath(path)
        if path in (README, MANIFEST) or any(part.startswith(".") for part in name.parts):
            continue
        if path not in tracker.entries:
            plan.problems.append(
                f"{path}: this file is outside the tree: the export writes no document there."
            )
            continue
        plan.documents.append(path)
        try:
            _document_plan(plan, path, files[path], tracker)
        except MalformedDocument as malformed:
            plan.problems.append(str(malformed))
    return plan


def _document_plan(plan: ImportPlan, path: str, data: bytes, tracker: _Tracker) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedDocument(path, 1, "this file is not UTF-8 text") from error
    record, body = record_read(text, path=path)
    codes = [part["code"] for part in record["parts"]]
    for code in codes:
        if code not in tracker.entry_of:
            raise MalformedDocument(
                path, _heading_line(body, code), f"{code} is not a finding of any document"
            )
    read = document_read(body, path=path, codes=codes, values=tracker.values)
    if len(read.generated) != len(record["generated"]):
        raise MalformedDocument(path, 1, "the document's parts differ from its export record")
    for stretch, recorded in zip(read.generated, record["generated"], strict=True):
        if stretch_hash(stretch) != recorded:
            raise MalformedDocument(
                path,
                stretch.line,
                "the generated text from this line on (headings, header, template frame or "
                "checklist) was edited: change it in the tracker, and only sections here",
            )
    for part, recorded in zip(read.parts, record["parts"], strict=True):
        _part_plan(plan, path, part, recorded, tracker)


def _part_plan(plan: ImportPlan, path: str, part, recorded: dict, tracker: _Tracker) -> None:
    finding = tracker.finding(part.code)
    now = tracker.exported_values(part.code)
    changes, conflicts = [], []
    for name, section in part.sections.items():
        region_hash, value_hash = (recorded["sections"].get(name) or [None, None])[:2]
        if text_hash(section.text) == region_hash or section.value == now[name]:
            continue
        if "\x00" in section.value:
            raise MalformedDocument(path, section.line, "this section holds a NUL character")
        if text_hash(now[name]) != value_hash:
            conflicts.append(name)
        else:
            changes.append(
                FieldChange(path, part.code, name, getattr(finding, name), section.value)
            )
    if conflicts:
        plan.problems.append(
            f"{path}:{part.line}: {part.code}'s sections {', '.join(conflicts)} changed both in "
            f"this file and in the tracker since the export (content version "
            f"{recorded['content_version']} then, {finding.content_version} now). Export again "
            "and redo these edits, or make them in the tracker."
        )
    plan.changes += changes


def _heading_line(body: str, code: str) -> int:
    for number, line in enumerate(body.split("\n"), start=1):
        if line.lstrip("#").startswith(f" {code}: "):
            return number
    return 1
