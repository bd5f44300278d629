from dataclasses import replace
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from findings.export.importing import TreeUnreadable, path_files
from findings.services.audit import ActionContext
from findings.services.content_import import ImportRefused, content_import

SOURCE = "import_tactical_docs"


class Command(BaseCommand):
    help = (
        "Read edited tactical documents (a folder or zip as export_tactical_docs writes them) "
        "back into their findings' sections, in one transaction."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="the exported folder, or a zip of it")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="change nothing; list per document and field what the import would change",
        )
        parser.add_argument(
            "--user",
            help="import as this user, who needs findings.edit_content (default: the command)",
        )

    def handle(self, *args, path: Path, dry_run: bool, user: str | None, **options):
        try:
            files = path_files(path)
            plan = content_import(files=files, context=self._context(user), dry_run=dry_run)
        except (TreeUnreadable, PermissionDenied) as refusal:
            raise CommandError(str(refusal)) from refusal
        except ImportRefused as refusal:
            raise CommandError(
                "Nothing was imported:\n" + "\n".join(f"  {p}" for p in refusal.problems)
            ) from refusal
        for document, changes in plan.changes_by_document().items():
            if changes:
                self.stdout.write(document)
                for change in changes:
                    self.stdout.write(f"  {change}")
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            f"{len(plan.documents)} documents read, {len(plan.changes)} sections {verb}."
        )

    def _context(self, username: str | None) -> ActionContext:
        if username is None:
            return ActionContext.system(SOURCE)
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user is called {username!r}.")
        return replace(ActionContext.system(SOURCE), actor=user)
