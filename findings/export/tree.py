"""The exported tree: its files in order, written to a folder, or streamed as a zip.

A folder the export made holds a manifest (`.tactical_export`) listing the files it wrote with
their hashes, so the next export can replace them and remove those that are gone, can tell a
folder of someone else's files, and refuses to overwrite a file edited since, unless forced,
until its edits are imported (an imported document holds what the export would write).
"""

import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from findings.export.documents import document_markdown, placeholder_values
from findings.export.index import readme_markdown
from findings.export.reader import (
    MalformedDocument,
    document_read,
    document_record,
    record_read,
    stretch_hash,
)
from findings.export.snapshot import ExportSnapshot
from findings.models import PLAIN_NAME_PATTERN

README = "README.md"
MANIFEST = ".tactical_export"
MANIFEST_HEADER = (
    "# Written by `manage.py export_tactical_docs`: the files it owns in this folder. It replaces\n"
    "# them on the next export and removes those no longer exported. Do not edit.\n"
)
HASH_SEPARATOR = "  "
# Folder and file names come from the database, so each must be one plain path component. The
# models refuse any other name on save; this catches rows written behind their back.
SAFE_NAME = re.compile(rf"\A{PLAIN_NAME_PATTERN}\Z")
# A fixed timestamp (the earliest zip allows) keeps the archive's bytes the same every time.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class ExportRefused(Exception):
    """The export would overwrite what it does not own, or write outside its folder."""


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{len(self.written)} written, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} stale removed"
        )


def tree_paths(snapshot: ExportSnapshot) -> list[str]:
    """Every file's path in the tree, README first, then the documents in sequence."""
    paths = [README]
    for entry in snapshot.documents:
        for name in (entry.phase.folder_name, entry.document.file_name):
            if not SAFE_NAME.match(name):
                raise ExportRefused(
                    f"{name!r} ({entry.document.file_name!r}) is not a plain file or folder name: "
                    "use only letters, digits, '.', '_' and '-'."
                )
        paths.append(entry.path)
    return paths


def tree_folders(paths: list[str]) -> set[str]:
    return {path.rsplit("/", 1)[0] for path in paths if "/" in path}


def tree_files(snapshot: ExportSnapshot) -> Iterator[tuple[str, bytes]]:
    """(path, content) of each file, rendered one at a time."""
    paths = tree_paths(snapshot)
    yield README, readme_markdown(snapshot).encode()
    for path, entry in zip(paths[1:], snapshot.documents, strict=True):
        markdown = document_markdown(entry, snapshot)
        values = {part.finding.code: placeholder_values(part.finding) for part in entry.parts}
        record = document_record(markdown=markdown, path=path, parts=entry.parts, values=values)
        yield path, (markdown + record).encode()


def file_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def tree_write(*, snapshot: ExportSnapshot, out: Path, force: bool = False) -> WriteReport:
    """Write the tree into `out`, replacing what an earlier export wrote there.

    Raises ExportRefused when `out` holds files of its own and no manifest, or files edited since
    the export wrote them whose edits are not in the tracker, unless `force`.
    """
    paths = tree_paths(snapshot)
    previous = _owned_files(out, force=force)
    if not force:
        _refuse_unimported_edits(snapshot, out, previous)
    hashes = {}
    report = WriteReport()
    out.mkdir(parents=True, exist_ok=True)
    for path, content in tree_files(snapshot):
        target = out / path
        hashes[path] = file_hash(content)
        if target.is_file() and not target.is_symlink() and target.read_bytes() == content:
            report.unchanged.append(path)
            continue
        target.parent.mkdir(exist_ok=True)
        _replace(target, content)
        report.written.append(path)
    for path in sorted(set(previous) - set(paths)):
        target = out / path
        if target.is_file() or target.is_symlink():
            target.unlink()
            report.removed.append(path)
        if target.parent != out and target.parent.is_dir() and not any(target.parent.iterdir()):
            target.parent.rmdir()
    listing = "".join(f"{hashes[path]}{HASH_SEPARATOR}{path}\n" for path in paths)
    _replace(out / MANIFEST, (MANIFEST_HEADER + listing).encode())
    return report


