"""One tactical document's markdown, rendered from the export snapshot.

Every document follows the seed's Enhanced Document Template, sections 1–6. A document covering
several findings (REMAINING_FINDINGS_TACTICAL_PLAN.md) has one part per finding, each a complete
template one heading level down. What an admin wrote in a finding's fields replaces the template's
skeleton section by section; everything else is the skeleton with the database's facts filled in.
"""

import posixpath
import re
import unicodedata
from datetime import UTC
from urllib.parse import quote

from findings.export import template
from findings.export.escaping import link_target, markdown_text, one_line
from findings.export.figures import burndown_lines, phase_graph_lines
from findings.export.index import signed_off_text
from findings.export.snapshot import DocumentEntry, ExportSnapshot, Item, Part, PhaseEntry
from findings.models import ChecklistSection, Status
from findings.seed import POSTGRESQL_PATTERNS, TITLE_PLACEHOLDER

SLUG_LENGTH = 60


def document_markdown(entry: DocumentEntry, snapshot: ExportSnapshot) -> str:
    """The document's full text: `\\n` line endings, one final newline, no timestamps of its own."""
    if len(entry.parts) == 1:
        lines = _part_lines(entry.parts[0], entry, snapshot, level=1)
    else:
        lines = _grouped_lines(entry, snapshot)
    lines += _phase_figures(entry, snapshot)
    return "\n".join(lines).rstrip("\n") + "\n"


def finding_slug(code: str) -> str:
    """`SI-001` → `si_001`, the template's `[finding_id]`."""
    return re.sub(r"[^a-z0-9]+", "_", code.lower()).strip("_")


def title_slug(title: str) -> str:
    """A migration file name's `[description]`: ASCII, lower case, underscores."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_title.lower()).strip("_")
    return slug[:SLUG_LENGTH].rstrip("_") or "migration"


def migration_path(part: Part) -> str:
    code, title = finding_slug(part.finding.code), description(part.finding.title)
    return f"{template.MIGRATIONS_DIR}/{part.number:03d}_{code}_{title}.sql"


def description(title: str) -> str:
    """The file name's `[description]`, left as the placeholder while the seed's stands in."""
    return "[description]" if title == TITLE_PLACEHOLDER else title_slug(title)


def rollback_path(part: Part) -> str:
    code = finding_slug(part.finding.code)
    return f"{template.MIGRATIONS_DIR}/{part.number:03d}_rollback_{code}.sql"


def fenced(language: str, body: str) -> list[str]:
    """A code fence long enough that no backtick run inside the body can close it."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *body.split("\n"), fence]


def _grouped_lines(entry: DocumentEntry, snapshot: ExportSnapshot) -> list[str]:
    stem = entry.document.file_name.removesuffix(".md").removesuffix("_TACTICAL_PLAN")
    lines = [
        f"# {markdown_text(stem.replace('_', ' '))}: {markdown_text(entry.document.title)}"
        f"{template.TITLE_SUFFIX}",
        "",
        *_hard_breaks(
            [
                f"**Findings**: {', '.join(entry.codes) or 'None'}",
                f"**Phase**: {markdown_text(entry.phase.code)} {markdown_text(entry.phase.name)}",
                *_gate_fields(snapshot.gates_before(entry.phase.pk)),
            ]
        ),
    ]
    if not entry.parts:
        return [*lines, "No findings are assigned to this document yet.", ""]
    lines += [
        "One part per finding, each following the Enhanced Document Template, sections 1–6.",
        "",
        *(f"{n}. {part.finding.code}: {markdown_text(part.finding.title)}"
          for n, part in enumerate(entry.parts, start=1)),
        "",
    ]  # fmt: skip
    for part in entry.parts:
        lines += ["---", "", *_part_lines(part, entry, snapshot, level=2)]
    return lines


