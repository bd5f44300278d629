"""The API's one error shape, `{"error": "...", "detail": ...}`, for every refusal it gives."""

import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as SchemaError

from findings.services.errors import Refused, StaleVersion
from findings.views.errors import DATABASE_RETRY_SECONDS

logger = logging.getLogger("django.request")


class ApiError(Exception):
    """A refusal the API answers with `status` and a short machine-readable `error` name."""

    def __init__(self, status: HTTPStatus, error: str, detail):
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


# The names a client can branch on, one per status of the domain's refusals.
REFUSAL_ERRORS = {
    HTTPStatus.CONFLICT: "stale_version",
    HTTPStatus.LOCKED: "phase_locked",
    HTTPStatus.UNPROCESSABLE_ENTITY: "refused",
}


def error_response(api: NinjaAPI, request: HttpRequest, error: ApiError) -> HttpResponse:
    body = {"error": error.error, "detail": error.detail}
    return api.create_response(request, body, status=error.status)


def error_handlers_install(api: NinjaAPI) -> None:
    """Answer every refusal, ninja's and the domain's, in the API's error shape."""

    def answer(status: HTTPStatus, error: str, detail):
        return lambda request, exc: error_response(
            api, request, ApiError(status, error, detail(exc))
        )

    api.add_exception_handler(ApiError, lambda request, exc: error_response(api, request, exc))
    api.add_exception_handler(
        AuthenticationError,
        answer(
            HTTPStatus.UNAUTHORIZED,
            "unauthenticated",
            lambda exc: "Send 'Authorization: Bearer dft_…' with a valid token, or sign in.",
        ),
    )
    api.add_exception_handler(Throttled, _throttled_handler(api))
    for unavailable in (OperationalError, InterfaceError):
        api.add_exception_handler(unavailable, _database_unavailable_handler(api))
    api.add_exception_handler(
        HttpError,
        lambda request, exc: error_response(
            api, request, ApiError(HTTPStatus(exc.status_code), _http_error_name(exc), str(exc))
        ),
    )
    api.add_exception_handler(
        SchemaError, answer(HTTPStatus.BAD_REQUEST, "invalid_request", lambda exc: exc.errors)
    )
    api.add_exception_handler(
        ValidationError, answer(HTTPStatus.BAD_REQUEST, "invalid_request", lambda exc: exc.messages)
    )
    api.add_exception_handler(
        Http404, answer(HTTPStatus.NOT_FOUND, "not_found", lambda exc: str(exc) or "Not found.")
    )
    api.add_exception_handler(
        PermissionDenied, answer(HTTPStatus.FORBIDDEN, "forbidden", lambda exc: str(exc))
    )
    api.add_exception_handler(
        Refused,
        lambda request, exc: error_response(
            api,
            request,
            ApiError(exc.status, REFUSAL_ERRORS.get(exc.status, "refused"), exc.explanation),
        ),
    )
    api.add_exception_handler(
        StaleVersion,
        lambda request, exc: error_response(
            api,
            request,
            ApiError(exc.status, REFUSAL_ERRORS.get(exc.status, "refused"), exc.explanation),
        ),
    )


def _database_unavailable_handler(api: NinjaAPI):
    def handler(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Handled here, so Django would not log its traceback: logged as its 500 would be.
        logger.error("Database unavailable: %s", request.path, exc_info=exc)
        detail = f"The database did not answer; retry in {DATABASE_RETRY_SECONDS} seconds."
        response = error_response(
            api, request, ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "database_unavailable", detail)
        )
        response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
        return response

    return handler


def _throttled_handler(api: NinjaAPI):
    def handler(request: HttpRequest, exc: Throttled) -> HttpResponse:
        detail = f"Too many requests with this token: retry in {exc.wait} seconds."
        response = error_response(
            api, request, ApiError(HTTPStatus.TOO_MANY_REQUESTS, "throttled", detail)
        )
        response["Retry-After"] = str(exc.wait)
        return response

    return handler


def _http_error_name(exc: HttpError) -> str:
    if exc.status_code == HTTPStatus.FORBIDDEN:
        # ninja's session authentication refuses an unsafe request without the CSRF token so.
        return "csrf_failed"
    return "invalid_request" if exc.status_code == HTTPStatus.BAD_REQUEST else "error"