def _refuse_unimported_edits(
    snapshot: ExportSnapshot, out: Path, previous: dict[str, str | None]
) -> None:
    """Refuse to overwrite or remove files changed since the export wrote them.

    A document whose sections hold what the tracker holds (its edits were imported) and whose
    generated text is as exported may be overwritten: nothing of the author's is lost.
    """
    edited = {}
    for path, written_hash in previous.items():
        target = out / path
        if target.is_file() and not target.is_symlink():
            content = target.read_bytes()
            if file_hash(content) != written_hash:
                edited[path] = content
    if not edited:
        return
    values = snapshot_placeholder_values(snapshot)
    for path, content in tree_files(snapshot):
        if path in edited:
            exported = _sections_of(path, content, values)
            if exported is not None and exported == _sections_of(path, edited[path], values):
                del edited[path]
    if edited:
        raise ExportRefused(
            f"These files in {out} changed since the last export wrote them: "
            f"{', '.join(sorted(edited))}. Import the documents' edits first "
            f"(manage.py import_tactical_docs {out} --dry-run shows them), or pass --force to "
            "overwrite them."
        )


def snapshot_placeholder_values(snapshot: ExportSnapshot) -> dict[str, dict[str, str]]:
    return {
        part.finding.code: placeholder_values(part.finding)
        for entry in snapshot.documents
        for part in entry.parts
    }


def _sections_of(path: str, content: bytes, values: dict) -> dict | None:
    """Each finding's section values in an exported document, None when it cannot be read.

    The generated text must be as its own record says it was exported, or edits to it would
    be lost without a word.
    """
    if path == README:
        return None
    try:
        record, body = record_read(content.decode(), path=path)
        codes = [part["code"] for part in record["parts"]]
        read = document_read(body, path=path, codes=codes, values=values)
    except (MalformedDocument, UnicodeDecodeError, KeyError):
        return None
    if [stretch_hash(stretch) for stretch in read.generated] != record["generated"]:
        return None
    return {part.code: {n: s.value for n, s in part.sections.items()} for part in read.parts}


def _owned_files(out: Path, *, force: bool) -> dict[str, str | None]:
    """The files an earlier export wrote into `out`, or refuse a folder it did not make."""
    if not out.exists():
        return {}
    if not out.is_dir():
        raise ExportRefused(f"{out} exists and is not a folder.")
    manifest = out / MANIFEST
    if not manifest.is_file():
        if any(out.iterdir()) and not force:
            raise ExportRefused(
                f"{out} is not empty and was not made by export_tactical_docs (it has no "
                f"{MANIFEST} file). Choose an empty or new folder with --out, or pass --force "
                "to write into this one anyway."
            )
        return {}
    owned = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        # A manifest from before hashes were kept lists bare paths.
        written_hash, _, path = line.rpartition(HASH_SEPARATOR)
        if not all(SAFE_NAME.match(part) for part in path.split("/")) or path.count("/") > 1:
            raise ExportRefused(f"{manifest} lists {path!r}, which is not a path in the tree.")
        owned[path] = written_hash or None
    return owned


def _replace(target: Path, content: bytes) -> None:
    # Write beside the target and rename over it, so a reader never sees half a file and a
    # symlink at the target is replaced rather than followed.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class _ChunkSink:
    """A write-only, unseekable file for zipfile that hands out what was written so far.

    Without `seek`, zipfile writes each entry's sizes after its data, so nothing is rewritten.
    """

    def __init__(self):
        self._chunks: list[bytes] = []
        self._position = 0

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_stream(snapshot: ExportSnapshot) -> Iterator[bytes]:
    """The tree as a zip, one chunk per file: never more than one document in memory.

    The names are checked now, before the first byte, so a refusal is an error, not a cut stream.
    """
    tree_paths(snapshot)
    return _zip_chunks(snapshot)


def _zip_chunks(snapshot: ExportSnapshot) -> Iterator[bytes]:
    sink = _ChunkSink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in tree_files(snapshot):
            info = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            archive.writestr(info, content)
            yield sink.take()
    yield sink.take()
