"""Read pages and API reads, kept under the audit chain's head and the viewer.

Every change the tracker makes appends an event to the audit chain in the transaction that makes
it, so the chain's head (its newest sequence and hash) names the state of everything a page
shows. A page stored under the head, the viewer and the request is right for as long as that
head stands, on every worker and machine, with nothing to invalidate: the first change moves the
head and the next read renders afresh. The head is read before anything the page shows, so what
is stored is never older than its key.

Who the viewer is, is never cached: the session, the user and their permissions are read on
every request before this runs, so a logout, a deactivation or a removed role takes effect on
the next request. The key holds the user (their name, their CSRF secret and whether they are
barred from signing are on the page), their permission set and staff flags (which buttons and
links they get), today's date (the burndown ends today) and the request's path, query and htmx
headers (a partial is not the page).

Pages are kept in the "pages" cache: each process's local memory by default, a shared cache when
CACHE_URL names one, which only raises the hit rate. PAGE_CACHE_SECONDS bounds how long an entry
lives; 0 turns caching off.
"""

import hashlib
from collections.abc import Callable
from functools import partial, wraps
from typing import TypeVar

from django.conf import settings
from django.contrib import messages
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja.decorators import decorate_view

from findings.models import GENESIS_HASH, AuditChainHead

PAGES = "pages"
Result = TypeVar("Result")


def cached_page(view=None, *, state: Callable[[], object] | None = None):
    """Serve a GET view's 200 answer from the cache while the plan and the viewer are unchanged.

    Goes under the view's permission check, so a refusal is decided afresh each time. `state`
    reads whatever else the page shows that changes without an audit event; its value joins the
    key.
    """
    if view is None:
        return partial(cached_page, state=state)

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        key = _answer_key(request, "page", state() if state is not None else None)
        stored = caches[PAGES].get(key)
        if stored is not None:
            return _response_from(stored)
        response = view(request, *args, **kwargs)
        # A TemplateResponse renders on its way out; the content is what is kept.
        if hasattr(response, "render"):
            response.render()
        if _storable(request, response):
            caches[PAGES].set(key, _stored(response), settings.PAGE_CACHE_SECONDS)
        return response

    return wrapped


def cached_api_read(operation):
    """Keep a django-ninja read's answer as ninja encoded it; goes beneath `@router.get`.

    The operation checks access first, then answers through `cached_result`, which sends a kept
    answer straight back: a hit skips the schema's validation and the JSON encoding too.
    """

    def keep_encoded_answer(run):
        @wraps(run)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = run(request, *args, **kwargs)
            key = getattr(request, "api_answer_key", None)
            if key is not None and response.status_code == 200 and not response.streaming:
                caches[PAGES].set(key, _stored(response), settings.PAGE_CACHE_SECONDS)
            return response

        return wrapped

    return decorate_view(keep_encoded_answer)(operation)


def cached_result(request: HttpRequest, compute: Callable[[], Result]) -> Result | HttpResponse:
    """The kept answer to this API read, or `compute`'s result for ninja to encode and
    `cached_api_read` to keep. Call it after the access check; an error `compute` raises (a 404,
    a bad filter) is not kept.
    """
    if not settings.PAGE_CACHE_SECONDS:
        return compute()
    key = _answer_key(request, "api")
    stored = caches[PAGES].get(key)
    if stored is not None:
        return _response_from(stored)
    request.api_answer_key = key
    return compute()


def _answer_key(request: HttpRequest, kind: str, state: object = None) -> str:
    """The cache key of this request's answer: one query, for the audit chain's head."""
    sequence, head = AuditChainHead.objects.values_list("sequence", "hash").first() or (
        0,
        GENESIS_HASH,
    )
    user = request.user
    htmx = request.htmx
    parts = (
        kind,
        sequence,
        head,
        user.pk,
        user.is_staff,
        user.is_superuser,
        sorted(user.get_all_permissions()),
        request.META.get("CSRF_COOKIE", ""),
        timezone.localdate().isoformat(),
        request.get_full_path(),
        bool(htmx),
        htmx.target,
        htmx.trigger,
        htmx.trigger_name,
        htmx.boosted,
        htmx.history_restore_request,
        state,
    )
    return f"{kind}:{sequence}:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _cacheable(request: HttpRequest) -> bool:
    # Without a CSRF secret yet, rendering makes one and sets its cookie: an answer kept from
    # then would carry a token for a secret the browser never got. Messages waiting to be shown
    # are shown once, by a page rendered for them.
    return (
        bool(settings.PAGE_CACHE_SECONDS)
        and request.method == "GET"
        and "CSRF_COOKIE" in request.META
        and len(messages.get_messages(request)) == 0
    )


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and len(messages.get_messages(request)) == 0
    )


def _stored(response: HttpResponse) -> tuple[bytes, list[tuple[str, str]]]:
    return response.content, list(response.items())


def _response_from(stored: tuple[bytes, list[tuple[str, str]]]) -> HttpResponse:
    content, headers = stored
    response = HttpResponse(content)
    for name, value in headers:
        response[name] = value
    return response
