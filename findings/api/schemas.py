"""The API's request and response shapes; the OpenAPI document is drawn from them."""

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field


def csv_download(rows: str) -> dict:
    """The OpenAPI description of an operation that answers with a CSV file of `rows`."""
    return {
        "responses": {
            200: {
                "description": f"The {rows} as CSV; cells that would start a formula are "
                "prefixed with an apostrophe.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    }


class ErrorOut(Schema):
    error: str
    detail: Any


class Page(Schema):
    count: int
    page: int
    pages: int
    per_page: int


class FindingRow(Schema):
    code: str
    title: str
    category: str
    priority: str
    priority_unconfirmed: bool
    status: str
    phase: str | None
    owner: str | None
    effort_min_days: int | None
    effort_max_days: int | None
    checklist_ticked: int
    checklist_total: int
    waits_on: str | None = Field(description="The first unfinished finding it depends on.")


class FindingPage(Page):
    results: list[FindingRow]


class EvidenceOut(Schema):
    url: str
    commit: str
    summary: str


class ChecklistItemOut(Schema):
    key: str
    text: str
    section: str
    position: int
    checked: bool
    version: int
    ticked_by: str | None
    ticked_at: datetime | None
    evidence: EvidenceOut


class FindingOut(Schema):
    code: str
    title: str
    category: str
    priority: str
    priority_unconfirmed: bool
    status: str
    phase: str | None
    owner: str | None
    version: int
    content_version: int
    checklist: list[ChecklistItemOut]


class EvidenceIn(Schema):
    """A pipeline's report; each part optional. The item's own rules bound each part."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field("", max_length=500, description="The run, shown as a link if http(s).")
    commit: str = Field("", max_length=64)
    summary: str = Field("", max_length=500)


class TickIn(Schema):
    model_config = ConfigDict(extra="forbid")

    checked: bool = Field(strict=True, description="The state the item should have.")
    version: int | None = Field(
        None,
        strict=True,
        ge=1,
        description="The item's version the caller saw; a stale one is refused with 409.",
    )
    evidence: EvidenceIn | None = None


class SignoffOut(Schema):
    signed_by: str
    signed_at: datetime


class PhaseOut(Schema):
    code: str
    name: str
    order: int
    priority_band: str
    requires_signoff: bool
    gate_state: str = Field(description="locked, signed, ready, not_ready or no_gate")
    lock_reason: str
    blockers: list[str]
    signoff: SignoffOut | None
    eligible_signers: list[str]
    barred_signers: dict[str, list[str]]
    nobody_reason: str


class AuditEventOut(Schema):
    sequence: int
    created_at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    finding: str | None
    before: Any
    after: Any
    permission: str
    request_id: str


class AuditPage(Page):
    results: list[AuditEventOut]
