"""Who calls the API: a bearer token (`dft_…`), or the browser's session with its CSRF token.

A token request carries no cookie a third-party page could ride on, so CSRF does not apply to
it; a session request keeps Django's CSRF check for unsafe methods (ninja's SessionAuth).
"""

from http import HTTPStatus

from django.http import HttpRequest
from ninja.errors import Throttled
from ninja.security import HttpBearer, SessionAuth

from findings.api.errors import ApiError
from findings.services.audit import missing_permission_message
from findings.services.tokens import token_allows, token_authenticate, token_throttle


class BearerToken(HttpBearer):
    """A request with an Authorization header is judged by it alone: a bad token is refused
    rather than passed on to the session, so a pipeline never acts as whoever is signed in.
    """

    def __call__(self, request: HttpRequest):
        header = request.headers.get(self.header)
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        token = token_authenticate(raw.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise ApiError(
                HTTPStatus.UNAUTHORIZED,
                "invalid_token",
                "The token is unknown, revoked or expired, or its user is inactive.",
            )
        wait = token_throttle(token)
        if wait is not None:
            raise Throttled(wait=wait)
        request.api_token = token
        # The token acts as its user everywhere: permissions, the audit trail, the request log
        # and the private caching of what it reads (both ask AuthenticationMiddleware's cache).
        request.user = request._cached_user = token.user
        return token

    def authenticate(self, request: HttpRequest, token: str):
        raise NotImplementedError("__call__ authenticates the whole header.")


def api_access(request: HttpRequest, *, permission: str, action: str = "read"):
    """The caller's user, if they hold `permission` and their token's scope covers `action`
    ("read" or "tick"); otherwise an ApiError 403. Every operation starts with it.
    """
    token = getattr(request, "api_token", None)
    if token is not None and not token_allows(token, action):
        raise ApiError(
            HTTPStatus.FORBIDDEN,
            "token_scope",
            f"The token {token.name!r} may {token.scope} only; this needs the {action} scope.",
        )
    if not request.user.has_perm(permission):
        raise ApiError(HTTPStatus.FORBIDDEN, "forbidden", missing_permission_message(permission))
    return request.user


API_AUTH = [BearerToken(), SessionAuth()]
