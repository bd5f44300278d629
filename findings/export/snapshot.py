"""Everything the export reads from the database, loaded at once in a fixed number of queries.

Rendering then works on this snapshot alone, so the command, the pages and the streamed zip all see
one consistent state, and streaming a zip touches the database only before its first byte.
"""

from dataclasses import dataclass, field
from datetime import datetime

from findings.export.figures import ExportFigures, figures_load
from findings.gates import lock_reasons, phases_with_signoff
from findings.models import (
    ChecklistItem,
    Dependency,
    Finding,
    Phase,
    Signoff,
    Status,
    TacticalDocument,
)


@dataclass(frozen=True)
class Item:
    """One checklist item as the document shows it."""

    section: str
    text: str
    checked: bool
    checked_at: datetime | None
    checked_by: str | None
    # What a pipeline reported with the last tick or untick (the API's evidence).
    evidence_url: str = ""
    evidence_commit: str = ""
    evidence_summary: str = ""


@dataclass(frozen=True)
class DependencyRef:
    code: str
    status: str
    document_id: int | None


@dataclass
class Part:
    """One finding's part of a document; a document usually has exactly one."""

    finding: Finding
    # Its place in the whole plan, which numbers its migration: unique and in plan order.
    number: int
    dependencies: list[DependencyRef] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    @property
    def items_ticked(self) -> int:
        return sum(item.checked for item in self.items)


@dataclass
class DocumentEntry:
    document: TacticalDocument
    phase: Phase
    parts: list[Part] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"{self.phase.folder_name}/{self.document.file_name}"

    @property
    def codes(self) -> list[str]:
        return [part.finding.code for part in self.parts]

    @property
    def items_ticked(self) -> int:
        return sum(part.items_ticked for part in self.parts)

    @property
    def status_summary(self) -> str:
        return status_summary([part.finding.status for part in self.parts])

    @property
    def items_total(self) -> int:
        return sum(len(part.items) for part in self.parts)


@dataclass
class PhaseEntry:
    phase: Phase
    lock_reason: str
    signoff: Signoff | None
    documents: list[DocumentEntry] = field(default_factory=list)
    # The phases before this one that end in a signoff gate, earliest first, signed off or not.
    gates_before: list["PhaseEntry"] = field(default_factory=list)


@dataclass(frozen=True)
class CompletedFinding:
    code: str
    title: str


@dataclass
class ExportSnapshot:
    phases: list[PhaseEntry]
    documents: list[DocumentEntry]
    completed: list[CompletedFinding]
    figures: ExportFigures

    @property
    def completed_codes(self) -> list[str]:
        return [finding.code for finding in self.completed]

    def document_path(self, document_id: int | None) -> str | None:
        entry = self._by_id.get(document_id)
        return entry.path if entry else None

    def phase(self, phase_id: int | None) -> Phase | None:
        entry = self._phases.get(phase_id)
        return entry.phase if entry else None

    def gates_before(self, phase_id: int | None) -> list[PhaseEntry]:
        entry = self._phases.get(phase_id)
        return entry.gates_before if entry else []

    def opens_its_phase(self, entry: DocumentEntry) -> bool:
        """Whether `entry` is its phase's first document, which carries the phase's figures."""
        return self._phases[entry.phase.pk].documents[0] is entry

    def __post_init__(self):
        self._by_id = {entry.document.pk: entry for entry in self.documents}
        self._phases = {entry.phase.pk: entry for entry in self.phases}


def snapshot_load() -> ExportSnapshot:
    """The whole plan as the export shows it. Thirteen queries, however many findings exist."""
    phases = phases_with_signoff()
    locks = lock_reasons(phases)
    signoffs = {
        signoff.phase_id: signoff
        for signoff in Signoff.objects.active().select_related("signed_by").order_by("phase_id")
    }
    phase_entries = {
        phase.pk: PhaseEntry(phase, locks.get(phase.pk, ""), signoffs.get(phase.pk))
        for phase in phases
    }
    gates = []
    for entry in phase_entries.values():
        entry.gates_before = list(gates)
        if entry.phase.requires_signoff:
            gates.append(entry)

    documents = {}
    for document in TacticalDocument.objects.order_by("sequence"):
        entry = DocumentEntry(document, phase_entries[document.phase_id].phase)
        documents[document.pk] = entry
        phase_entries[document.phase_id].documents.append(entry)

    parts = {}
    findings = Finding.objects.filter(document__isnull=False).order_by("document__sequence", "code")
    for number, finding in enumerate(findings.defer("created_at", "updated_at"), start=1):
        parts[finding.pk] = Part(finding, number)
        documents[finding.document_id].parts.append(parts[finding.pk])

    links = (
        Dependency.objects.filter(finding__document__isnull=False)
        .order_by("finding_id", "depends_on__code")
        .values_list("finding_id", "depends_on__code", "depends_on__status", "depends_on__document")
    )
    for finding_id, code, status, document_id in links:
        parts[finding_id].dependencies.append(DependencyRef(code, status, document_id))

    items = (
        ChecklistItem.objects.filter(finding__document__isnull=False)
        .order_by("finding_id", "position")
        .values_list(
            "finding_id",
            "section",
            "text",
            "checked",
            "checked_at",
            "checked_by__username",
            "evidence_url",
            "evidence_commit",
            "evidence_summary",
        )
    )
    for finding_id, *item in items:
        parts[finding_id].items.append(Item(*item))

    completed = Finding.objects.filter(status=Status.COMPLETED).order_by("code")
    return ExportSnapshot(
        phases=list(phase_entries.values()),
        documents=list(documents.values()),
        completed=[CompletedFinding(*row) for row in completed.values_list("code", "title")],
        figures=figures_load(),
    )


def status_summary(statuses: list[str]) -> str:
    """`Planned`, or for a grouped document the count of each status, in lifecycle order."""
    if not statuses:
        return "No findings"
    if len(set(statuses)) == 1:
        return Status(statuses[0]).label
    counts = [(statuses.count(value), label) for value, label in Status.choices]
    return ", ".join(f"{count} {label.lower()}" for count, label in counts if count)
