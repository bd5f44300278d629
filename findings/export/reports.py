"""Each exported file with its QA results, for the command's --check and the document pages."""

import hashlib
from collections import Counter
from dataclasses import dataclass

from django.core.cache import cache

from findings.export.documents import document_markdown
from findings.export.index import readme_markdown
from findings.export.qa import (
    CHECKS,
    SECTION_FIELDS,
    WRITTEN_FIELDS,
    FieldProblem,
    Problem,
    field_label,
    file_problems,
    finding_problems,
    tree_index,
)
from findings.export.sandbox import SandboxUnavailable, sandbox_enabled, sandbox_problems
from findings.export.snapshot import DocumentEntry, ExportSnapshot
from findings.export.tree import README


@dataclass
class FileReport:
    path: str
    text: str
    problems: list[Problem]
    # The document the file renders; None for README.md.
    entry: DocumentEntry | None = None

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def failed_checks(self) -> list[tuple[str, str, int]]:
        """(check, its label, failures) for each check that failed, most failures first."""
        counts = Counter(problem.check for problem in self.problems)
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return [(check, CHECKS[check], count) for check, count in ordered]

    @property
    def check_results(self) -> list[tuple[str, int]]:
        """(label, failures) of every check, in a fixed order; 0 failures is a pass."""
        counts = Counter(problem.check for problem in self.problems)
        return [(label, counts[check]) for check, label in CHECKS.items()]


def tree_reports(snapshot: ExportSnapshot) -> list[FileReport]:
    """README.md, then every document in sequence, each rendered and checked."""
    return [readme_report(snapshot), *(document_report(snapshot, e) for e in snapshot.documents)]


def readme_report(snapshot: ExportSnapshot) -> FileReport:
    text = readme_markdown(snapshot)
    problems = _file_problems(README, text, _tree(snapshot), is_document=False)
    return FileReport(README, text, problems)


def document_report(snapshot: ExportSnapshot, entry: DocumentEntry) -> FileReport:
    text = document_markdown(entry, snapshot)
    problems = _file_problems(entry.path, text, _tree(snapshot), is_document=True)
    return FileReport(entry.path, text, problems, entry)


# Parsing a file's blocks is nearly all of QA's time, and a file whose text is unchanged has the
# same problems: kept by the text's hash, a change re-checks only the files it changed.
def _file_problems(path: str, text: str, tree: frozenset[str], *, is_document: bool):
    key_text = "\0".join([path, str(is_document), *sorted(tree), text])
    key = f"qa-file:{hashlib.sha256(key_text.encode()).hexdigest()}"
    problems = cache.get(key)
    if problems is None:
        problems = file_problems(path, text, tree, is_document=is_document)
        cache.set(key, problems)
    return problems


def _tree(snapshot: ExportSnapshot) -> frozenset[str]:
    return tree_index([README, *(entry.path for entry in snapshot.documents)])


# File checks that restate a field's own failure when they land in the section showing that
# field: an unwritten field leaves the template's skeleton there, placeholders and all, and a
# written one is parsed both in the file and on its own.
RESTATED_CHECKS = {"placeholder", "section", "sql", "go"}
# The field a section's code block shows; sections 1 and 6 show several, told apart by heading.
_BLOCK_FIELDS = {(2, "sql"): "migration_sql", (3, "go"): "go_implementation",
                 (4, "go"): "database_tests", (6, "sql"): "rollback_sql"}  # fmt: skip


@dataclass
class ProblemGroup:
    """What QA found in one field of one finding, or in one section of a file outside them."""

    path: str
    # The finding's code, "" for the parts of a file that belong to no finding.
    finding: str
    # A WRITTEN_FIELDS name, or the template section's label for what no field is to blame for.
    field: str
    messages: list[str]
    checks: set[str]

    @property
    def label(self) -> str:
        return field_label(self.field) if self.field in WRITTEN_FIELDS else self.field

    def __str__(self) -> str:
        subject = f"{self.finding} {self.label}" if self.finding else self.label
        return f"{subject}: {'; '.join(self.messages)}"


