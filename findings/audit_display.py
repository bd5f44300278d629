"""How the audit log reads to people: each action's name, and what an event changed, field by field.

The services record actions as codes (`checklist_item.dependencies_changed`) and the changed
fields as before/after JSON; the log page and a finding's history both show them through here.
"""

from dataclasses import dataclass

from findings.models import AuditEvent, Status

# Every action the services record. An action missing here shows as its code, so a new one
# is still readable; tests/views/test_audit_list.py checks that the services write none.
ACTION_NAMES = {
    "api_token.created": "API token created",
    "api_token.revoked": "API token revoked",
    "auth.locked_out": "login locked out",
    "checklist_item.created": "checklist item added",
    "checklist_item.edited": "checklist item edited",
    "checklist_item.moved": "checklist item moved to another finding",
    "checklist_item.deleted": "checklist item deleted",
    "checklist_item.ticked": "ticked",
    "checklist_item.unticked": "unticked",
    "checklist_item.dependencies_changed": "dependency item rewritten, its tick cleared",
    "dependency.added": "dependency added",
    "dependency.removed": "dependency removed",
    "document.created": "document created",
    "finding.created": "finding created",
    "finding.updated": "finding edited",
    "finding.deleted": "finding deleted",
    "finding.status_changed": "status changed",
    "finding.content_changed": "content edited",
    "finding.content_imported": "content imported",
    "phase.created": "phase created",
    "phase.updated": "phase edited",
    "phase.deleted": "phase deleted",
    "phase.gate_added": "signoff gate added",
    "phase.gate_removed": "signoff gate removed",
    "phase.signed_off": "signed off",
    "phase.signoff_refused": "signoff refused",
    "phase.signoff_requested": "signoff requested",
    "phase.signoff_revoked": "signoff revoked",
    "phase.signoff_auto_revoked": "signoff revoked automatically",
    "tacticaldocument.created": "document created",
    "tacticaldocument.updated": "document edited",
    "tacticaldocument.deleted": "document deleted",
    "user.created": "account created",
    "user.renamed": "account renamed",
    "user.password_changed": "password changed",
    "user.deactivated": "account deactivated",
    "user.reactivated": "account reactivated",
    "user.deleted": "account deleted",
    "user.staff_changed": "staff access changed",
    "user.superuser_changed": "superuser access changed",
    "user.groups_changed": "roles changed",
    "user.permissions_changed": "permissions changed",
}

# Counters every write bumps: a change of them says nothing a reader can use.
BOOKKEEPING_FIELDS = frozenset({"version"})
# What a pipeline reported with a tick or an untick: shown as its evidence, not field by field.
EVIDENCE_FIELDS = frozenset({"evidence_url", "evidence_commit", "evidence_summary"})
MISSING = "—"


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class ReportedEvidence:
    """The evidence an event recorded, as the finding page shows an item's."""

    url: str
    commit: str
    summary: str

    @property
    def link(self) -> str:
        """The run's URL when it is http(s), the only schemes shown as a link; otherwise ""."""
        return self.url if self.url.startswith(("https://", "http://")) else ""

    @property
    def run(self) -> str:
        return self.summary or ("run" if self.link else self.url)


def event_evidence(event: AuditEvent) -> ReportedEvidence | None:
    """The evidence a tick or untick stored with the item (its `after`), or None if none."""
    after = event.after if isinstance(event.after, dict) else {}
    parts = {name: after.get(f"evidence_{name}") for name in ("url", "commit", "summary")}
    if not any(isinstance(value, str) and value for value in parts.values()):
        return None
    return ReportedEvidence(
        **{name: value if isinstance(value, str) else "" for name, value in parts.items()}
    )


def action_name(action: str) -> str:
    return ACTION_NAMES.get(action, action)


def event_summary(event: AuditEvent) -> str:
    """The action as a phrase: its name, or for a status move where the finding went."""
    if event.action == "finding.status_changed":
        before, after = _status(event.before), _status(event.after)
        if before and after:
            return f"moved from {before} to {after}"
    return action_name(event.action)


def field_changes(event: AuditEvent) -> list[FieldChange]:
    """Each field the event changed, with its value before and after, in the order recorded.

    A status move names its statuses in its summary, so only its other fields are listed; a
    tick's evidence is shown as evidence (event_evidence), so it is not listed either.
    """
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    said = {"status"} if event.action == "finding.status_changed" else set()
    changes = []
    for name in [*before, *(name for name in after if name not in before)]:
        if name in BOOKKEEPING_FIELDS or name in EVIDENCE_FIELDS or name in said:
            continue
        old, new = before.get(name), after.get(name)
        if name in before and name in after and old == new:
            continue
        changes.append(
            FieldChange(
                field=name.replace("_", " "),
                before=_shown(name, old) if name in before else MISSING,
                after=_shown(name, new) if name in after else MISSING,
            )
        )
    return changes


def _status(values) -> str:
    value = values.get("status") if isinstance(values, dict) else None
    return Status(value).label.lower() if value in Status.values else ""


def _shown(name: str, value) -> str:
    if value is None or value == "" or value == []:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "status" and value in Status.values:
        return Status(value).label.lower()
    if isinstance(value, list):
        return ", ".join(str(part) for part in value)
    return str(value)
