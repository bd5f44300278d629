from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from findings.burndown import burndowns
from findings.forms import RevokeSignoffForm, SignoffForm, form_errors_sentence
from findings.gates import GateState, readiness_given
from findings.graphs import graph_for_phase
from findings.models import Phase, Status
from findings.page_cache import cached_page
from findings.selectors import PhaseCard, phase_card_by_code, phase_card_for
from findings.services.approval import content_changes
from findings.services.audit import ActionContext
from findings.services.errors import Refused, StaleVersion
from findings.services.signoff_requests import REQUEST_PERMISSION, signoff_request
from findings.services.signoffs import (
    SIGN_PERMISSION,
    content_fingerprint,
    phase_content,
    signoff_revoke,
    signoff_sign,
)
from findings.signers import Signers, phase_signers
from findings.views.access import permission_needed
from findings.views.refusals import Refusal, refusal_message, refusal_response, refusal_status

PAGE = "findings/phase_detail.html"
CONFIRM_PAGE = "findings/phase_signoff_confirm.html"


def _get_phase(code: str) -> Phase:
    return get_object_or_404(Phase, code=code)


@require_GET
@permission_needed("findings.view_phase")
@cached_page
def phase_detail(request: HttpRequest, code: str) -> HttpResponse:
    card = phase_card_by_code(code)
    if card is None:
        raise Http404("No phase has this code.")
    context = {
        **phase_page_context(card.phase, request.user, card),
        "graph": graph_for_phase(card.phase),
        "burndown": burndowns([card])[card.phase.pk],
    }
    return render(request, PAGE, context)


@require_http_methods(["GET", "POST"])
@permission_needed("findings.sign_off_phase")
def phase_sign(request: HttpRequest, code: str) -> HttpResponse:
    """GET shows what a signoff would approve and asks to confirm; POST records the signoff."""
    phase = _get_phase(code)
    if request.method == "GET":
        context = phase_page_context(phase, request.user)
        if request.htmx and not request.htmx.history_restore_request:
            return render(
                request,
                f"{CONFIRM_PAGE}#signoff-confirmation",
                {**context, "in_gate_panel": True},
            )
        return render(request, CONFIRM_PAGE, context)
    form = SignoffForm(request.POST)
    if not form.is_valid():
        return _refuse_signing(request, phase, BadRequest(form_errors_sentence(form)), form)
    try:
        signoff_sign(
            phase_id=phase.pk,
            expected_fingerprint=form.cleaned_data["fingerprint"],
            comment=form.cleaned_data["comment"],
            context=ActionContext.from_request(request),
        )
    except (PermissionDenied, Refused, StaleVersion) as refusal:
        return _refuse_signing(request, phase, refusal, form)
    return _changed(request, phase, f"Phase {phase.code} is signed off.")


@require_POST
@permission_needed("findings.sign_off_phase")
def phase_revoke(request: HttpRequest, code: str) -> HttpResponse:
    phase = _get_phase(code)
    form = RevokeSignoffForm(request.POST)
    if not form.is_valid():
        return _refuse(request, phase, BadRequest(form_errors_sentence(form)))
    try:
        signoff_revoke(
            phase_id=phase.pk,
            reason=form.cleaned_data["reason"],
            context=ActionContext.from_request(request),
        )
    except (PermissionDenied, Refused) as refusal:
        return _refuse(request, phase, refusal)
    return _changed(request, phase, f"The signoff of phase {phase.code} is revoked.")


@require_POST
@permission_needed(REQUEST_PERMISSION)
def phase_signoff_request(request: HttpRequest, code: str) -> HttpResponse:
    phase = _get_phase(code)
    try:
        signers = signoff_request(phase_id=phase.pk, context=ActionContext.from_request(request))
    except (PermissionDenied, Refused) as refusal:
        return _refuse(request, phase, refusal)
    names = ", ".join(signer.get_username() for signer in signers)
    return _changed(request, phase, f"Signoff requested from {names}.")


def _changed(request: HttpRequest, phase: Phase, message: str) -> HttpResponse:
    if not request.htmx:
        messages.success(request, message)
        return redirect("phase_detail", code=phase.code)
    context = {**phase_page_context(phase, request.user), "gate_message": message}
    return render(request, f"{PAGE}#phase-gate", context)


