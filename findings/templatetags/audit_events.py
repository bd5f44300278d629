"""Audit events as people read them: ``{% load audit_events %}``."""

from django import template

from findings.audit_display import (
    FieldChange,
    ReportedEvidence,
    event_evidence,
    event_summary,
    field_changes,
)
from findings.models import AuditEvent

register = template.Library()


@register.filter
def summary(event: AuditEvent) -> str:
    """``{{ event|summary }}``: "ticked", "moved from in review to done", ..."""
    return event_summary(event)


@register.filter
def changes(event: AuditEvent) -> list[FieldChange]:
    """``{% for change in event|changes %}``: each changed field, before and after."""
    return field_changes(event)


@register.filter
def evidence(event: AuditEvent) -> ReportedEvidence | None:
    """``{% with reported=event|evidence %}``: the run and commit a tick or untick reported."""
    return event_evidence(event)
