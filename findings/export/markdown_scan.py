"""A line-level reading of an exported markdown file: headings, fenced blocks, prose, parts.

Only as much markdown as QA needs, and the same rules the documents are written by: ATX headings,
backtick or tilde fences (possibly indented inside a list item), and a part per finding, which is
a `CODE: TITLE - TACTICAL IMPLEMENTATION PLAN` heading followed by its `**Finding ID**` line.
"""

import re
from dataclasses import dataclass, field

from findings.export import template

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
_PART = re.compile(rf"^(\S+): .*{re.escape(template.TITLE_SUFFIX)}$")
_SECTION_BY_HEADING = {heading: number for number, heading in template.SECTION_HEADINGS.items()}


@dataclass(frozen=True)
class Heading:
    line: int
    level: int
    text: str


@dataclass
class Block:
    start: int
    fence: str
    language: str
    lines: list[str] = field(default_factory=list)
    closed: bool = False

    @property
    def code(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Part:
    code: str
    heading: Heading
    end: int  # the first line after the part


@dataclass
class Scan:
    lines: list[str]
    headings: list[Heading]
    blocks: list[Block]
    prose: list[tuple[int, str]]
    parts: list[Part]
    labels: list[str]

    def section_at(self, line: int) -> str:
        return self.labels[min(max(line, 1), len(self.labels)) - 1] if self.labels else "Title"


def scan(text: str) -> Scan:
    """Read `text`; every line number is 1-based, as an editor shows it."""
    lines = text.split("\n")
    headings, blocks, prose = [], [], []
    block = indent = None
    for number, line in enumerate(lines, start=1):
        if block is not None:
            fence = _FENCE.match(line)
            closes = fence and fence.group(2)[0] == block.fence[0]
            if closes and len(fence.group(2)) >= len(block.fence) and not fence.group(3).strip():
                block.closed, block = True, None
            else:
                block.lines.append(line[indent:] if line[:indent].isspace() else line.lstrip())
            continue
        fence = _FENCE.match(line)
        if fence and not (fence.group(2)[0] == "`" and "`" in fence.group(3)):
            indent = len(fence.group(1))
            block = Block(number, fence.group(2), fence.group(3).strip().split(" ")[0])
            blocks.append(block)
            continue
        heading = _HEADING.match(line)
        if heading:
            headings.append(Heading(number, len(heading.group(1)), heading.group(2)))
        else:
            prose.append((number, line))
    parts = _parts(lines, headings)
    return Scan(lines, headings, blocks, prose, parts, _labels(len(lines), headings, parts))


def _parts(lines: list[str], headings: list[Heading]) -> list[Part]:
    starts = []
    for heading in headings:
        match = _PART.match(heading.text)
        # Indices, not a slice: copying the rest of a long document per heading is quadratic.
        following = next(
            (lines[i] for i in range(heading.line, len(lines)) if lines[i].strip()), ""
        )
        if match and following.startswith("**Finding ID**"):
            starts.append((match.group(1), heading))
    ends = [heading.line for _, heading in starts[1:]] + [len(lines) + 1] if starts else []
    return [Part(code, heading, end) for (code, heading), end in zip(starts, ends, strict=True)]


def _labels(count: int, headings: list[Heading], parts: list[Part]) -> list[str]:
    """The section each line belongs to, as QA names it."""
    labels, label = [], "Title"
    by_line = {heading.line: heading for heading in headings}
    part_at = {part.heading.line: part for part in parts}
    part = None
    for number in range(1, count + 1):
        heading = by_line.get(number)
        if heading is not None:
            if number in part_at:
                part = part_at[number]
                label = _part_label(part, parts, 1)
            elif (
                part
                and heading.level == part.heading.level + 1
                and (heading.text.upper() in _SECTION_BY_HEADING)
            ):
                label = _part_label(part, parts, _SECTION_BY_HEADING[heading.text.upper()])
            elif part is None or heading.level <= part.heading.level:
                part = None
                if heading.level <= 2 or label == "Title":
                    label = heading.text.replace(":", "")
        labels.append(label)
    return labels


def _part_label(part: Part, parts: list[Part], section: int) -> str:
    name = template.SECTION_NAMES[section]
    return f"{part.code} {name}" if len(parts) > 1 else name
