"""The findings: the table's rows, one finding with its checklist, and a pipeline's tick."""

from http import HTTPStatus

from django.http import HttpRequest
from ninja import Router

from findings.api.auth import api_access
from findings.api.errors import ApiError
from findings.api.paging import page_of
from findings.api.schemas import (
    ChecklistItemOut,
    ErrorOut,
    FindingOut,
    FindingPage,
    TickIn,
    csv_download,
)
from findings.filters import FindingFilter
from findings.models import ChecklistItem, Finding
from findings.page_cache import cached_api_read, cached_result
from findings.services.audit import ActionContext
from findings.services.checklist import NO_EVIDENCE, Evidence, checklist_item_set
from findings.views.csv_export import findings_csv
from findings.views.finding_list import LIST_FIELDS, finding_rows

router = Router(tags=["findings"])

READ_ERRORS = dict.fromkeys((400, 401, 403, 429), ErrorOut)
TICK_ERRORS = dict.fromkeys((400, 401, 403, 404, 409, 422, 423, 429), ErrorOut)


@router.get("/findings/", response={200: FindingPage, **READ_ERRORS})
@cached_api_read
def finding_list(request: HttpRequest):
    """Findings with the findings table's filters (q, phase, priority, priority_unconfirmed,
    status, category, owner, ready), by code, a page at a time.
    """
    api_access(request, permission="findings.view_finding")
    return cached_result(request, lambda: _finding_page(request))


def _finding_page(request: HttpRequest) -> dict:
    # The table's columns lack the category, which a row here gives: loaded with the rest, not
    # one query per row.
    findings = _filtered_findings(request).only(*LIST_FIELDS, "category")
    numbers, findings = page_of(findings, request.GET)
    return {**numbers, "results": [_finding_row(finding) for finding in findings]}


@router.get("/findings/export.csv", response=READ_ERRORS, openapi_extra=csv_download("findings"))
def finding_list_csv(request: HttpRequest):
    """Every finding the filters select, not a page of them, as the findings table's CSV."""
    api_access(request, permission="findings.view_finding")
    return findings_csv(_filtered_findings(request))


def _filtered_findings(request: HttpRequest):
    filterset = FindingFilter(request.GET, queryset=finding_rows())
    if not filterset.is_valid():
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_filter", filterset.errors.get_json_data())
    return filterset.qs


@router.get("/findings/{code}/", response={200: FindingOut, 404: ErrorOut, **READ_ERRORS})
@cached_api_read
def finding_detail(request: HttpRequest, code: str):
    api_access(request, permission="findings.view_finding")
    return cached_result(request, lambda: _finding_detail(code))


def _finding_detail(code: str) -> dict:
    finding = _finding(code)
    items = finding.checklist_items.select_related("checked_by").order_by("position")
    return {
        **_finding_fields(finding),
        "version": finding.version,
        "content_version": finding.content_version,
        "checklist": [checklist_item_out(item) for item in items],
    }


@router.put("/findings/{code}/checklist/{key}", response={200: ChecklistItemOut, **TICK_ERRORS})
def checklist_item_put(request: HttpRequest, code: str, key: str, tick: TickIn):
    """Set the item to `checked`, storing the evidence with the change. Asking for the state the
    item already has changes nothing (a repeat is safe). A failing pipeline sends
    `"checked": false`, which unticks the item with its evidence.
    """
    api_access(request, permission="findings.tick_checklistitem", action="tick")
    finding = _finding(code)
    item_id = (
        ChecklistItem.objects.filter(finding=finding, key=key).values_list("pk", flat=True).first()
    )
    if item_id is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND, "not_found", f"{finding.code} has no checklist item {key!r}."
        )
    try:
        item = checklist_item_set(
            item_id=item_id,
            checked=tick.checked,
            expected_version=tick.version,
            context=ActionContext.from_request(request),
            evidence=Evidence(**tick.evidence.dict()) if tick.evidence else NO_EVIDENCE,
        )
    except ChecklistItem.DoesNotExist as gone:
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", "The item was just deleted.") from gone
    return checklist_item_out(item)


def _finding(code: str) -> Finding:
    finding = Finding.objects.select_related("phase", "owner").filter(code=code).first()
    if finding is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"No finding has the code {code!r}.")
    return finding


def _finding_fields(finding: Finding) -> dict:
    return {
        "code": finding.code,
        "title": finding.title,
        "category": finding.category,
        "priority": finding.priority,
        "priority_unconfirmed": finding.priority_unconfirmed,
        "status": finding.status,
        "phase": finding.phase.code if finding.phase else None,
        "owner": finding.owner.get_username() if finding.owner else None,
    }


def _finding_row(finding: Finding) -> dict:
    return {
        **_finding_fields(finding),
        "effort_min_days": finding.effort_min_days,
        "effort_max_days": finding.effort_max_days,
        "checklist_ticked": finding.checklist_ticked,
        "checklist_total": finding.checklist_total,
        "waits_on": finding.waits_on,
    }


def checklist_item_out(item: ChecklistItem) -> dict:
    ticked_by = None
    if item.checked:
        ticked_by = item.checked_by.get_username() if item.checked_by else "a removed user"
    return {
        "key": item.key,
        "text": item.text,
        "section": item.section,
        "position": item.position,
        "checked": item.checked,
        "version": item.version,
        "ticked_by": ticked_by,
        "ticked_at": item.checked_at,
        "evidence": {
            "url": item.evidence_url,
            "commit": item.evidence_commit,
            "summary": item.evidence_summary,
        },
    }
