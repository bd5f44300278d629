"""The phases: each gate's state, what blocks its signoff, and who may sign it."""

from http import HTTPStatus

from django.http import HttpRequest
from ninja import Router

from findings.api.auth import api_access
from findings.api.errors import ApiError
from findings.api.schemas import ErrorOut, PhaseOut
from findings.gates import phase_readiness
from findings.page_cache import cached_api_read, cached_result
from findings.selectors import PhaseCard, phase_cards
from findings.signers import phase_signers

router = Router(tags=["phases"])

READ_ERRORS = dict.fromkeys((400, 401, 403, 429), ErrorOut)


@router.get("/phases/", response={200: list[PhaseOut], **READ_ERRORS})
@cached_api_read
def phase_list(request: HttpRequest):
    """Every phase in order; blockers are counted, as on the dashboard."""
    api_access(request, permission="findings.view_phase")
    return cached_result(
        request,
        lambda: [_phase_out(card, card.blockers) for card in phase_cards(with_next_findings=False)],
    )


@router.get("/phases/{code}/", response={200: PhaseOut, 404: ErrorOut, **READ_ERRORS})
@cached_api_read
def phase_detail(request: HttpRequest, code: str):
    """One phase; blockers are itemised, as on its page: each unfinished finding and item."""
    api_access(request, permission="findings.view_phase")
    return cached_result(request, lambda: _phase_detail(code))


def _phase_detail(code: str) -> dict:
    card = next((c for c in phase_cards(with_next_findings=False) if c.phase.code == code), None)
    if card is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"No phase has the code {code!r}.")
    return _phase_out(card, phase_readiness(card.phase).blockers)


def _phase_out(card: PhaseCard, blockers: list[str]) -> dict:
    phase = card.phase
    signers = phase_signers(phase)
    signoff = card.signoff
    return {
        "code": phase.code,
        "name": phase.name,
        "order": phase.order,
        "priority_band": phase.priority_band,
        "requires_signoff": phase.requires_signoff,
        "gate_state": card.gate_state,
        "lock_reason": card.lock_reason,
        "blockers": blockers,
        "signoff": (
            {"signed_by": signoff.signed_by.get_username(), "signed_at": signoff.signed_at}
            if signoff
            else None
        ),
        "eligible_signers": [user.get_username() for user in signers.eligible],
        "barred_signers": {
            user.get_username(): reasons for user, reasons in signers.barred.items()
        },
        "nobody_reason": signers.nobody_reason if phase.requires_signoff else "",
    }
