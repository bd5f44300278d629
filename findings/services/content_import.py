"""Importing edited tactical documents into the findings they were exported from.

One import is one transaction: every document is read and planned first, and any malformed
document or conflict refuses the whole import with nothing applied. Each finding whose sections
changed is written once through the phase-change protocol, as a section save is (its content
version goes up by one, a signoff over it falls), and audited as the importing user with the
file it came from. finding_content_save saves one section against an editor's version; an
import writes several sections of a finding against the export's record in one event.
"""

from itertools import groupby

from django.core.exceptions import ValidationError

from findings.export.importing import FieldChange, ImportPlan, import_plan
from findings.export.snapshot import snapshot_load
from findings.models import Finding
from findings.services.audit import ActionContext, audit_record, permission_used
from findings.services.content import EDIT_CONTENT, content_save
from findings.services.protocol import PhaseChange, phase_change


class ImportRefused(Exception):
    """The import applied nothing: each problem names its file and line."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def content_import(
    *, files: dict[str, bytes], context: ActionContext, dry_run: bool = False
) -> ImportPlan:
    """Import `files` (paths in the exported tree to their bytes), or only plan it.

    Returns the plan applied (or that would be). Raises PermissionDenied, or ImportRefused when
    any document is malformed or in conflict.
    """
    permission = permission_used(context, EDIT_CONTENT)
    plan = _plan_or_refuse(files)
    if dry_run or not plan.changes:
        return plan
    codes = {change.code for change in plan.changes}
    phase_ids = Finding.objects.filter(code__in=codes).values_list("phase_id", flat=True)
    with phase_change(phase_ids=list(phase_ids), context=context) as change:
        # Planned again under the locks: a save since the first plan is then a conflict.
        plan = _plan_or_refuse(files)
        if not plan.changes:
            change.skip_revalidation()
        by_finding = sorted(plan.changes, key=_file_and_finding)
        for (path, code), changes in groupby(by_finding, key=_file_and_finding):
            _finding_import(
                code=code,
                path=path,
                changes=list(changes),
                change=change,
                context=context,
                permission=permission,
            )
    return plan


def _file_and_finding(change: FieldChange) -> tuple[str, str]:
    return change.path, change.code


def _plan_or_refuse(files: dict[str, bytes]) -> ImportPlan:
    plan = import_plan(files=files, snapshot=snapshot_load())
    if plan.problems:
        raise ImportRefused(plan.problems)
    return plan


def _finding_import(
    *,
    code: str,
    path: str,
    changes: list[FieldChange],
    change: PhaseChange,
    context: ActionContext,
    permission: str,
) -> None:
    finding = Finding.objects.get(code=code)
    change.also_changes(finding.phase_id)
    before = {item.field: getattr(finding, item.field) for item in changes}
    after = {item.field: item.after for item in changes}
    for name, text in after.items():
        setattr(finding, name, text)
    try:
        finding.full_clean()
    except ValidationError as error:
        raise ImportRefused([f"{path}: {code}: {'; '.join(error.messages)}"]) from error
    version = finding.content_version
    content_save(finding, after)
    audit_record(
        context=context,
        action="finding.content_imported",
        obj=finding,
        permission=permission,
        before={**before, "content_version": version},
        after={**after, "content_version": finding.content_version, "file": path},
        finding=finding,
    )
