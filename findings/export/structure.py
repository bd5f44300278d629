"""QA of a document's structure: every template section present, filled, holding its parts."""

import re
from bisect import bisect_left, bisect_right

from findings.export import template
from findings.export.markdown_scan import Part, Scan
from findings.models import ChecklistSection

_CHECKBOX = re.compile(r"^\s*[-*+] \[[ xX]\] \S")
# Under each heading, relative to the part's level: (depth, heading, the code block it must hold).
REQUIRED_HEADINGS = (
    (1, template.SECTION_HEADINGS[1], None),
    (1, template.SECTION_HEADINGS[2], "sql"),
    (1, template.SECTION_HEADINGS[3], "go"),
    (1, template.SECTION_HEADINGS[4], "go"),
    (1, template.SECTION_HEADINGS[5], None),
    (2, template.CHECKLIST_HEADING, None),
    *((3, label, None) for _, label in ChecklistSection.choices),
    (1, template.SECTION_HEADINGS[6], None),
    (2, template.SUCCESS_HEADING, None),
    (2, template.ROLLBACK_HEADING, "sql"),
)
CHECKLIST_GROUPS = {label for _, label in ChecklistSection.choices}


def structure_problems(found: Scan):
    """(line, "section", message) for each part of the template missing or left empty."""
    if not found.parts:
        yield (
            1,
            "section",
            (
                "no finding part: expected a 'CODE: TITLE - TACTICAL IMPLEMENTATION PLAN' "
                "heading followed by its **Finding ID** line"
            ),
        )
    for part in found.parts:
        yield from _part_problems(found, part)


def _part_problems(found: Scan, part: Part):
    level = part.heading.level
    inside = _within(found.headings, part, lambda heading: heading.line)
    blocks = _within(found.blocks, part, lambda block: block.start)
    first_heading = inside[0].line if inside else part.end
    yield from _fields(found, part.heading.line, first_heading, template.HEADER_FIELDS, r"")
    for depth, text, language in REQUIRED_HEADINGS:
        heading = next((h for h in inside if h.level == level + depth and h.text == text), None)
        if heading is None:
            yield part.heading.line, "section", f"the section {text!r} is missing"
            continue
        end = next((h.line for h in inside if h.line > heading.line and h.level <= heading.level),
                   part.end)  # fmt: skip
        body = [line for line in found.lines[heading.line : end - 1] if line.strip()]
        if all(line.lstrip().startswith("#") for line in body):
            yield heading.line, "section", f"the section {text!r} is empty"
        elif language and not any(
            heading.line < block.start < end and block.language == language for block in blocks
        ):
            yield heading.line, "section", f"the section {text!r} has no ```{language} block"
        elif text in CHECKLIST_GROUPS and not any(_CHECKBOX.match(line) for line in body):
            yield heading.line, "section", f"the checklist group {text!r} has no items"
        if text == template.SECTION_HEADINGS[1]:
            labels = [label for label, _, _ in template.OVERVIEW_FIELDS]
            yield from _fields(found, heading.line, end, labels, r"[-*+] ")
        if text == template.SUCCESS_HEADING:
            labels = [label for label, _, _ in template.SUCCESS_FIELDS]
            yield from _fields(found, heading.line, end, labels, r"\d+\. ")


def _within(items: list, part: Part, line) -> list:
    """The items (in line order) inside the part, found by bisection: a grouped document may
    hold thousands of parts, and filtering every item for each would be quadratic."""
    start = bisect_right(items, part.heading.line, key=line)
    return items[start : bisect_left(items, part.end, key=line)]


def _fields(found: Scan, start: int, end: int, labels, marker: str):
    """Each `**Label**: value` line between two lines, present and with a value."""
    lines = found.lines[start : end - 1]
    for label in labels:
        pattern = re.compile(rf"^{marker}\*\*{re.escape(label)}\*\*:(.*)$")
        values = [match.group(1) for line in lines if (match := pattern.match(line))]
        if not values:
            yield start, "section", f"the field {label!r} is missing"
        elif not values[0].strip():
            line = start + 1 + next(i for i, text in enumerate(lines) if pattern.match(text))
            yield line, "section", f"the field {label!r} is empty"
