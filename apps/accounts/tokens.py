"""JWTs (djangorestframework-simplejwt token classes) bound to a tenant and an AuthSession.

Claims: `user_id`, `sid` (the AuthSession), `tenant` (schema name), `typ` (session type),
plus simplejwt's `token_type`, `exp`, `iat`, `jti`. A token is only accepted on the tenant
that issued it and while its session is active.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from rest_framework_simplejwt.tokens import RefreshToken


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    session_id: str
    session_type: str
    refresh_jti: str


def token_pair_issue(*, user_id: int, session_id: str, session_type: str) -> TokenPair:
    from rest_framework_simplejwt.utils import datetime_from_epoch

    refresh = RefreshToken()
    refresh["user_id"] = user_id
    refresh["sid"] = session_id
    refresh["tenant"] = connection.schema_name
    refresh["typ"] = session_type
    access = refresh.access_token
    return TokenPair(
        access=str(access),
        refresh=str(refresh),
        access_expires_at=datetime_from_epoch(access["exp"]),
        refresh_expires_at=datetime_from_epoch(refresh["exp"]),
        session_id=session_id,
        session_type=session_type,
        refresh_jti=refresh["jti"],
    )
