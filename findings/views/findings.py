from django.core.exceptions import BadRequest, PermissionDenied
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from findings.forms import ChecklistTickForm, StatusChangeForm, form_errors_sentence
from findings.gates import FINISHED, lock_reason_for
from findings.graphs import graph_for_finding
from findings.models import ChecklistItem, ChecklistSection, Finding, Status
from findings.page_cache import cached_page
from findings.selectors import finding_history, phase_card_for, phase_progress
from findings.services.audit import ActionContext, missing_permission_message
from findings.services.checklist import checklist_frozen_reason, checklist_item_set
from findings.services.errors import PhaseLocked, Refused, StaleVersion
from findings.services.status import allowed_targets, finding_status_set, transition_blockers
from findings.signers import SIGN_PERMISSION, tick_would_bar_signing
from findings.views.access import permission_needed
from findings.views.refusals import Refusal, refusal_response

PAGE = "findings/finding_detail.html"
TICK_CONFIRM_PAGE = "findings/checklist_tick_confirm.html"
TICK_PERMISSION = "findings.tick_checklistitem"
STATUS_PERMISSION = "findings.change_finding_status"
REDRAW_FAILED = (
    "The database did not answer while the page was being updated; reload it to see the progress."
)


def _get_finding(code: str) -> Finding:
    return get_object_or_404(
        Finding.objects.select_related("phase", "owner", "document__phase"), code=code
    )


@require_GET
@permission_needed("findings.view_finding")
@cached_page
def finding_detail(request: HttpRequest, code: str) -> HttpResponse:
    finding = _get_finding(code)
    context = {**finding_page_context(finding, request.user), "graph": graph_for_finding(finding)}
    return render(request, PAGE, context)


@require_POST
@permission_needed("findings.view_finding")
def checklist_item_tick(request: HttpRequest, item_id: int) -> HttpResponse:
    # The item is loaded by the service, under its phase's lock; a refusal loads it to redraw it
    # only when the service did not read it.
    if not request.user.has_perm(TICK_PERMISSION):
        return _refuse_tick(
            request, item_id, PermissionDenied(missing_permission_message(TICK_PERMISSION))
        )
    form = ChecklistTickForm(request.POST)
    if not form.is_valid():
        message = f"The tick was not understood. {form_errors_sentence(form)}"
        return _refuse_tick(request, item_id, BadRequest(message))
    if form.cleaned_data["checked"] and not form.cleaned_data["acknowledged_signing_bar"]:
        confirmation = _signing_bar_confirmation(request, item_id, form.cleaned_data["version"])
        if confirmation is not None:
            return confirmation
    try:
        item = checklist_item_set(
            item_id=item_id,
            checked=form.cleaned_data["checked"],
            expected_version=form.cleaned_data["version"],
            context=ActionContext.from_request(request),
        )
    except ChecklistItem.DoesNotExist as unknown:
        raise Http404("No checklist item has this id.") from unknown
    except (PermissionDenied, Refused, StaleVersion) as refusal:
        return _refuse_tick(request, item_id, refusal)
    if not request.htmx:
        return redirect(f"{item.finding.get_absolute_url()}#item-{item.pk}")
    try:
        context = {**changed_regions_context(item.finding, request.user), "item": item}
    except DatabaseError:
        # The tick is committed; only the reads for the redraw failed. Saying so beats a 500
        # that would make the reviewer think their change was lost.
        context = {
            "item": item,
            "can_tick": request.user.has_perm(TICK_PERMISSION),
            "item_note": f"Saved. {REDRAW_FAILED}",
        }
        return render(request, f"{PAGE}#checklist-item", context)
    return render(request, f"{PAGE}#tick-response", context)


@require_POST
@permission_needed("findings.view_finding")
def finding_status_change(request: HttpRequest, code: str) -> HttpResponse:
    finding = _get_finding(code)
    if not request.user.has_perm(STATUS_PERMISSION):
        refusal = PermissionDenied(missing_permission_message(STATUS_PERMISSION))
        return _refuse_status(request, finding, refusal)
    form = StatusChangeForm(request.POST)
    if not form.is_valid():
        message = f"The status change was not understood. {form_errors_sentence(form)}"
        return _refuse_status(request, finding, BadRequest(message))
    try:
        moved = finding_status_set(
            finding_id=finding.pk,
            target=form.cleaned_data["target"],
            expected_version=form.cleaned_data["version"],
            context=ActionContext.from_request(request),
        )
    except (PermissionDenied, Refused, StaleVersion) as refusal:
        return _refuse_status(request, finding, refusal)
    if not request.htmx:
        return redirect(finding.get_absolute_url())
    finding.status, finding.version = moved.status, moved.version
    try:
        context = changed_regions_context(finding, request.user)
    except DatabaseError:
        # As for a tick: the move is committed, only the redraw failed.
        context = {"finding": finding, "status_note": f"Moved. {REDRAW_FAILED}"}
        return render(request, f"{PAGE}#status-panel", context)
    return render(request, f"{PAGE}#status-response", context)


def _signing_bar_confirmation(
    request: HttpRequest, item_id: int, version: int
) -> HttpResponse | None:
    """Ask first when the tick would bar the user from signing its phase off; None otherwise.

    The page's script asks before the first tick and then sends the acknowledgement; this is
    the answer to a tick without it (no JavaScript, or a raw POST): a form that sends it.
    """
    # Only a signer can be barred; checking first spares everyone else a read of the item.
    if not request.user.has_perm(SIGN_PERMISSION):
        return None
    item = get_object_or_404(ChecklistItem.objects.select_related("finding__phase"), pk=item_id)
    if not tick_would_bar_signing(request.user, item.finding.phase):
        return None
    context = {"item": item, "version": version, "phase": item.finding.phase}
    if request.htmx:
        return render(request, f"{TICK_CONFIRM_PAGE}#tick-confirmation", context)
    return render(request, TICK_CONFIRM_PAGE, context)


