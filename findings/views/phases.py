from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from findings.forms import RevokeSignoffForm, SignoffForm, form_errors_sentence
from findings.gates import readiness_given
from findings.models import Phase
from findings.selectors import PhaseCard, phase_card_by_code, phase_card_for
from findings.services.approval import content_changes
from findings.services.audit import ActionContext
from findings.services.errors import Refused
from findings.services.signoffs import (
    SIGN_PERMISSION,
    content_fingerprint,
    phase_content,
    signing_problems,
    signoff_revoke,
    signoff_sign,
)
from findings.views.access import permission_needed
from findings.views.refusals import Refusal, refusal_response

PAGE = "findings/phase_detail.html"


def _get_phase(code: str) -> Phase:
    return get_object_or_404(Phase, code=code)


@require_GET
@permission_needed("findings.view_phase")
def phase_detail(request: HttpRequest, code: str) -> HttpResponse:
    card = phase_card_by_code(code)
    if card is None:
        raise Http404("No phase has this code.")
    return render(request, PAGE, phase_page_context(card.phase, request.user, card))


@require_POST
@permission_needed("findings.sign_off_phase")
def phase_sign(request: HttpRequest, code: str) -> HttpResponse:
    phase = _get_phase(code)
    form = SignoffForm(request.POST)
    if not form.is_valid():
        return _refuse(request, phase, BadRequest(form_errors_sentence(form)), form)
    try:
        signoff_sign(
            phase_id=phase.pk,
            comment=form.cleaned_data["comment"],
            context=ActionContext.from_request(request),
        )
    except (PermissionDenied, Refused) as refusal:
        return _refuse(request, phase, refusal, form)
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


def _changed(request: HttpRequest, phase: Phase, message: str) -> HttpResponse:
    if not request.htmx:
        messages.success(request, message)
        return redirect("phase_detail", code=phase.code)
    context = {**phase_page_context(phase, request.user), "gate_message": message}
    return render(request, f"{PAGE}#phase-gate", context)


def _refuse(
    request: HttpRequest, phase: Phase, refusal: Refusal, sign_form: SignoffForm | None = None
) -> HttpResponse:
    def page_context() -> dict:
        context = phase_page_context(phase, request.user)
        if sign_form is not None:
            context["sign_form"] = sign_form
        return context

    return refusal_response(
        request,
        refusal,
        page=PAGE,
        fragment="phase-gate",
        fragment_context=lambda message: {**page_context(), "gate_error": message},
        page_context=page_context,
    )


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
    signing_refusals = signing_problems(phase=phase, user=user) if may_sign else []
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
        "can_sign": may_sign and gate.may_sign,
        "signing_refusals": signing_refusals,
        "can_revoke": signoff is not None and may_sign,
        "sign_form": SignoffForm(),
        "revoke_form": RevokeSignoffForm(),
    }
