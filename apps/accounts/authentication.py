"""API authentication: `Authorization: Bearer <access token>` for people (valid on its own tenant
while its session lives) and `Authorization: ApiKey <key>` (or `X-API-Key`) for partners."""

from __future__ import annotations

import hmac
import re
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.errors import TokenRejected
from apps.accounts.models import ApiKey, AuthSession, User
from apps.core import sqlcache


def _cached(request: Request, credential: bytes | str) -> tuple | None:
    """Authentication runs once per request: the idempotency middleware and the view both ask, and
    the session (or key) row is read once (the result is kept on the Django request, by credential)."""
    hit = getattr(getattr(request, "_request", request), "_fnb_authenticated", None)
    return hit[1] if hit is not None and hit[0] == credential else None


def _remember(request: Request, credential: bytes | str, result: tuple) -> tuple:
    getattr(request, "_request", request)._fnb_authenticated = (credential, result)
    return result


# Access tokens this process has verified: the raw token -> (expiry, tenant schema, session id).
# A client sends the same token on every request for its lifetime (15 minutes), so its signature
# and claims are checked once per process, not per request; the expiry is still checked on every
# use, and the session row (revocation) is still read on every request.
_VERIFIED: dict[str, tuple[float, str, object]] = {}
_VERIFIED_MAX = 10_000


def _verified_claims(raw: str) -> tuple[str, object]:
    """(tenant, session id) of a valid access token; TokenError when it is not valid (any more)."""
    now = time.time()
    hit = _VERIFIED.get(raw)
    if hit is not None:
        if hit[0] > now:
            return hit[1], hit[2]
        _VERIFIED.pop(raw, None)
        raise TokenError("Token is expired")
    token = AccessToken(raw)  # signature, token type, expiry
    claims = (token.get("tenant"), token.get("sid"))
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    leeway = token.get_token_backend().get_leeway().total_seconds()
    _VERIFIED[raw] = (float(token["exp"]) + leeway, *claims)  # valid while now < exp + leeway, as simplejwt
    return claims


def _session_by_id(session_id: uuid.UUID) -> QuerySet[AuthSession]:
    return AuthSession.objects.select_related("user").filter(pk=session_id)


def _key_by_prefix(prefix: str) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(prefix=prefix)


class SessionTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, AuthSession] | None:
        header = get_authorization_header(request)
        parts = header.split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if (hit := _cached(request, header)) is not None:
            return hit
        if len(parts) != 2:
            raise TokenRejected("The Authorization header must be 'Bearer <token>'.", "token_invalid")
        try:
            tenant, session_id = _verified_claims(parts[1].decode())
        except (TokenError, UnicodeDecodeError) as exc:
            raise TokenRejected("The access token is invalid or expired.", "token_invalid") from exc
        if tenant != connection.schema_name:
            # Signed by us, but for another business: never valid here.
            raise TokenRejected("The access token is invalid or expired.", "token_invalid")
        try:
            session_id = uuid.UUID(str(session_id))  # the key's own type: the statement is then reused
        except ValueError as exc:
            raise TokenRejected("The access token is invalid or expired.", "token_invalid") from exc
        session = sqlcache.first_of("auth.session", _session_by_id, session_id)
        if session is None or not session.is_usable:
            raise TokenRejected("This session has ended. Sign in again.", "session_revoked")
        now = timezone.now()
        if now - session.last_used_at > timedelta(seconds=settings.AUTH_SESSION_TOUCH_SECONDS):
            AuthSession.objects.filter(pk=session.pk).update(last_used_at=now)
        return _remember(request, header, (session.user, session))

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


_KEY_FORMAT = re.compile(r"^fnb_([0-9a-f]{12})_[A-Za-z0-9_-]{20,64}$")


class PartnerUser:
    """The `request.user` of a call made with a partner API key (not a person)."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    is_anonymous = False
    kind = "api_key"
    pk = id = None

    def __init__(self, key: ApiKey) -> None:
        self.api_key = key

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"

    def get_username(self) -> str:
        return str(self)


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[PartnerUser, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if parts and parts[0].lower() == b"apikey" and len(parts) == 2:
            plain = parts[1].decode(errors="replace")
        elif request.META.get("HTTP_X_API_KEY"):
            plain = request.META["HTTP_X_API_KEY"]
        else:
            return None
        if (hit := _cached(request, plain)) is not None:
            getattr(request, "_request", request).api_key = hit[1]
            return hit
        from apps.accounts.services import api_key_hash

        match = _KEY_FORMAT.match(plain)
        key = sqlcache.first_of("auth.api_key", _key_by_prefix, match.group(1)) if match else None
        if key is None or not hmac.compare_digest(key.key_hash, api_key_hash(plain)):
            raise TokenRejected("The API key is invalid.", "api_key_invalid")
        if not key.is_active:
            raise TokenRejected("The API key was revoked or has expired.", "api_key_inactive")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > timedelta(seconds=settings.AUTH_SESSION_TOUCH_SECONDS):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        request._request.api_key = key
        return _remember(request, plain, (PartnerUser(key), key))

    def authenticate_header(self, request: Request) -> str:
        return 'ApiKey realm="api"'