def _refuse_tick(request: HttpRequest, item_id: int, refusal: Refusal) -> HttpResponse:
    """Redraw the refused item from the service's read of it, or read it when there is none."""
    item = getattr(refusal, "current", None)
    if item is None:
        item = get_object_or_404(
            ChecklistItem.objects.select_related("finding__phase", "checked_by"), pk=item_id
        )

    def fragment_context(message: str) -> dict:
        return {
            "item": item,
            "can_tick": _may_tick(request.user, item, refusal),
            "checklist_frozen_reason": checklist_frozen_reason(item.finding),
            "item_error": message,
        }

    return refusal_response(
        request,
        refusal,
        page=PAGE,
        fragment="checklist-item",
        fragment_context=fragment_context,
        page_context=lambda: finding_page_context(_get_finding(item.finding.code), request.user),
    )


def _may_tick(user, item: ChecklistItem, refusal: Refusal) -> bool:
    """Whether the redrawn item's box stays enabled, reading the phase's lock only if needed."""
    if isinstance(refusal, PermissionDenied | PhaseLocked) or not user.has_perm(TICK_PERMISSION):
        return False
    if checklist_frozen_reason(item.finding):
        return False
    # The service refuses these only after it found the phase unlocked.
    return isinstance(refusal, Refused | StaleVersion) or not lock_reason_for(item.finding.phase)


def _refuse_status(request: HttpRequest, finding: Finding, refusal: Refusal) -> HttpResponse:
    """Redraw the status panel from the service's read of the finding, or the view's."""
    current = getattr(refusal, "current", None) or finding

    def fragment_context(message: str) -> dict:
        if isinstance(refusal, PhaseLocked):
            lock_reason = refusal.lock_reason
        elif isinstance(refusal, Refused | StaleVersion):
            # The service refuses these only after it found the phase unlocked.
            lock_reason = ""
        else:
            lock_reason = lock_reason_for(finding.phase)
        can_change_status = request.user.has_perm(STATUS_PERMISSION) and not lock_reason
        return {
            "finding": current,
            "lock_reason": lock_reason,
            "can_change_status": can_change_status,
            "status_targets": _status_targets(current) if can_change_status else [],
            "status_error": message,
        }

    return refusal_response(
        request,
        refusal,
        page=PAGE,
        fragment="status-panel",
        fragment_context=fragment_context,
        page_context=lambda: finding_page_context(_get_finding(finding.code), request.user),
    )


def finding_page_context(finding: Finding, user) -> dict:
    items = list(finding.checklist_items.select_related("checked_by").order_by("position"))
    lock_reason = ""
    phase_card = phase_card_for(finding.phase)
    if phase_card is not None:
        lock_reason = phase_card.lock_reason
    can_change_status = user.has_perm(STATUS_PERMISSION) and not lock_reason
    dependencies = list(
        finding.dependency_links.select_related("depends_on").order_by("depends_on__code")
    )
    dependants = list(finding.dependant_links.select_related("finding").order_by("finding__code"))
    phase_signed = phase_card.signoff is not None if phase_card else None
    return {
        **_checklist_context(finding, user, items, lock_reason, phase_signed=phase_signed),
        "dependencies": dependencies,
        "dependants": dependants,
        "finished_statuses": FINISHED,
        "phase_card": phase_card,
        "lock_reason": lock_reason,
        "can_change_status": can_change_status,
        "status_targets": (
            _status_targets(finding, dependencies, items, dependants) if can_change_status else []
        ),
        "history": finding_history(finding),
    }


def _checklist_context(
    finding: Finding, user, items: list, lock_reason: str, *, phase_signed: bool | None = None
) -> dict:
    """The checklist region: its items by section, whether the user may tick them, and why not
    or what a tick would cost them. `phase_signed` as tick_would_bar_signing takes it.
    """
    frozen_reason = checklist_frozen_reason(finding)
    can_tick = user.has_perm(TICK_PERMISSION) and not lock_reason and not frozen_reason
    return {
        "finding": finding,
        "items": items,
        "sections": [
            (label, [item for item in items if item.section == value])
            for value, label in ChecklistSection.choices
        ],
        "items_ticked": sum(item.checked for item in items),
        "items_total": len(items),
        "can_tick": can_tick,
        "checklist_frozen_reason": frozen_reason,
        "signing_bar_warning": can_tick
        and tick_would_bar_signing(user, finding.phase, signed=phase_signed),
    }


def changed_regions_context(finding: Finding, user) -> dict:
    """What a successful tick or status move redraws: progress bars, the status panel and the
    history, and for a status move the whole checklist, whose boxes the move may enable or
    disable.

    The change just went through, so the finding's phase is not locked.
    """
    items = list(finding.checklist_items.select_related("checked_by").order_by("position"))
    can_change_status = user.has_perm(STATUS_PERMISSION)
    return {
        **_checklist_context(finding, user, items, lock_reason=""),
        "phase_card": phase_progress(finding.phase) if finding.phase else None,
        "lock_reason": "",
        "can_change_status": can_change_status,
        "status_targets": _status_targets(finding, checklist_items=items)
        if can_change_status
        else [],
        "history": finding_history(finding),
    }


def _status_targets(
    finding: Finding,
    dependency_links: list | None = None,
    checklist_items: list | None = None,
    dependant_links: list | None = None,
) -> list[tuple[str, str, list[str]]]:
    return [
        (
            target,
            Status(target).label,
            transition_blockers(
                finding, target, dependency_links, checklist_items, dependant_links
            ),
        )
        for target in allowed_targets(finding.status)
    ]
