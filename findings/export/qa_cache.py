"""The plan's QA as /documents/ shows it, computed once per state of the plan.

Computing it renders every document and parses every block: 25 s at 10,000 findings. The result
is kept in Django's cache under `plan_state()`: a few aggregate reads that change whenever
anything a document shows changes. A finding's `version` counts each of its changes and its
`content_version` each change of a written section; a checklist item's `version` each tick;
dependencies, signoffs (the gate state), phases and documents are read whole or counted. Rows are
never renumbered (primary keys only grow), so counts with the highest key tell additions and
deletions apart.
"""

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Max, Sum

from findings.export.qa import WRITTEN_FIELDS, field_label
from findings.export.reports import FileReport, ProblemGroup, plan_qa
from findings.export.sandbox import CHECK_VERSION, sandbox_enabled
from findings.export.snapshot import snapshot_load
from findings.models import ChecklistItem, Dependency, Finding, Phase, Signoff, TacticalDocument

# How many failing sections each document's row names; its own page lists them all.
FAILURES_LISTED = 5
# Raise it when the summary's shape or QA's checks change, so no process reads an old one.
SUMMARY_VERSION = 1


@dataclass(frozen=True)
class SectionQA:
    """One written field of one finding: written or not, passing QA or not, and why not."""

    finding: str
    field: str
    label: str
    written: bool
    messages: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.messages


@dataclass(frozen=True)
class DocumentQA:
    """One exported file's row of /documents/."""

    path: str
    file_name: str
    title: str
    sequence: int | None
    phase_code: str
    phase_label: str
    codes: tuple[str, ...]
    status_summary: str
    items_ticked: int
    items_total: int
    problem_count: int
    failed_checks: tuple[tuple[str, str, int], ...]
    sections_total: int
    sections_written: int
    sections_failing: int
    # The first FAILURES_LISTED failing sections, and the problems no field is to blame for.
    failures: tuple[SectionQA, ...]
    other_problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problem_count


@dataclass(frozen=True)
class PlanSummary:
    documents: tuple[DocumentQA, ...]
    headline: str
    passed: bool
    sandbox_off_reason: str

    @property
    def files_passing(self) -> int:
        return sum(document.passed for document in self.documents)

    @property
    def failures(self) -> int:
        return sum(document.problem_count for document in self.documents)


def plan_state() -> str:
    """A digest that changes with anything the exported documents show. Six queries."""
    state = [
        SUMMARY_VERSION,
        CHECK_VERSION,
        sandbox_enabled(),
        Finding.objects.aggregate(
            count=Count("pk"),
            last=Max("pk"),
            versions=Sum("version"),
            content=Sum("content_version"),
            changed=Max("updated_at"),
        ),
        ChecklistItem.objects.aggregate(
            count=Count("pk"), last=Max("pk"), versions=Sum("version"), ticked=Max("checked_at")
        ),
        Dependency.objects.aggregate(
            count=Count("pk"), last=Max("pk"), targets=Sum("depends_on_id")
        ),
        list(Signoff.objects.order_by("pk").values_list("pk", "phase_id", "revoked_at")),
        list(Phase.objects.order_by("pk").values_list()),
        list(TacticalDocument.objects.order_by("pk").values_list()),
    ]
    return hashlib.sha256(repr(state).encode()).hexdigest()


def plan_summary() -> PlanSummary:
    """/documents/'s QA, from the cache while the plan is as it was when it was computed."""
    key = f"qa-plan:{plan_state()}"
    summary = cache.get(key)
    if summary is None:
        summary = _summary()
        cache.set(key, summary, timeout=None)
    return summary


def section_qa(report: FileReport, groups: list[ProblemGroup]) -> list[SectionQA]:
    """Every written field of each finding of the file, in document order."""
    by_key = {(group.finding, group.field): group for group in groups}
    sections = []
    for part in report.entry.parts if report.entry else []:
        code = part.finding.code
        for field in WRITTEN_FIELDS:
            group = by_key.get((code, field))
            messages = tuple(group.messages) if group else ()
            written = not group or "written" not in group.checks
            sections.append(SectionQA(code, field, field_label(field), written, messages))
    return sections


def _summary() -> PlanSummary:
    qa = plan_qa(snapshot_load())
    by_path: dict[str, list[ProblemGroup]] = {}
    for group in qa.groups:
        by_path.setdefault(group.path, []).append(group)
    documents = tuple(_document(report, by_path.get(report.path, [])) for report in qa.files)
    return PlanSummary(documents, qa.headline, qa.passed, qa.sandbox.off_reason)


def _document(report: FileReport, groups: list[ProblemGroup]) -> DocumentQA:
    entry = report.entry
    sections = section_qa(report, groups)
    failing = [section for section in sections if not section.passed]
    return DocumentQA(
        path=report.path,
        file_name=entry.document.file_name if entry else report.path,
        title=entry.document.title if entry else "Index and navigation",
        sequence=entry.document.sequence if entry else None,
        phase_code=entry.phase.code if entry else "",
        phase_label=f"{entry.phase.code} {entry.phase.name}" if entry else "",
        codes=tuple(entry.codes) if entry else (),
        status_summary=entry.status_summary if entry else "",
        items_ticked=entry.items_ticked if entry else 0,
        items_total=entry.items_total if entry else 0,
        problem_count=len(report.problems),
        failed_checks=tuple(report.failed_checks),
        sections_total=len(sections),
        sections_written=sum(section.written for section in sections),
        sections_failing=len(failing),
        failures=tuple(failing[:FAILURES_LISTED]),
        other_problems=tuple(str(group) for group in groups if group.field not in WRITTEN_FIELDS),
    )
