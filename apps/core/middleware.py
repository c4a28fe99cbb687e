"""Request id (accepted from `X-Request-ID` when well-formed, or created; returned and logged) and
the request limits every request passes before anything else runs."""

import json
import re
import urllib.parse
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.core.context import request_id_var

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestIdMiddleware:
    header = "X-Request-ID"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(self.header, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[self.header] = request_id
        return response


def _has_nul(value: object) -> bool:
    """True when a decoded JSON document holds a NUL character in any key or string."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _form_has_nul(text: str) -> bool:
    """True when a query string or form body decodes to a NUL in a name or a value."""
    if "%00" not in text and "\x00" not in text:
        return False
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="latin-1")
    return any("\x00" in key or "\x00" in value for key, value in pairs)


class RequestLimitsMiddleware:
    """Refuses, before anything else runs (no tenant lookup, no query, signed in or not):

    * a URL longer than REQUEST_MAX_URL_LENGTH: 414 `uri_too_long`;
    * a body larger than its limit (REQUEST_MAX_BODY_BYTES, REQUEST_MAX_UPLOAD_BYTES for multipart
      uploads, or a REQUEST_BODY_LIMITS path prefix): 413 `request_too_large`, judged on
      Content-Length before a byte of the body is read;
    * a NUL character in the path, the query string, a form body or a JSON body (PostgreSQL text
      cannot store one): 400 `invalid_character`.

    All in the one error shape. A JSON body is scanned as bytes (one `in` per request) and parsed
    only when an escaped NUL might be in it, so the hot path pays a substring search.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self.refusal(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)

    @staticmethod
    def _limit_for(request: HttpRequest) -> int:
        from django.conf import settings

        for prefix, limit in getattr(settings, "REQUEST_BODY_LIMITS", {}).items():
            if request.path_info.startswith(prefix):
                return limit
        if request.content_type == "multipart/form-data":
            return settings.REQUEST_MAX_UPLOAD_BYTES
        return settings.REQUEST_MAX_BODY_BYTES

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        from django.conf import settings

        from apps.core.errors import error_response

        query = request.META.get("QUERY_STRING", "")
        if len(request.path_info) + len(query) > settings.REQUEST_MAX_URL_LENGTH:
            return error_response(
                "uri_too_long",
                f"The URL is longer than {settings.REQUEST_MAX_URL_LENGTH} characters.",
                414,
                {"max_length": settings.REQUEST_MAX_URL_LENGTH},
            )
        if "\x00" in request.path_info:
            return self._nul("path")
        if _form_has_nul(query):
            return self._nul("query")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = self._limit_for(request)
        if length > limit:
            return error_response(
                "request_too_large",
                f"The request body is larger than {limit} bytes.",
                413,
                {"max_bytes": limit, "content_length": length},
            )
        if length and request.content_type == "application/x-www-form-urlencoded":
            if _form_has_nul(request.body.decode("latin-1")):  # the body is cached for the parsers
                return self._nul("body")
        elif length and request.content_type == "application/json":
            body = request.body  # at most `limit` bytes; cached for the view and the parsers
            if b"\x00" in body:
                return self._nul("body")
            if b"\\u0000" in body.lower():
                try:
                    document = json.loads(body)
                except ValueError:
                    document = None  # the parser will answer malformed_request
                if _has_nul(document):
                    return self._nul("body")
        return None

    @staticmethod
    def _nul(where: str) -> HttpResponse:
        from apps.core.errors import error_response

        return error_response(
            "invalid_character",
            f"NUL characters are not allowed in the {where}.",
            400,
            {where: ["Contains a NUL (0x00) character."]},
        )