def _part_lines(part: Part, entry: DocumentEntry, snapshot: ExportSnapshot, level: int):
    finding = part.finding
    h = _headings(level)
    values = placeholder_values(finding)
    return [
        *h(0, f"{finding.code}: {markdown_text(finding.title)}{template.TITLE_SUFFIX}"),
        *_header_fields(part, entry, snapshot),
        *h(1, template.SECTION_HEADINGS[1]),
        *(_field("-", label, getattr(finding, name), placeholder)
          for label, name, placeholder in template.OVERVIEW_FIELDS),
        "",
        *h(1, template.SECTION_HEADINGS[2]),
        *_migration(part, values),
        "",
        *h(1, template.SECTION_HEADINGS[3]),
        *fenced("go", _code(finding.go_implementation) or template.GO_SKELETON),
        "",
        *h(1, template.SECTION_HEADINGS[4]),
        *_database_tests(part, values, h),
        *h(1, template.SECTION_HEADINGS[5]),
        *h(2, template.CHECKLIST_HEADING),
        *_checklist(part.items, h),
        *h(1, template.SECTION_HEADINGS[6]),
        *h(2, template.SUCCESS_HEADING),
        *(_field(f"{n}.", label, getattr(finding, name), placeholder)
          for n, (label, name, placeholder) in enumerate(template.SUCCESS_FIELDS, start=1)),
        "",
        *h(2, template.ROLLBACK_HEADING),
        *fenced("sql", _join(template.ROLLBACK_NOTE, f"-- File: {rollback_path(part)}",
                             _code(finding.rollback_sql))),
        "",
    ]  # fmt: skip


def placeholder_values(finding) -> dict[str, str]:
    """What the template's placeholders are filled with in `finding`'s part."""
    return {
        "[FINDING-ID]": finding.code,
        "[TITLE]": one_line(finding.title),
        "[finding_id]": finding_slug(finding.code),
        "[FindingID]": re.sub(r"[^A-Za-z0-9]", "", finding.code),
        "[description]": description(finding.title),
    }


def _headings(level: int):
    def heading(depth: int, text: str) -> list[str]:
        return [f"{'#' * (level + depth)} {text}", ""]

    return heading


def _header_fields(part: Part, entry: DocumentEntry, snapshot: ExportSnapshot) -> list[str]:
    finding = part.finding
    phase = snapshot.phase(finding.phase_id)
    priority = finding.priority or template.PRIORITY_PLACEHOLDER
    # The seed gives these phases only a band, so the priority stored at seeding is a guess.
    if finding.priority_unconfirmed and phase:
        priority = (
            f"{markdown_text(phase.priority_band)} (the phase's band until a priority is set)"
        )
    if finding.has_effort_estimate:
        effort = f"{finding.effort_min_days}-{finding.effort_max_days} days"
    else:
        effort = f"{template.EFFORT_PLACEHOLDER} (not estimated yet)"
    phase_text = "None (completed before this plan)"
    if phase:
        phase_text = f"{markdown_text(phase.code)} {markdown_text(phase.name)}"
    return _hard_breaks(
        [
            f"**Finding ID**: {finding.code}",
            f"**Priority**: {priority}",
            f"**Phase**: {phase_text}",
            *_gate_fields(snapshot.gates_before(finding.phase_id)),
            f"**Estimated Effort**: {effort}",
            f"**Dependencies**: {_dependencies(part, entry, snapshot)}",
            f"**Status**: {finding.get_status_display()}",
        ]
    )


def _phase_figures(entry: DocumentEntry, snapshot: ExportSnapshot) -> list[str]:
    """The phase's burndown and its part of the dependency graph, once per phase: at the end of
    its first document, after the template's sections, so they push no section down.

    After the last part, the import reads them as generated text.
    """
    if not snapshot.opens_its_phase(entry):
        return []
    phase, figures = entry.phase, snapshot.figures
    return [
        "---",
        "",
        f"## Phase {markdown_text(phase.code)} figures",
        "",
        "The phase's progress and dependencies, as its page in the tracker shows them.",
        "",
        *burndown_lines(
            figures.burndowns[phase.pk], name=f"Phase {markdown_text(phase.code)} burndown"
        ),
        *phase_graph_lines(figures.graph, phase, [p.phase for p in snapshot.phases]),
    ]


def _gate_fields(gates: list[PhaseEntry]) -> list[str]:
    """One line per signoff gate the phase waits behind, with where that gate stands now."""
    lines = []
    for gate in gates:
        phase = gate.phase
        state = signed_off_text(gate.signoff) if gate.signoff else "not signed off"
        lines.append(
            f"**Gate**: Phase {markdown_text(phase.code)} {markdown_text(phase.name)} signoff "
            f"(mandatory) — {state}"
        )
    return lines


