from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from findings.export.reports import plan_qa
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
            help="write nothing; print the QA problems of each document by finding and field",
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
        qa = plan_qa(snapshot)
        path = None
        for group in qa.groups:
            if group.path != path:
                path = group.path
                self.stdout.write(path)
            self.stdout.write(f"  {group}")
        if not qa.passed:
            raise CommandError(qa.headline, returncode=1)
        self.stdout.write(qa.headline)
