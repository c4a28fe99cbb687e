"""`Authorization: Bearer <access token>`: valid on its own tenant, while its session lives."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.errors import TokenRejected
from apps.accounts.models import AuthSession, User


class SessionTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, AuthSession] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise TokenRejected("The Authorization header must be 'Bearer <token>'.", "token_invalid")
        try:
            token = AccessToken(parts[1].decode())
        except (TokenError, UnicodeDecodeError) as exc:
            raise TokenRejected("The access token is invalid or expired.", "token_invalid") from exc
        if token.get("tenant") != connection.schema_name:
            # Signed by us, but for another business: never valid here.
            raise TokenRejected("The access token is invalid or expired.", "token_invalid")
        session = AuthSession.objects.select_related("user").filter(pk=token.get("sid")).first()
        if session is None or not session.is_active or not session.user.is_active:
            raise TokenRejected("This session has ended. Sign in again.", "session_revoked")
        now = timezone.now()
        if now - session.last_used_at > timedelta(seconds=settings.AUTH_SESSION_TOUCH_SECONDS):
            AuthSession.objects.filter(pk=session.pk).update(last_used_at=now)
        return session.user, session

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