def _refuse(request: HttpRequest, phase: Phase, refusal: Refusal) -> HttpResponse:
    return refusal_response(
        request,
        refusal,
        page=PAGE,
        fragment="phase-gate",
        fragment_context=lambda message: {
            **phase_page_context(phase, request.user),
            "gate_error": message,
        },
        page_context=lambda: phase_page_context(phase, request.user),
    )


def _refuse_signing(
    request: HttpRequest, phase: Phase, refusal: Refusal, sign_form: SignoffForm
) -> HttpResponse:
    """Answer a refused signoff with the reason and the confirmation as it stands now.

    HTMX swaps the gate panel, with the confirmation open in it; a plain form post gets the
    confirmation page again. Either way the form keeps the comment typed and carries the
    current fingerprint, so the signer confirms what the phase holds now.
    """
    status, message = refusal_status(refusal), refusal_message(refusal)
    context = {
        **phase_page_context(phase, request.user),
        "sign_form": sign_form,
        "confirming": True,
    }
    if request.htmx:
        context["gate_error"] = message
        return render(request, f"{PAGE}#phase-gate", context, status=status)
    messages.error(request, message)
    return render(request, CONFIRM_PAGE, context, status=status)


def phase_page_context(phase: Phase, user, card: PhaseCard | None = None) -> dict:
    card = card or phase_card_for(phase)
    findings = list(
        phase.findings.select_related("owner")
        .annotate(
            items_total=Count("checklist_items"),
            items_ticked=Count("checklist_items", filter=Q(checklist_items__checked=True)),
        )
        .order_by("code")
    )
    readiness = readiness_given(phase, waiting_on=card.waiting_on, findings=findings)
    signoff = card.signoff
    current_content = phase_content(phase.pk)
    current_fingerprint = content_fingerprint(current_content)
    may_sign = user.has_perm(SIGN_PERMISSION)
    # Who may sign is named only where someone could: a gated phase with no signoff standing.
    signers: Signers | None = None
    signing_refusals: list[str] = []
    if phase.requires_signoff and signoff is None:
        signers = phase_signers(phase)
        barred = {barred_user.pk: reasons for barred_user, reasons in signers.barred.items()}
        signing_refusals = barred.get(user.pk, []) if may_sign else []
    gate = readiness.gate_state(phase, signoff=signoff, signing_problems=signing_refusals)
    return {
        "phase": phase,
        "card": card,
        "readiness": readiness,
        "findings": findings,
        "documents": list(phase.documents.order_by("sequence")),
        "signoff": signoff,
        "signoff_history": list(
            phase.signoffs.select_related("signed_by", "revoked_by").order_by("-signed_at")[:20]
        ),
        "current_fingerprint": current_fingerprint,
        "content_matches": signoff is not None and signoff.fingerprint == current_fingerprint,
        "content_changes": content_changes(signoff.approved_content, current_content)
        if signoff is not None
        else [],
        "content_findings": [
            (code, finding["title"], Status(finding["status"]).label)
            for code, finding in current_content["findings"].items()
        ],
        "content_item_count": sum(
            len(finding["checklist"]) for finding in current_content["findings"].values()
        ),
        "signers": signers,
        "signer_names": ", ".join(signer.get_username() for signer in signers.eligible)
        if signers
        else "",
        "can_sign": may_sign and gate.may_sign,
        "can_request_signoff": gate.is_ready
        and bool(signers and signers.eligible)
        and not (may_sign and gate.may_sign)
        and user.has_perm(REQUEST_PERMISSION),
        "cannot_sign_reasons": _cannot_sign_reasons(phase, gate, signing_refusals),
        "signing_refusals": signing_refusals,
        "can_revoke": signoff is not None and may_sign,
        "sign_form": SignoffForm(),
        "revoke_form": RevokeSignoffForm(),
    }


def _cannot_sign_reasons(phase: Phase, gate: GateState, signing_refusals: list[str]) -> list[str]:
    """Why the confirmation offers no button, in the words the signoff service would refuse."""
    if not phase.requires_signoff:
        return [f"Phase {phase.code} has no signoff gate."]
    if gate.signoff is not None:
        return [f"Phase {phase.code} is already signed off."]
    if gate.blockers:
        return [f"Phase {phase.code} is not ready to sign off.", *gate.blockers]
    return signing_refusals