@dataclass
class SandboxRun:
    """Whether the migration sandbox judges this QA run, and if not, why not."""

    off_reason: str = ""

    @classmethod
    def start(cls) -> "SandboxRun":
        if sandbox_enabled():
            return cls()
        return cls("QA_SANDBOX_DATABASE_URL is not set, so migrations are parsed but not applied")

    def problems(self, finding, own: list[FieldProblem]) -> list[FieldProblem]:
        """The sandbox's verdict on a migration that parses, with its rollback if that parses.

        An unreachable sandbox turns the check off for the rest of the run, once, not per finding.
        """
        failing = {problem.field for problem in own}
        if self.off_reason or "migration_sql" in failing:
            return []
        rollback = "" if "rollback_sql" in failing else finding.rollback_sql
        try:
            found = sandbox_problems(migration=finding.migration_sql, rollback=rollback)
        except SandboxUnavailable as error:
            self.off_reason = str(error)
            return []
        return [FieldProblem(finding.code, p.field, p.line, p.check, p.message) for p in found]


@dataclass
class PlanQA:
    """Every file's checks and every written field's, one problem per finding and field."""

    files: list[FileReport]
    groups: list[ProblemGroup]
    sandbox: SandboxRun

    @property
    def passed(self) -> bool:
        return not self.groups

    @property
    def headline(self) -> str:
        """One line: the problems counted once per finding and field, however many lines each."""
        findings = sum(len(report.entry.parts) for report in self.files if report.entry)
        if self.passed:
            return (
                f"QA passed: all {len(self.files)} files and the written fields of {findings} "
                f"finding{_s(findings)} pass every check."
            )
        by_check = Counter(check for group in self.groups for check in group.checks)
        summary = ", ".join(f"{label}: {by_check[name]}" for name, label in CHECKS.items()
                            if name in by_check)  # fmt: skip
        failing = len({group.finding for group in self.groups if group.finding})
        outside = len({group.path for group in self.groups if not group.finding})
        count = len(self.groups)
        elsewhere = f", and {outside} file{_s(outside)} outside them" if outside else ""
        return (
            f"QA failed: {count} problem{_s(count)} by finding and field ({summary}) in "
            f"{failing} of {findings} finding{_s(findings)}{elsewhere}."
        )


def plan_qa(snapshot: ExportSnapshot) -> PlanQA:
    """The whole plan's QA: the rendered files, and each finding's written fields."""
    files = tree_reports(snapshot)
    sandbox = SandboxRun.start()
    groups = [group for report in files for group in report_groups(report, sandbox)]
    return PlanQA(files, groups, sandbox)


def report_groups(report: FileReport, sandbox: SandboxRun) -> list[ProblemGroup]:
    """One file's problems by finding and field, the sandbox's verdicts included."""
    parts = report.entry.parts if report.entry else []
    own = []
    for part in parts:
        found = finding_problems(part.finding)
        own += found + sandbox.problems(part.finding, found)
    failing_sections = {
        (problem.finding, number)
        for problem in own
        for number, fields in SECTION_FIELDS.items()
        if problem.field in fields
    }
    groups: dict[tuple[str, str], ProblemGroup] = {}

    def add(finding: str, field_or_section: str, check: str, message: str) -> None:
        key = (finding, field_or_section)
        group = groups.setdefault(
            key, ProblemGroup(report.path, finding, field_or_section, [], set())
        )
        group.messages.append(message)
        group.checks.add(check)

    for problem in own:
        add(problem.finding, problem.field, problem.check, _field_message(problem))
    for problem in report.problems:
        number = problem.section_number
        if problem.check in RESTATED_CHECKS and (problem.finding, number) in failing_sections:
            continue
        place = _BLOCK_FIELDS.get((number, problem.check)) or problem.section.removeprefix(
            f"{problem.finding} " if problem.finding else ""
        )
        add(problem.finding, place, problem.check, f"document line {problem.line}: "
            f"{problem.message}")  # fmt: skip
    order = {code: index for index, code in enumerate(part.finding.code for part in parts)}
    return sorted(
        groups.values(),
        key=lambda group: (
            order.get(group.finding, -1),
            WRITTEN_FIELDS.index(group.field)
            if group.field in WRITTEN_FIELDS
            else len(WRITTEN_FIELDS),
        ),
    )


def _field_message(problem: FieldProblem) -> str:
    return f"line {problem.line}: {problem.message}" if problem.line else problem.message


def _s(count: int) -> str:
    return "" if count == 1 else "s"
