"""Sign-up, sign-in and token sessions. Every write of the accounts app goes through here."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.errors import AccountLocked, EmailTaken, InvalidCredentials, TokenRejected
from apps.accounts.models import AuthSession, User, UserKind
from apps.accounts.tokens import TokenPair, token_pair_issue
from apps.core.errors import InvalidInput


def _refresh_lifetime() -> timedelta:
    return settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]


@transaction.atomic
def session_start(*, user: User, device_name: str = "") -> TokenPair:
    """Open a session for one device and issue its first token pair."""
    now = timezone.now()
    session = AuthSession(
        user=user,
        session_type=user.kind,
        device_name=device_name[:120],
        created_at=now,
        last_used_at=now,
        expires_at=now + _refresh_lifetime(),
        refresh_jti="",
    )
    pair = token_pair_issue(user_id=user.pk, session_id=str(session.id), session_type=session.session_type)
    session.refresh_jti = pair.refresh_jti
    session.save()
    return pair


def session_refresh(*, raw_refresh: str) -> TokenPair:
    """Rotate: the presented refresh token is spent, a new pair is issued.

    Presenting a refresh token that was already rotated away means it leaked (or a client bug):
    the whole session is revoked, so the thief's copy dies with it.
    """
    try:
        token = RefreshToken(raw_refresh)
    except TokenError as exc:
        raise TokenRejected("The refresh token is invalid or expired.", "token_invalid") from exc
    if token.get("tenant") != connection.schema_name:
        raise TokenRejected("The refresh token is invalid or expired.", "token_invalid")
    revoked = False
    with transaction.atomic():
        session = AuthSession.objects.select_for_update().select_related("user").filter(pk=token.get("sid")).first()
        if session is None or not session.is_active or not session.user.is_active:
            raise TokenRejected("This session has ended. Sign in again.", "session_revoked")
        if token.get("jti") != session.refresh_jti:
            session.revoked_at = timezone.now()
            session.revoked_reason = "refresh_token_reused"
            session.save(update_fields=["revoked_at", "revoked_reason"])
            revoked = True
        else:
            pair = token_pair_issue(
                user_id=session.user_id, session_id=str(session.id), session_type=session.session_type
            )
            now = timezone.now()
            session.refresh_jti = pair.refresh_jti
            session.last_used_at = now
            session.expires_at = now + _refresh_lifetime()
            session.save(update_fields=["refresh_jti", "last_used_at", "expires_at"])
    if revoked:  # outside the block, so the revocation is committed before we answer
        raise TokenRejected(
            "This refresh token was already used; the session was ended for safety. Sign in again.",
            "refresh_token_reused",
        )
    return pair


def session_revoke(*, session: AuthSession, reason: str = "logout") -> None:
    AuthSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason[:64]
    )


def sessions_revoke_all(*, user: User, reason: str = "logout_all") -> int:
    return AuthSession.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason[:64]
    )


def user_sign_in(*, request: HttpRequest | None, email: str, password: str, device_name: str = "") -> TokenPair:
    user = authenticate(request, username=email.strip().lower(), password=password)
    if user is None:
        if request is not None and getattr(request, "login_locked", False):
            raise AccountLocked(details={"retry_after": settings.LOGIN_LOCKOUT_SECONDS})
        raise InvalidCredentials()
    if user.kind == UserKind.GUEST:
        raise InvalidCredentials()
    return session_start(user=user, device_name=device_name)


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(
            "The password is too weak.", code="validation_error", details={"password": exc.messages}
        ) from exc


@transaction.atomic
def retail_user_register(
    *,
    email: str,
    password: str,
    full_name: str = "",
    phone: str = "",
    birthday: date | None = None,
    marketing_consent: bool = False,
    device_name: str = "",
) -> tuple[User, TokenPair]:
    email = email.strip().lower()
    user = User(
        kind=UserKind.RETAIL,
        email=email,
        full_name=full_name,
        phone=phone,
        birthday=birthday,
        marketing_consent=marketing_consent,
    )
    _check_password(password, user)
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken(details={"email": ["Already registered."]})
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration with the same address
        raise EmailTaken(details={"email": ["Already registered."]}) from exc
    return user, session_start(user=user, device_name=device_name)


@transaction.atomic
def guest_start(*, device_id: str, device_name: str = "") -> tuple[User, TokenPair]:
    """A guest session for a device, without credentials. The same device gets the same guest."""
    user, _ = User.objects.get_or_create(device_id=device_id, kind=UserKind.GUEST, defaults={"email": None})
    user.set_unusable_password()
    return user, session_start(user=user, device_name=device_name)


@transaction.atomic
def guest_upgrade(
    *, user: User, email: str, password: str, full_name: str = "", device_name: str = ""
) -> tuple[User, TokenPair]:
    """Turn a guest into a retail customer in place: same row, so all it owns stays its own."""
    if user.kind != UserKind.GUEST:
        raise InvalidInput("Only a guest session can be upgraded.", code="not_a_guest")
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise EmailTaken(details={"email": ["Already registered."]})
    user.kind = UserKind.RETAIL
    user.email = email
    user.full_name = full_name or user.full_name
    user.device_id = None
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["kind", "email", "full_name", "device_id", "password"])
    sessions_revoke_all(user=user, reason="guest_upgraded")
    return user, session_start(user=user, device_name=device_name)


def user_profile_update(*, user: User, **fields: object) -> User:
    allowed = {"full_name", "phone", "birthday", "marketing_consent"}
    changed = [name for name in fields if name in allowed]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        user.full_clean(exclude=["password"])
        user.save(update_fields=changed)
    return user
