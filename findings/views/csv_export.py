"""The findings table and the audit log as CSV: the rows their filters select, every page of them.

Each download is the filter form's reads and one query for the rows, however many rows there are.
"""

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from findings.audit_display import action_name
from findings.filters import AuditEventFilter, FindingFilter
from findings.models import AuditEvent, Finding
from findings.views.access import permission_needed
from findings.views.audit import LOG_FIELDS
from findings.views.finding_list import finding_rows

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_FETCH = 2000

FINDING_COLUMNS = [
    "Code",
    "Title",
    "Phase",
    "Priority",
    "Priority unconfirmed",
    "Status",
    "Owner",
    "Effort min days",
    "Effort max days",
    "Items ticked",
    "Items total",
    "Waits on",
]
AUDIT_COLUMNS = [
    "Time (UTC)",
    "Actor",
    "Action",
    "Action code",
    "Object",
    "Finding",
    "Permission",
    "Request id",
    "Before",
    "After",
]


def spreadsheet_safe(value) -> str | int:
    """The value as a cell no spreadsheet evaluates: text that would start a formula gets a
    leading apostrophe, which spreadsheets show as text and do not display.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


class _Lines:
    """A file-like object whose write returns the line, for csv.writer in a streamed response."""

    def write(self, line: str) -> str:
        return line


def _csv_response(file_name: str, header: list[str], rows: Iterable[list]) -> HttpResponse:
    writer = csv.writer(_Lines())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([spreadsheet_safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def findings_csv(findings: QuerySet[Finding]) -> HttpResponse:
    """The findings (rows of finding_rows()) as a download; the page and the API answer with it."""
    return _csv_response("findings.csv", FINDING_COLUMNS, _finding_rows(findings))


def audit_csv(events: QuerySet[AuditEvent]) -> HttpResponse:
    """The audit events (with their findings) as a download; the page and the API answer with it."""
    return _csv_response("audit.csv", AUDIT_COLUMNS, _audit_rows(events))


def _filter_errors(filterset) -> HttpResponse:
    problems = [
        f"{filterset.form[name].label}: {' '.join(errors)}"
        for name, errors in filterset.errors.items()
    ]
    return HttpResponse(
        "Some filters were not understood, so nothing was exported:\n" + "\n".join(problems),
        status=400,
        content_type="text/plain; charset=utf-8",
    )


@require_GET
@permission_needed("findings.view_finding")
def finding_list_csv(request: HttpRequest) -> HttpResponse:
    filterset = FindingFilter(request.GET, queryset=finding_rows(), request=request)
    if not filterset.is_valid():
        return _filter_errors(filterset)
    return findings_csv(filterset.qs)


def _finding_rows(findings: QuerySet[Finding]) -> Iterator[list]:
    for finding in findings.iterator(chunk_size=ROWS_PER_FETCH):
        yield [
            finding.code,
            finding.title,
            finding.phase.code if finding.phase else "",
            finding.get_priority_display(),
            finding.priority_unconfirmed,
            finding.get_status_display(),
            finding.owner.username if finding.owner else "",
            finding.effort_min_days,
            finding.effort_max_days,
            finding.checklist_ticked,
            finding.checklist_total,
            finding.waits_on,
        ]


@require_GET
@permission_needed("findings.view_auditevent")
def audit_list_csv(request: HttpRequest) -> HttpResponse:
    events = (
        AuditEvent.objects.select_related("finding")
        .only(*LOG_FIELDS)
        .order_by("-created_at", "-id")
    )
    filterset = AuditEventFilter(request.GET, queryset=events, request=request)
    if not filterset.is_valid():
        return _filter_errors(filterset)
    return audit_csv(filterset.qs)


def _audit_rows(events: QuerySet[AuditEvent]) -> Iterator[list]:
    for event in events.iterator(chunk_size=ROWS_PER_FETCH):
        yield [
            event.created_at.astimezone(UTC).isoformat(),
            event.actor_username or "system",
            action_name(event.action),
            event.action,
            event.object_repr,
            event.finding.code if event.finding else "",
            event.permission,
            event.request_id,
            _json(event.before),
            _json(event.after),
        ]


def _json(value) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)
