"""Writing a finding's tactical document sections, one section at a time, from any client.

A section is saved against the content version its editor was opened on, so two authors never
overwrite each other unseen. Content may be written while the phase is locked: documents are
written before their phase starts. A save goes through the phase-change protocol, so it is
audited and a signoff whose approved content it changes falls.
"""

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from findings import seed
from findings.models import Finding
from findings.services.audit import (
    ActionContext,
    audit_record,
    change_author,
    last_change_of,
    permission_used,
)
from findings.services.errors import StaleVersion
from findings.services.protocol import phase_change

EDIT_CONTENT = "findings.edit_content"


@dataclass(frozen=True)
class ContentField:
    """One section an author writes: its name in URLs and QA, how it is typed and shown."""

    name: str
    label: str
    # "line" (one line of text), "prose" (markdown) or "code" (highlighted as `language`).
    kind: str
    language: str = ""
    # The model fields the section is stored in.
    model_fields: tuple[str, ...] = ()

    @property
    def stored_in(self) -> tuple[str, ...]:
        return self.model_fields or (self.name,)


CONTENT_FIELDS = {
    spec.name: spec
    for spec in (
        ContentField("title", "Title", "line"),
        ContentField(
            "effort",
            "Estimated effort",
            "line",
            model_fields=("effort_min_days", "effort_max_days"),
        ),
        ContentField("owner", "Owner", "line"),
        ContentField("problem_statement", "Problem statement", "prose"),
        ContentField("root_cause", "Root cause", "prose"),
        ContentField("impact", "Security/performance impact", "prose"),
        ContentField("integration_points", "Integration points", "prose"),
        ContentField("migration_sql", "PostgreSQL migration", "code", "sql"),
        ContentField("go_implementation", "Go implementation", "code", "go"),
        ContentField("database_tests", "Real-database tests", "code", "go"),
        ContentField("rollback_sql", "Rollback SQL", "code", "sql"),
        ContentField("success_functional", "Functional", "prose"),
        ContentField("success_performance", "Performance", "prose"),
        ContentField("success_security", "Security", "prose"),
        ContentField("success_integration", "Integration", "prose"),
    )
}
# Every model field that holds written content: a change of any of them is a new content version.
CONTENT_MODEL_FIELDS = [name for spec in CONTENT_FIELDS.values() for name in spec.stored_in]

EFFORT_FORMAT = "Write the effort as a range of whole days, like 2-4, or leave it empty."
EFFORT_PATTERN = re.compile(r"\A\s*([0-9]+)\s*[-–]\s*([0-9]+)\s*(?:days?)?\s*\Z")


def seed_gives_title(code: str) -> bool:
    """Whether the seed names this finding's title: its document holds it alone."""
    return any(
        code in fact.finding_codes and len(fact.finding_codes) == 1 for fact in seed.DOCUMENTS
    )


def finding_content_fields(finding: Finding) -> list[ContentField]:
    """The sections `finding` fills in its tactical document, in the document's order.

    A finding without a document fills none, and the title only where the seed gives none.
    """
    if finding.document_id is None:
        return []
    skipped = {"title"} if seed_gives_title(finding.code) else set()
    return [spec for name, spec in CONTENT_FIELDS.items() if name not in skipped]


def content_field_for(finding: Finding, field: str) -> ContentField:
    """The section `field` of `finding`, or a ValidationError naming what it may write."""
    fields = finding_content_fields(finding)
    for spec in fields:
        if spec.name == field:
            return spec
    if not fields:
        message = f"{finding.code} has no tactical document, so it has no sections to write."
    else:
        names = ", ".join(spec.name for spec in fields)
        message = f"{finding.code} has no section “{field}” to write; it has {names}."
    raise ValidationError({"field": message})


def content_text(finding: Finding, field: str) -> str:
    """A section's current content as the editor shows it."""
    if field == "effort":
        if not finding.has_effort_estimate:
            return ""
        return f"{finding.effort_min_days}-{finding.effort_max_days}"
    if field == "owner":
        return finding.owner.get_username() if finding.owner_id else ""
    return getattr(finding, field)


def _content_apply(finding: Finding, field: str, text: str) -> None:
    """Set the section's model fields from what the author typed; ValidationError if unreadable."""
    if field == "effort":
        match = EFFORT_PATTERN.match(text)
        if text.strip() and match is None:
            raise ValidationError({"effort": EFFORT_FORMAT})
        low, high = (int(match[1]), int(match[2])) if match else (None, None)
        finding.effort_min_days, finding.effort_max_days = low, high
    elif field == "owner":
        username = text.strip()
        owner = None
        if username:
            owner = get_user_model().objects.filter(username=username, is_active=True).first()
            if owner is None:
                raise ValidationError({"owner": f"No active user is called “{username}”."})
        finding.owner = owner
    else:
        setattr(finding, field, text.replace("\r\n", "\n"))


def _stale_message(finding: Finding, spec: ContentField) -> str:
    last_change = last_change_of(finding)
    author = change_author(last_change) if last_change else "Someone"
    when = ""
    if last_change is not None:
        when = f" at {timezone.localtime(last_change.created_at):%Y-%m-%d %H:%M:%S %Z}"
    return (
        f"{author} changed {finding.code}'s content{when}, after your editor opened. "
        f"Nothing was saved: compare their {spec.label.lower()} with yours."
    )


def finding_content_save(
    *, code: str, field: str, text: str, expected_version: int, context: ActionContext
) -> Finding:
    """Save one section of a finding's document, if its content is still at `expected_version`.

    Allowed in a locked phase. Revokes the phase's signoff when the change falls under it (the
    protocol's revalidation). Saving the text already there changes nothing and records nothing.
    Raises PermissionDenied, Finding.DoesNotExist, ValidationError, or StaleVersion carrying the
    finding as it is now.
    """
    permission = permission_used(context, EDIT_CONTENT)
    phase_id = Finding.objects.values_list("phase_id", flat=True).get(code=code)
    with phase_change(phase_ids=[phase_id], context=context) as change:
        finding = Finding.objects.select_related("owner").get(code=code)
        change.also_changes(finding.phase_id)
        spec = content_field_for(finding, field)
        if finding.content_version != expected_version:
            raise StaleVersion(_stale_message(finding, spec), current=finding)
        before = {name: getattr(finding, _attname(name)) for name in spec.stored_in}
        _content_apply(finding, field, text)
        after = {name: getattr(finding, _attname(name)) for name in spec.stored_in}
        if before == after:
            change.skip_revalidation()
            return finding
        finding.full_clean()
        content_save(finding, spec.stored_in)
        audit_record(
            context=context,
            action="finding.content_changed",
            obj=finding,
            permission=permission,
            before={**before, "content_version": expected_version},
            after={**after, "content_version": finding.content_version},
            finding=finding,
        )
    return finding


def content_save(finding: Finding, fields) -> None:
    """Save `fields` of the finding's written sections and count the change in content_version.

    The count is advanced in the database, so two saves racing past the version check still
    give two versions; the finding then holds the version its save made.
    """
    finding.content_version = F("content_version") + 1
    finding.save(update_fields=[*fields, "content_version", "updated_at"])
    finding.refresh_from_db(fields=["content_version", "updated_at"])


def _attname(name: str) -> str:
    return Finding._meta.get_field(name).attname
