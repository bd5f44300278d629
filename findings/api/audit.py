"""The audit log, filtered like its page (action, actor, finding, since, until), newest first."""

from http import HTTPStatus

from django.http import HttpRequest
from ninja import Router

from findings.api.auth import api_access
from findings.api.errors import ApiError
from findings.api.paging import page_of
from findings.api.schemas import AuditPage, ErrorOut, csv_download
from findings.filters import AuditEventFilter
from findings.models import AuditEvent
from findings.page_cache import cached_api_read, cached_result
from findings.views.csv_export import audit_csv

router = Router(tags=["audit"])

READ_ERRORS = dict.fromkeys((400, 401, 403, 429), ErrorOut)


@router.get("/audit/", response={200: AuditPage, **READ_ERRORS})
@cached_api_read
def audit_list(request: HttpRequest):
    api_access(request, permission="findings.view_auditevent")
    return cached_result(request, lambda: _audit_page(request))


def _audit_page(request: HttpRequest) -> dict:
    numbers, events = page_of(_filtered_events(request), request.GET)
    return {**numbers, "results": [audit_event_out(event) for event in events]}


@router.get("/audit/export.csv", response=READ_ERRORS, openapi_extra=csv_download("audit events"))
def audit_list_csv(request: HttpRequest):
    """Every event the filters select, not a page of them, as the audit log's CSV."""
    api_access(request, permission="findings.view_auditevent")
    return audit_csv(_filtered_events(request))


def _filtered_events(request: HttpRequest):
    filterset = AuditEventFilter(request.GET, queryset=audit_rows())
    if not filterset.is_valid():
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_filter", filterset.errors.get_json_data())
    return filterset.qs


def audit_rows():
    return AuditEvent.objects.select_related("finding").order_by("-created_at", "-id")


def audit_event_out(event: AuditEvent) -> dict:
    return {
        "sequence": event.sequence,
        "created_at": event.created_at,
        "actor": event.actor_username or "system",
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "finding": event.finding.code if event.finding else None,
        "before": event.before,
        "after": event.after,
        "permission": event.permission,
        "request_id": event.request_id,
    }
