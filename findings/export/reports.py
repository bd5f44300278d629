"""Each exported file with its QA results, for the command's --check and the document pages."""

from collections import Counter
from dataclasses import dataclass

from findings.export.documents import document_markdown
from findings.export.index import readme_markdown
from findings.export.qa import CHECKS, Problem, file_problems, tree_index
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
    problems = file_problems(README, text, _tree(snapshot), is_document=False)
    return FileReport(README, text, problems)


def document_report(snapshot: ExportSnapshot, entry: DocumentEntry) -> FileReport:
    text = document_markdown(entry, snapshot)
    problems = file_problems(entry.path, text, _tree(snapshot), is_document=True)
    return FileReport(entry.path, text, problems, entry)


def _tree(snapshot: ExportSnapshot) -> frozenset[str]:
    return tree_index([README, *(entry.path for entry in snapshot.documents)])