def _dependencies(part: Part, entry: DocumentEntry, snapshot: ExportSnapshot) -> str:
    """Each dependency with its status, linked to its own document when it has another one."""
    if not part.dependencies:
        return "None"
    shown = []
    for dependency in part.dependencies:
        text = dependency.code
        target = snapshot.document_path(dependency.document_id)
        if target and target != entry.path:
            relative = posixpath.relpath(target, entry.phase.folder_name)
            text = f"[{dependency.code}]({link_target(relative)})"
        shown.append(f"{text} ({Status(dependency.status).label.lower()})")
    return ", ".join(shown)


def _migration(part: Part, values: dict[str, str]) -> list[str]:
    header = f"-- File: {migration_path(part)}"
    written = _code(part.finding.migration_sql)
    # The seed's pattern is one operation of the migration, so the template's frame stays around
    # it; any other text is the author's whole migration.
    if written and written != POSTGRESQL_PATTERNS.get(part.finding.code):
        return fenced("sql", _join(header, written))
    operation = written or template.fill(template.MIGRATION_EXAMPLE, values)
    return fenced(
        "sql", _join(template.FOUNDATION_NOTE, header, template.migration_framed(operation))
    )


def _database_tests(part: Part, values: dict[str, str], h) -> list[str]:
    lines = [*h(2, template.ENVIRONMENT_HEADING), *fenced("bash", template.ENVIRONMENT_SETUP), ""]
    written = _code(part.finding.database_tests)
    if written:
        return [*lines, *h(2, template.SUITE_HEADING), *fenced("go", written), ""]
    return [
        *lines,
        *h(2, template.SUITE_HEADING),
        *fenced("go", template.fill(template.TEST_SUITE_SKELETON, values)),
        "",
        *h(2, template.PATTERN_HEADING),
        *fenced("go", template.fill(template.CONCURRENT_WORKER_PATTERN, values)),
        "",
    ]


def _checklist(items: list[Item], h) -> list[str]:
    lines = []
    for section, label in ChecklistSection.choices:
        lines += h(3, label)
        lines += [_item_line(item) for item in items if item.section == section] or [
            "_No items in this group._"
        ]
        lines.append("")
    return lines


def _item_line(item: Item) -> str:
    # The item's own markdown (the seed's items quote commands in backticks) stays markdown.
    text = one_line(item.text)
    evidence = _evidence(item)
    if not item.checked:
        return f"- [ ] {text} — unticked with evidence{evidence}" if evidence else f"- [ ] {text}"
    when = item.checked_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    by = markdown_text(item.checked_by) if item.checked_by else "a removed user"
    return f"- [x] {text} — ticked by {by} on {when}{evidence}"


# A URL's own characters, kept as they are in a link's target; anything else (a parenthesis or
# an angle bracket, which would end the target) is percent-encoded.
URL_KEPT = ":/?#[]@!$&'*+,;=%~"


def _evidence(item: Item) -> str:
    """What a pipeline reported with the item's last tick or untick, as the finding page shows
    it: ` · run · commit …`, the run a link only when its URL is http(s), or "" when nothing.
    """
    parts = []
    if item.evidence_url.startswith(("https://", "http://")):
        run = markdown_text(item.evidence_summary or "run")
        parts.append(f"[{run}]({quote(item.evidence_url, safe=URL_KEPT)})")
    elif item.evidence_url or item.evidence_summary:
        parts.append(markdown_text(item.evidence_summary or item.evidence_url))
    if item.evidence_commit:
        parts.append(f"commit {markdown_text(item.evidence_commit)}")
    return "".join(f" · {part}" for part in parts)


def _hard_breaks(lines: list[str]) -> list[str]:
    """One field per line when rendered: the seed's own header ends its lines in two spaces."""
    return [*(f"{line}  " for line in lines[:-1]), lines[-1], ""]


def _field(marker: str, label: str, text: str, placeholder: str) -> str:
    """A `- **Label**: text` list entry; later lines of the text indent to stay inside it."""
    body = _prose(text) or placeholder
    first, *rest = body.split("\n")
    continued = [f"    {line}" if line.strip() else "" for line in rest]
    return "\n".join([f"{marker} **{label}**: {first}", *continued])


def _prose(text: str) -> str:
    return (text or "").replace("\r\n", "\n").strip()


def _code(text: str) -> str:
    return (text or "").replace("\r\n", "\n").strip("\n").rstrip()


def _join(*blocks: str) -> str:
    return "\n".join(block for block in blocks if block)
