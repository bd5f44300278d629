from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from findings.export.qa import CHECKS
from findings.export.reports import tree_reports
from findings.export.snapshot import snapshot_load
from findings.export.tree import ExportRefused, tree_write


class Command(BaseCommand):
    help = (
        "Write the tactical plans tree (README.md and the phase folders of documents) from the "
        "database, or with --check run document QA and fail when any check fails."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--out",
            type=Path,
            default=Path("docs/tactical_plans"),
            help="the folder to write (default: docs/tactical_plans)",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="write into a non-empty folder that an earlier export did not make",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="write nothing; print each QA failure as document:section:line: message",
        )

    def handle(self, *args, out: Path, force: bool, check: bool, **options):
        snapshot = snapshot_load()
        if check:
            self._check(snapshot)
            return
        try:
            report = tree_write(snapshot=snapshot, out=out, force=force)
        except ExportRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        self.stdout.write(f"Exported the tactical plans to {out}: {report}.")

    def _check(self, snapshot) -> None:
        reports = tree_reports(snapshot)
        problems = [problem for report in reports for problem in report.problems]
        for problem in problems:
            self.stdout.write(str(problem))
        if not problems:
            self.stdout.write(f"QA passed: all {len(reports)} files pass every check.")
            return
        failing = sum(not report.passed for report in reports)
        by_check = Counter(problem.check for problem in problems)
        summary = ", ".join(
            f"{CHECKS[name]}: {by_check[name]}" for name in CHECKS if name in by_check
        )
        message = f"QA failed: {len(problems)} failures in {failing} of {len(reports)} files"
        raise CommandError(f"{message} ({summary}).", returncode=1)
