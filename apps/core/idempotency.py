"""Idempotency keys on every unsafe API request.

A client sends `Idempotency-Key: <up to 255 printable chars>` with a POST/PUT/PATCH/DELETE.
The key is scoped to the tenant (its own table in the tenant's schema) and the principal (user
or API key; an anonymous caller by its client address). Endpoints whose responses carry
credentials (sign-in, sign-up, token refresh) set `idempotency_exempt` and are never stored.

* First request: the key is claimed (`INSERT ... ON CONFLICT DO NOTHING`, committed at once so
  concurrent duplicates see it), the view runs inside a transaction, and a 2xx response is
  stored in that same transaction: the effect and the stored response commit together, so a
  crash in between leaves neither and a retry runs again.
* Replay (same key, same method, path and body): the first status and body, with
  `Idempotent-Replayed: true`.
* Same key, different request: 422 `idempotency_key_mismatch`.
* Duplicate while the first is still running: 409 `idempotency_request_in_progress`.
* Only completed responses are stored (2xx, and 4xx other than 408, 409, 425 and 429); 5xx and
  those four release the key so the client can retry. A replay is only ever served to the
  principal that made the first request; it does not pass through throttles again.
* Keys expire after IDEMPOTENCY_KEY_TTL_SECONDS (24 h); `core.idempotency_keys_purge` deletes
  them hourly. A claim whose worker died is taken over after IDEMPOTENCY_LOCK_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_tenants.utils import get_public_schema_name
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apps.core.audit import audit_batch
from apps.core.errors import error_response
from apps.core.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_STORED_HEADERS = ("Content-Type", "Location", "ETag", "Last-Modified")
_NOT_STORED_STATUSES = {408, 409, 425, 429}
_TABLE = "core_idempotencykey"


@dataclass(frozen=True)
class _Claim:
    row_id: int


@dataclass(frozen=True)
class _Stored:
    status: int
    headers: dict[str, str]
    body: bytes


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        key = request.headers.get(HEADER)
        if key is None or request.method not in _UNSAFE or not request.path.startswith("/api/"):
            return None
        view_cls = getattr(view_func, "cls", None)
        if view_cls is None or getattr(view_cls, "idempotency_exempt", False):
            return None
        if connection.schema_name == get_public_schema_name():
            return None
        if not _VALID_KEY.match(key):
            return error_response(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 printable ASCII characters.",
                400,
                {"header": HEADER},
            )
        principal = _principal(request, view_cls)
        if principal is None:
            return None  # authentication failed: the view answers 401/403 itself
        fingerprint = _fingerprint(request)

        outcome = _claim(principal, key, fingerprint, request.method, request.get_full_path())
        if isinstance(outcome, HttpResponse):
            return outcome
        if isinstance(outcome, _Stored):
            response = HttpResponse(outcome.body, status=outcome.status)
            for name, value in outcome.headers.items():
                response[name] = value
            response[REPLAYED_HEADER] = "true"
            return response
        return _run_claimed(outcome, request, view_func, view_args, view_kwargs)


def _principal(request: HttpRequest, view_cls: type) -> str | None:
    authenticators = [auth() for auth in getattr(view_cls, "authentication_classes", ())]
    drf_request = Request(request, authenticators=authenticators)
    try:
        user = drf_request.user
    except APIException:
        return None
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return f"api_key:{api_key.pk}"
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    # The client address as the rate limiter sees it (trusting only NUM_PROXIES proxies).
    return f"anonymous:{BaseThrottle().get_ident(request)}"[:100]


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.get_full_path()}\n".encode())
    if request.content_type.startswith("multipart/"):
        # Uploads are not read into memory here; their length stands for them.
        digest.update(f"multipart {request.META.get('CONTENT_LENGTH', '')}".encode())
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _claim(principal: str, key: str, fingerprint: str, method: str, path: str) -> _Claim | _Stored | HttpResponse:
    ttl = timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)
    lock = timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS)
    with connection.cursor() as cursor:
        for _attempt in range(5):
            now = timezone.now()
            cursor.execute(
                f"""INSERT INTO {_TABLE} (principal, key, fingerprint, method, path, state,
                        response_headers, created_at, locked_until, expires_at)
                    VALUES (%s, %s, %s, %s, %s, 'in_flight', '{{}}', %s, %s, %s)
                    ON CONFLICT (principal, key) DO NOTHING RETURNING id""",
                [principal, key, fingerprint, method, path[:2048], now, now + lock, now + ttl],
            )
            inserted = cursor.fetchone()
            if inserted:
                return _Claim(inserted[0])
            cursor.execute(
                f"""SELECT id, fingerprint, state, response_status, response_headers,
                        response_body, locked_until, expires_at
                    FROM {_TABLE} WHERE principal = %s AND key = %s""",
                [principal, key],
            )
            row = cursor.fetchone()
            if row is None:
                continue  # released between our INSERT and SELECT: try again
            row_id, stored_fp, state, status, headers, body, locked_until, expires_at = row
            if expires_at <= now:
                cursor.execute(f"DELETE FROM {_TABLE} WHERE id = %s AND expires_at <= %s", [row_id, now])
                continue
            if stored_fp != fingerprint:
                return error_response(
                    "idempotency_key_mismatch",
                    "This Idempotency-Key was already used with a different request. Use a new key for a new request.",
                    422,
                    {"header": HEADER},
                )
            if state == IdempotencyKey.State.COMPLETED:
                if isinstance(headers, str):
                    headers = json.loads(headers)
                return _Stored(status=status, headers=headers or {}, body=bytes(body or b""))
            if locked_until > now:
                return error_response(
                    "idempotency_request_in_progress",
                    "A request with this Idempotency-Key is still being processed. Retry shortly to get its result.",
                    409,
                    {"header": HEADER},
                    headers={"Retry-After": "1"},
                )
            # The first attempt's worker died without finishing: take the claim over.
            cursor.execute(
                f"""UPDATE {_TABLE} SET locked_until = %s
                    WHERE id = %s AND state = 'in_flight' AND locked_until <= %s RETURNING id""",
                [now + lock, row_id, now],
            )
            if cursor.fetchone():
                return _Claim(row_id)
    return error_response(
        "idempotency_request_in_progress",
        "A request with this Idempotency-Key is still being processed. Retry shortly.",
        409,
        {"header": HEADER},
        headers={"Retry-After": "1"},
    )


def _run_claimed(
    claim: _Claim,
    request: HttpRequest,
    view_func: Callable[..., HttpResponse],
    view_args: tuple[Any, ...],
    view_kwargs: dict[str, Any],
) -> HttpResponse:
    stored = False
    try:
        with transaction.atomic():
            with audit_batch():  # the request's audit entries: one INSERT, in this transaction
                response = view_func(request, *view_args, **view_kwargs)
                if hasattr(response, "render") and callable(response.render):
                    response = response.render()
            if 200 <= response.status_code < 300 and not connection.needs_rollback:
                _store(claim.row_id, response)
                stored = True
            elif response.status_code >= 400:
                # A failed request leaves no partial effect behind.
                transaction.set_rollback(True)
    except BaseException:
        _release(claim.row_id)
        raise
    if not stored:
        # Only client errors are stored here; a 2xx whose transaction was rolled back is not.
        if 400 <= response.status_code < 500 and response.status_code not in _NOT_STORED_STATUSES:
            _store(claim.row_id, response)
        else:
            _release(claim.row_id)
    return response


def _store(row_id: int, response: HttpResponse) -> None:
    headers = {name: response[name] for name in _STORED_HEADERS if response.has_header(name)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {_TABLE} SET state = 'completed', response_status = %s,
                    response_headers = %s, response_body = %s
                WHERE id = %s""",
            [response.status_code, json.dumps(headers), response.content, row_id],
        )


def _release(row_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_TABLE} WHERE id = %s AND state = 'in_flight'", [row_id])
