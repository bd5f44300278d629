"""A reading of an exported markdown file: headings, fenced blocks, prose, parts.

markdown-it-py parses the markdown (CommonMark), so a fence or a heading is what a renderer shows
as one; its tokens carry their lines. On top of it: a part per finding, which is a
`CODE: TITLE - TACTICAL IMPLEMENTATION PLAN` heading followed by its `**Finding ID**` line.
"""

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt

from findings.export import template

# Block structure only: QA reads inline text line by line itself. Without "normalize" a lone \r
# stays in its line, so the token lines are the lines of text.split("\n").
_MARKDOWN = MarkdownIt("commonmark").disable(["normalize", "inline", "text_join"])
_PART = re.compile(rf"^(\S+): .*{re.escape(template.TITLE_SUFFIX)}$")
_SECTION_BY_HEADING = {heading: number for number, heading in template.SECTION_HEADINGS.items()}


@dataclass(frozen=True)
class Heading:
    line: int
    level: int
    text: str


@dataclass(frozen=True)
class Block:
    start: int
    fence: str
    language: str
    lines: list[str]
    closed: bool

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
    headings, blocks, taken = [], [], set()
    tokens = _MARKDOWN.parse(text)
    for index, token in enumerate(tokens):
        start, end = token.map or (0, 0)
        # Setext headings (a line underlined by === or ---) are not how the documents are written.
        if token.type == "heading_open" and token.markup.startswith("#"):
            # The heading's inline token follows its opening one and holds its text.
            headings.append(Heading(start + 1, int(token.tag[1:]), tokens[index + 1].content))
            taken.add(start + 1)
        elif token.type == "fence":
            blocks.append(_block(token.markup, token.info, token.content, start, end))
            taken.update(range(start + 1, end + 1))
    prose = [(number, line) for number, line in enumerate(lines, start=1) if number not in taken]
    parts = _parts(lines, headings)
    return Scan(lines, headings, blocks, prose, parts, _labels(len(lines), headings, parts))


def _block(fence: str, info: str, content: str, start: int, end: int) -> Block:
    code_lines = content.removesuffix("\n").split("\n") if content else []
    # The token does not say whether the fence was closed: an unclosed one runs to the end of its
    # container, a closed one spans one line more than its code, the closing fence.
    closed = end - start - 1 > len(code_lines)
    return Block(start + 1, fence, info.strip().split(" ")[0], code_lines, closed)


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
