"""Reading an exported document back into the finding fields it was generated from.

The reader walks the document in the order findings.export.documents writes it, part by part:
the headings, field labels, template frame and checklist are generated, the sections between
them are what authors write. Each section is read back to the text that would export to it:
the skeleton or placeholder shown for an empty field reads as empty, and the seed's pattern
framed by the template's migration reads as the pattern alone.

Every exported file ends in an export record, an HTML comment (invisible when rendered) holding
the content version of each finding and hashes of what was exported: per section the text in
the file and the value read from it, and per generated stretch its text. An import compares the
file with the record to tell what the author changed, and the tracker with the record to tell
what changed in the tracker since the export.

What the round trip normalises, as the export does: CR LF becomes LF (a run of CRs before an LF
collapses with it); code loses its leading and trailing blank lines and trailing whitespace at its
end; prose is stripped and its whitespace-only lines become empty.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field

from findings.export import template
from findings.seed import POSTGRESQL_PATTERNS

RECORD_START = "<!-- tactical-export "
RECORD_END = " -->"
RECORD_FORMAT = 1
PROSE_FIELDS = {
    name: (label, placeholder)
    for label, name, placeholder in template.OVERVIEW_FIELDS + template.SUCCESS_FIELDS
}
CODE_FIELDS = ("migration_sql", "go_implementation", "database_tests", "rollback_sql")
# The fields a document is read back into, in document order; the header's title, effort and
# owner are generated text, written in the tracker.
IMPORTED_FIELDS = (
    *(name for _, name, _ in template.OVERVIEW_FIELDS),
    "migration_sql",
    "go_implementation",
    "database_tests",
    *(name for _, name, _ in template.SUCCESS_FIELDS),
    "rollback_sql",
)
_OPENING_FENCE = re.compile(r"\A(`{3,})([A-Za-z]*)[ \t\r]*\Z")
_LINE_BREAK = re.compile(r"\r+\n")
# What ends a field's paragraph even without a blank line: a heading or the next field's label.
_BLOCK_START = re.compile(r"#|- \*\*|[0-9]+\. \*\*")
FILE_LINE = "-- File: "


class MalformedDocument(Exception):
    """The document cannot be read back: where, and why."""

    def __init__(self, path: str, line: int, reason: str):
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


@dataclass(frozen=True)
class Section:
    """One written section as the file holds it: its lines and the field value they read as."""

    field: str
    line: int
    text: str
    value: str


@dataclass(frozen=True)
class Stretch:
    """Generated text between sections, compared with the record whitespace-insensitively."""

    line: int
    text: str


@dataclass
class PartRead:
    code: str
    line: int
    sections: dict[str, Section] = field(default_factory=dict)


@dataclass
class DocumentRead:
    parts: list[PartRead]
    generated: list[Stretch]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def stretch_hash(stretch: Stretch) -> str:
    # Editors trim trailing spaces and final blank lines; neither changes generated text.
    lines = [line.rstrip() for line in stretch.text.split("\n")]
    return text_hash("\n".join(lines).strip("\n"))


def normalised_prose(text: str) -> str:
    stripped = _LINE_BREAK.sub("\n", text).strip()
    return "\n".join(line if line.strip() else "" for line in stripped.split("\n"))


def normalised_code(text: str) -> str:
    return _LINE_BREAK.sub("\n", text).strip("\n").rstrip()


def normalised(field_name: str, text: str) -> str:
    """`text` as the round trip gives it back (see the module's docstring)."""
    if field_name in PROSE_FIELDS:
        return normalised_prose(text)
    return normalised_code(text)


def document_record(*, markdown: str, path: str, parts: list, values: dict) -> str:
    """The export record appended to a document: `parts` are the export's, in order."""
    read = document_read(markdown, path=path, codes=[p.finding.code for p in parts], values=values)
    record = {
        "format": RECORD_FORMAT,
        "parts": [
            {
                "code": part_read.code,
                "content_version": part.finding.content_version,
                "sections": {
                    name: [text_hash(section.text), text_hash(section.value)]
                    for name, section in part_read.sections.items()
                },
            }
            for part, part_read in zip(parts, read.parts, strict=True)
        ],
        "generated": [stretch_hash(stretch) for stretch in read.generated],
    }
    return f"\n{RECORD_START}{json.dumps(record, separators=(',', ':'))}{RECORD_END}\n"


def record_read(text: str, *, path: str) -> tuple[dict, str]:
    """The record and the document without it, or MalformedDocument."""
    body, _, last = text.rstrip().rpartition("\n")
    last = last.strip()
    if not (last.startswith(RECORD_START) and last.endswith(RECORD_END)):
        raise MalformedDocument(
            path,
            body.count("\n") + 2,
            "the export record (the last line, an HTML comment) is missing or edited: import "
            "only documents written by export_tactical_docs, with their last line kept",
        )
    try:
        record = json.loads(last[len(RECORD_START) : -len(RECORD_END)])
    except ValueError:
        record = None
    if not _record_well_formed(record):
        raise MalformedDocument(
            path, body.count("\n") + 2, "the export record (the last line) was edited"
        )
    return record, body + "\n"


def _record_well_formed(record) -> bool:
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        return False
    parts, generated = record.get("parts"), record.get("generated")
    if not isinstance(parts, list) or not isinstance(generated, list):
        return False
    return all(
        isinstance(part, dict)
        and isinstance(part.get("code"), str)
        and isinstance(part.get("content_version"), int)
        and isinstance(part.get("sections"), dict)
        for part in parts
    )


def document_read(text: str, *, path: str, codes: list[str], values: dict) -> DocumentRead:
    """Read a document (without its record) whose parts are the findings `codes`, in order.

    `values` maps each code to the placeholder values the template was filled with. Raises
    MalformedDocument at the first heading, label or fence that is not where the export put it.
    """
    return _Reader(text, path, values).document(codes)


class _Reader:
    def __init__(self, text: str, path: str, values: dict):
        self.lines = text.split("\n")
        self.path = path
        self.values = values
        self.at = 0
        self.generated: list[Stretch] = []
        self._stretch_start = 0

    # Generated text: everything consumed between two sections forms one stretch.

    def _close_stretch(self) -> None:
        lines = self.lines[self._stretch_start : self.at]
        self.generated.append(Stretch(self._stretch_start + 1, "\n".join(lines)))

    def _open_stretch(self) -> None:
        self._stretch_start = self.at

    def fail(self, reason: str, line: int | None = None) -> MalformedDocument:
        return MalformedDocument(self.path, (self.at if line is None else line) + 1, reason)

    def current(self) -> str | None:
        return self.lines[self.at] if self.at < len(self.lines) else None

    def skip_blank(self) -> None:
        while self.at < len(self.lines) and not self.lines[self.at].strip():
            self.at += 1

    def heading(self, text: str) -> None:
        self.skip_blank()
        found = self.current()
        if found is None or found.rstrip() != text:
            shown = "the end of the file" if found is None else repr(found.rstrip())
            raise self.fail(f"expected the heading {text!r}, found {shown}: missing or renamed")
        self.at += 1

    def until_heading(self, text: str) -> None:
        start = self.at
        while self.at < len(self.lines):
            if self.lines[self.at].rstrip() == text:
                self.at += 1
                return
            self.at += 1
        raise self.fail(f"the heading {text!r} after this line is missing or renamed", start)

    def fence(self, language: str) -> tuple[int, list[str]]:
        """The code block here: its first line's index and its body's lines."""
        self.skip_blank()
        opening = _OPENING_FENCE.match(self.current() or "")
        if opening is None or opening[2] != language:
            raise self.fail(f"expected a ```{language} code block here")
        start, ticks = self.at, len(opening[1])
        self.at += 1
        while self.at < len(self.lines):
            if _closes_fence(self.lines[self.at], ticks):
                self.at += 1
                return start, self.lines[start + 1 : self.at - 1]
            self.at += 1
        raise self.fail("this code block is never closed", start)

    # Sections.

    def section(self, part: PartRead, name: str, start: int, value: str) -> None:
        text = "\n".join(self.lines[start : self.at])
        part.sections[name] = Section(name, start + 1, text, value)

    def prose(self, part: PartRead, name: str, marker: str) -> None:
        label, placeholder = PROSE_FIELDS[name]
        self.skip_blank()
        prefix = f"{marker} **{label}**:"
        line = self.current()
        if line is None or not line.startswith(prefix):
            raise self.fail(f"expected the field '{prefix}' here: missing or renamed")
        self._close_stretch()
        start = self.at
        lines = [line[len(prefix) :]]
        self.at += 1
        end = self.at
        while self.at < len(self.lines):
            line = self.lines[self.at]
            if line.startswith("    ") or not line.strip():
                lines.append(line[4:] if line.strip() else "")
            elif self.lines[self.at - 1].strip() and not _BLOCK_START.match(line):
                # Markdown's lazy continuation: an author's unindented line goes on the paragraph.
                lines.append(line)
            else:
                break
            self.at += 1
            if line.strip():
                end = self.at
        self.at = end
        value = normalised_prose("\n".join(lines[: end - start]))
        self.section(part, name, start, "" if value == placeholder else value)
        self._open_stretch()

    def code(self, part: PartRead, name: str, language: str, read) -> None:
        self.skip_blank()
        self._close_stretch()
        start, body = self.fence(language)
        self.section(part, name, start, read(part.code, normalised_code("\n".join(body))))
        self._open_stretch()

    # The document.

    def document(self, codes: list[str]) -> DocumentRead:
        parts = []
        if len(codes) == 1:
            parts.append(self.part(codes[0], level=1))
        else:
            for code in codes:
                self.until_line("---")
                parts.append(self.part(code, level=2))
        self.at = len(self.lines)
        self._close_stretch()
        return DocumentRead(parts, self.generated)

    def until_line(self, text: str) -> None:
        start = self.at
        while self.at < len(self.lines):
            self.at += 1
            if self.lines[self.at - 1].rstrip() == text:
                return
        raise self.fail(f"the separator {text!r} before the next part is missing", start)

    def part(self, code: str, level: int) -> PartRead:
        h = "#" * level
        self.skip_blank()
        title = self.current() or ""
        if not title.startswith(f"{h} {code}: "):
            raise self.fail(
                f"expected the heading of {code}'s part, '{h} {code}: …', found {title!r}"
            )
        part = PartRead(code, self.at + 1)
        self.until_heading(f"{h}# {template.SECTION_HEADINGS[1]}")
        for _, name, _ in template.OVERVIEW_FIELDS:
            self.prose(part, name, "-")
        self.heading(f"{h}# {template.SECTION_HEADINGS[2]}")
        self.code(part, "migration_sql", "sql", self.migration)
        self.heading(f"{h}# {template.SECTION_HEADINGS[3]}")
        self.code(part, "go_implementation", "go", self.go)
        self.heading(f"{h}# {template.SECTION_HEADINGS[4]}")
        self.heading(f"{h}## {template.ENVIRONMENT_HEADING}")
        self.fence("bash")
        self.heading(f"{h}## {template.SUITE_HEADING}")
        self.database_tests(part, f"{h}## {template.PATTERN_HEADING}")
        self.heading(f"{h}# {template.SECTION_HEADINGS[5]}")
        self.until_heading(f"{h}# {template.SECTION_HEADINGS[6]}")
        self.heading(f"{h}## {template.SUCCESS_HEADING}")
        for number, (_, name, _) in enumerate(template.SUCCESS_FIELDS, start=1):
            self.prose(part, name, f"{number}.")
        self.heading(f"{h}## {template.ROLLBACK_HEADING}")
        self.code(part, "rollback_sql", "sql", self.rollback)
        return part

    def database_tests(self, part: PartRead, pattern_heading: str) -> None:
        self.skip_blank()
        self._close_stretch()
        start, suite = self.fence("go")
        suite_text, body = normalised_code("\n".join(suite)), None
        after_suite = self.at
        self.skip_blank()
        if (self.current() or "").rstrip() == pattern_heading:
            self.at += 1
            _, pattern = self.fence("go")
            body = normalised_code("\n".join(pattern))
        else:
            self.at = after_suite
        values = self.values[part.code]
        skeleton = (
            template.fill(template.TEST_SUITE_SKELETON, values),
            template.fill(template.CONCURRENT_WORKER_PATTERN, values),
        )
        if body is None:
            value = suite_text
        elif (suite_text, body) == skeleton:
            value = ""
        else:
            # The author wrote into the skeleton shown for an empty field: both blocks are theirs.
            value = normalised_code(f"{suite_text}\n\n{body}")
        self.section(part, "database_tests", start, value)
        self._open_stretch()

    def migration(self, code: str, body: str) -> str:
        lines = body.split("\n")
        if lines[0] != template.FOUNDATION_NOTE:
            return normalised_code("\n".join(_without_file_line(lines)))
        # The template's frame: the operation inside it is the seed's pattern or the example.
        written = "\n".join(_without_file_line(lines[1:]))
        opening, closing = f"{template.MIGRATION_OPENING}\n", f"\n\n{template.MIGRATION_CLOSING}"
        if not (written.startswith(opening) and written.endswith(closing)):
            return normalised_code(written)
        operation = written[len(opening) : -len(closing)]
        if operation == template.fill(template.MIGRATION_EXAMPLE, self.values[code]):
            return ""
        if operation == POSTGRESQL_PATTERNS.get(code):
            return operation
        # The author edited inside the frame: the frame they saw is part of their migration.
        return normalised_code(written)

    def go(self, code: str, body: str) -> str:
        return "" if body == template.GO_SKELETON else body

    def rollback(self, code: str, body: str) -> str:
        lines = body.split("\n")
        if lines[0] == template.ROLLBACK_NOTE:
            lines = lines[1:]
        return normalised_code("\n".join(_without_file_line(lines)))


def _closes_fence(line: str, ticks: int) -> bool:
    """CommonMark's closing fence: indented less than four spaces, at least as long."""
    stripped = line.strip()
    indent = len(line) - len(line.lstrip(" "))
    return indent < 4 and len(stripped) >= ticks and set(stripped) == {"`"}


def _without_file_line(lines: list[str]) -> list[str]:
    return lines[1:] if lines and lines[0].startswith(FILE_LINE) else lines
