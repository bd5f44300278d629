"""The JSON API under /api/v1/: its routers, authentication, error shape and URL patterns."""

from functools import wraps
from http import HTTPStatus

from django.http import HttpRequest
from ninja import NinjaAPI

from findings.api import audit, findings, phases
from findings.api.auth import API_AUTH
from findings.api.errors import ApiError, error_handlers_install, error_response

# A tick with its evidence is well under a kilobyte; anything this large is not one.
BODY_LIMIT = 16 * 1024
JSON_CONTENT_TYPE = "application/json"

api = NinjaAPI(
    title="DomainFlow Finding Tracker API",
    version="1",
    description=(
        "Read findings, checklists, phases and the audit log; tick checklist items from a "
        "pipeline. Authenticate with `Authorization: Bearer dft_…` or a signed-in session."
    ),
    urls_namespace="api-v1",
    auth=API_AUTH,
    # The interactive docs page would load scripts the content security policy does not allow;
    # the OpenAPI document serves any local viewer.
    docs_url=None,
)
error_handlers_install(api)


def _body_checked(run):
    """Refuse a body that is too large or not JSON before ninja reads it, in the API's shape."""

    @wraps(run)
    def checked(request: HttpRequest, *args, **kwargs):
        if request.method in ("PUT", "POST", "PATCH"):
            refusal = _body_refusal(request)
            if refusal is not None:
                return error_response(api, request, refusal)
        return run(request, *args, **kwargs)

    return checked


def _body_refusal(request: HttpRequest) -> ApiError | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = BODY_LIMIT + 1
    if length > BODY_LIMIT:
        detail = f"The body is {length} bytes; the API takes at most {BODY_LIMIT}."
        return ApiError(HTTPStatus.BAD_REQUEST, "body_too_large", detail)
    if request.content_type != JSON_CONTENT_TYPE:
        detail = f"Send the body as {JSON_CONTENT_TYPE}, not {request.content_type or 'nothing'}."
        return ApiError(HTTPStatus.BAD_REQUEST, "unsupported_content_type", detail)
    return None


api.add_decorator(_body_checked, mode="view")
api.add_router("", findings.router)
api.add_router("", phases.router)
api.add_router("", audit.router)


def api_urls():
    """The API's URL patterns for include(), open to the request without a session: each
    operation authenticates its caller itself, and the OpenAPI document is public.
    """
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = _method_refusal_in_error_shape(pattern.callback)
        pattern.callback.login_required = False
    return patterns, app_name, namespace


def _method_refusal_in_error_shape(view):
    """ninja answers a method a path does not take with plain text before any handler runs;
    give it the API's error shape too, keeping its Allow header."""

    @wraps(view)
    def answered(request: HttpRequest, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code != HTTPStatus.METHOD_NOT_ALLOWED:
            return response
        allowed = response["Allow"]
        detail = f"{request.method} is not allowed here; use {allowed}."
        refusal = error_response(
            api, request, ApiError(HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed", detail)
        )
        refusal["Allow"] = allowed
        return refusal

    return answered
