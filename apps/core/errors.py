"""One error shape for the whole API.

Every 4xx/5xx answers `{"error": {"code", "message", "details", "request_id"}}`: `code` is a
stable machine-readable string, `message` is for humans, `details` carries field errors or
other structured data. Services raise `ApplicationError` subclasses; the DRF exception handler
and the Django error views turn everything into that shape.
"""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

from apps.core.context import get_request_id

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """Base of every domain error. Subclasses set `code`, `status_code` and a default message."""

    code = "application_error"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Any = None,
        code: str | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details if details is not None else {}
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.headers = headers or {}
        super().__init__(self.message)


class NotFound(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    default_message = "Not found."


class Conflict(ApplicationError):
    code = "conflict"
    status_code = status.HTTP_409_CONFLICT
    default_message = "The request conflicts with the current state."


class InvalidInput(ApplicationError):
    code = "invalid"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "Invalid input."


class PreconditionFailed(ApplicationError):
    code = "precondition_failed"
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_message = "The resource changed since you read it."


# DRF exception class -> stable code. DRF's own codes are kept where they are already good.
_DRF_CODES: dict[type[Exception], str] = {
    drf_exceptions.ValidationError: "validation_error",
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "rate_limited",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details if details is not None else {},
            "request_id": get_request_id(),
        }
    }


def error_response(
    code: str, message: str, status_code: int, details: Any = None, headers: dict | None = None
) -> JsonResponse:
    """The error shape as a plain Django response (middleware, Django error views)."""
    response = JsonResponse(error_body(code, message, details), status=status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# SQLSTATEs of a database that is gone or going (connection exception, admin/crash shutdown,
# starting up). A client-side connection failure carries no SQLSTATE at all.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")
RETRY_AFTER_UNAVAILABLE = 5


def unavailable_service(exc: BaseException | None) -> str | None:
    """'database' or 'redis' when `exc` says that backing service cannot be reached right now (a
    restart, a failover): the request may be retried, it is not a bug. None otherwise (a deadlock
    or any other database error stays what it is)."""
    import redis

    if isinstance(exc, InterfaceError):
        return "database"
    if isinstance(exc, OperationalError):
        state = getattr(exc.__cause__, "sqlstate", None)
        if state is None or state.startswith(_UNAVAILABLE_SQLSTATES):
            return "database"
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
        return "redis"
    return None


def unavailable_body(service: str) -> dict[str, Any]:
    return error_body(
        "service_unavailable",
        f"The service is briefly unavailable ({service}). Try again in a few seconds.",
        {"retry_after": RETRY_AFTER_UNAVAILABLE},
    )


def _validation_message(details: Any) -> str:
    if isinstance(details, dict) and list(details) == ["non_field_errors"]:
        first = details["non_field_errors"]
        return str(first[0]) if isinstance(first, list) and first else "Invalid input."
    if isinstance(details, list) and details:
        return str(details[0])
    return "Invalid input."


def _from_django_validation_error(exc: DjangoValidationError) -> drf_exceptions.ValidationError:
    if hasattr(exc, "message_dict"):
        data = {("non_field_errors" if key == "__all__" else key): value for key, value in exc.message_dict.items()}
        return drf_exceptions.ValidationError(data)
    return drf_exceptions.ValidationError({"non_field_errors": exc.messages})


def set_rollback() -> None:
    from rest_framework.views import set_rollback as drf_set_rollback

    drf_set_rollback()


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception a view raises becomes the error shape."""
    if isinstance(exc, DjangoValidationError):
        exc = _from_django_validation_error(exc)
    elif isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        set_rollback()
        body = error_body(exc.code, exc.message, exc.details)
        return Response(body, status=exc.status_code, headers=exc.headers or None)

    if isinstance(exc, drf_exceptions.APIException):
        set_rollback()
        code = getattr(exc, "stable_code", None) or _DRF_CODES.get(type(exc))
        if code is None:
            for klass, klass_code in _DRF_CODES.items():
                if isinstance(exc, klass):
                    code = klass_code
                    break
        if code is None:
            code = exc.default_code if isinstance(exc.default_code, str) else "error"
        if isinstance(exc, drf_exceptions.ValidationError):
            details = exc.detail
            message = _validation_message(details)
        else:
            details = {}
            message = str(exc.detail)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
            details = {"retry_after": int(headers["Retry-After"])}
            message = f"Too many requests. Retry after {headers['Retry-After']} seconds."
        return Response(error_body(code, message, details), status=exc.status_code, headers=headers or None)

    if isinstance(exc, DataError):
        # A value the column cannot hold (a number out of range, a NUL in text) that validation
        # let through: the client's input, not a server fault; logged so the validation gets fixed.
        set_rollback()
        logger.warning("Database refused a value: %s", exc)
        return Response(
            error_body("value_out_of_range", "A value is out of range for its field.", {}),
            status=status.HTTP_400_BAD_REQUEST,
        )

    if service := unavailable_service(exc):
        # PostgreSQL or Redis restarting: nothing was applied (the transaction is gone with the
        # connection); a 503 with Retry-After tells the client to try again, not that it broke us.
        set_rollback()
        logger.warning("%s unavailable, answered 503: %s", service, exc)
        headers = {"Retry-After": str(RETRY_AFTER_UNAVAILABLE)}
        return Response(unavailable_body(service), status=status.HTTP_503_SERVICE_UNAVAILABLE, headers=headers)

    # Anything else is a bug: log it with its stack, answer 500 without one (outside DEBUG).
    set_rollback()
    logger.exception("Unhandled exception in API view", exc_info=exc)
    sentry_sdk.capture_exception(exc)  # a no-op unless SENTRY_DSN turned Sentry on
    details: dict[str, Any] = {}
    if settings.DEBUG:
        details = {"exception": repr(exc)}
    return Response(
        error_body("server_error", "An unexpected error occurred. It has been logged.", details),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
