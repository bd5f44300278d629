"""One answer to every refused change: the fragment an HTMX request swaps, or the whole page."""

from collections.abc import Callable
from http import HTTPStatus

from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from findings.services.errors import Refused, StaleVersion

# Why a view refuses a change: Django's own refusals for bad input and a missing permission, and
# the domain's, which carry their status and message.
Refusal = BadRequest | PermissionDenied | Refused | StaleVersion


def refusal_status(refusal: Refusal) -> HTTPStatus:
    if isinstance(refusal, BadRequest):
        return HTTPStatus.BAD_REQUEST
    if isinstance(refusal, PermissionDenied):
        return HTTPStatus.FORBIDDEN
    return refusal.status


def refusal_message(refusal: Refusal) -> str:
    if isinstance(refusal, BadRequest | PermissionDenied):
        return str(refusal)
    return refusal.explanation


def refusal_response(
    request: HttpRequest,
    refusal: Refusal,
    *,
    page: str,
    fragment: str,
    fragment_context: Callable[[str], dict],
    page_context: Callable[[], dict],
) -> HttpResponse:
    """Answer a refused change with the reason and the current state, changing nothing.

    HTMX gets `fragment` of `page`, drawn from `fragment_context(message)`, which shows the message
    beside what it swaps; a plain form post gets the whole page with the message at the top. Only
    the answer drawn is read: a refusal should not cost more than the page.
    """
    status, message = refusal_status(refusal), refusal_message(refusal)
    if request.htmx:
        return render(request, f"{page}#{fragment}", fragment_context(message), status=status)
    messages.error(request, message)
    return render(request, page, page_context(), status=status)
