import logging
import re
import time
import uuid

from django.contrib.auth import middleware as auth_middleware
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

from findings.client_address import client_ip
from findings.services.accounts import account_changes_by_request

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is kept only when it is short and plain, so it cannot smuggle text into logs.
# Matched whole with fullmatch: "$" would let a trailing newline through into the header.
ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

request_log = logging.getLogger("domainflow.requests")


class RequestIdMiddleware:
    """Gives every request an id, which its audit events carry, and logs one line per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        acceptable = ACCEPTABLE_REQUEST_ID.fullmatch(incoming)
        request.request_id = incoming if acceptable else uuid.uuid4().hex
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        request_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": request.request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user": _username(request),
                "ip": client_ip(request) or "",
            },
        )
        return response


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's, asking the view before the user: an open view never reads the session.

    /healthz must answer without the database even to a browser that sends its session cookie.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class AccountChangesByRequestMiddleware:
    """Names the request's user in the audit events of any account change the request makes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with account_changes_by_request(request):
            return self.get_response(request)


class PrivateCacheMiddleware:
    """Marks every response to a signed-in user `Cache-Control: private`.

    A shared cache (a proxy, a CDN) must never keep one user's findings, audit log or export
    and hand them to the next. Only requests that read their user are asked: every login-required
    view does, and /healthz, which never does, must not start reading the session for this.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # request.user rather than the cached user: logging in or out during the request
        # replaces it.
        if hasattr(request, "_cached_user") and request.user.is_authenticated:
            patch_cache_control(response, private=True)
        return response


def _username(request: HttpRequest) -> str:
    """Who made the request, for the log line, if the request has read its user.

    The log never reads the user itself: that would be a query for views that need none, and
    when the database is down it would fail, when the request's own error is what the log must
    show. AuthenticationMiddleware keeps the user it read in `_cached_user`.
    """
    user = getattr(request, "_cached_user", None)
    try:
        return user.get_username() if user is not None and user.is_authenticated else ""
    except DatabaseError:
        return ""
