"""Sign-up, sign-in and token sessions. Every write of the accounts app goes through here."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.errors import AccountLocked, EmailTaken, InvalidCredentials, TokenRejected
from apps.accounts.lockout import login_failure_record, login_failures_clear, login_is_locked
from apps.accounts.models import ApiKey, AuthSession, User, UserKind, WholesaleAccount
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
        if session is None or not session.is_usable:
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
    """End every token session and every browser (admin) session of the user."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    return AuthSession.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason[:64]
    )


def user_sign_in(
    *, request: HttpRequest | None, email: str, password: str, device_name: str = ""
) -> tuple[User, TokenPair]:
    user = authenticate(request, username=email.strip().lower(), password=password)
    if user is None:
        if request is not None and getattr(request, "login_locked", False):
            seconds = settings.LOGIN_LOCKOUT_SECONDS
            raise AccountLocked(details={"retry_after": seconds}, headers={"Retry-After": str(seconds)})
        raise InvalidCredentials(headers={"WWW-Authenticate": 'Bearer realm="api"'})
    if user.kind == UserKind.GUEST:
        raise InvalidCredentials()
    return user, session_start(user=user, device_name=device_name)


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
    referral_token: str = "",
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
    from apps.loyalty.services import customer_registered  # the points account, and a referral's link

    customer_registered(user=user, referral_token=referral_token)
    return user, session_start(user=user, device_name=device_name)


@transaction.atomic
def guest_start(*, device_id: str, device_name: str = "") -> tuple[User, TokenPair]:
    """A new guest for a device, without credentials. The device id is only a label: presenting it
    again does not return an existing guest (it is no secret); a guest keeps its session through
    its refresh token, 30 days from its last use."""
    user = User(kind=UserKind.GUEST, email=None, device_id=None, full_name="")
    user.set_unusable_password()
    user.save()
    return user, session_start(user=user, device_name=device_name)


@transaction.atomic
def guest_upgrade(
    *, user: User, email: str, password: str, full_name: str = "", device_name: str = "", referral_token: str = ""
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
    try:
        with transaction.atomic():
            user.save(update_fields=["kind", "email", "full_name", "device_id", "password"])
    except IntegrityError as exc:
        raise EmailTaken(details={"email": ["Already registered."]}) from exc
    from apps.loyalty.services import guest_upgraded  # an account; the guest's paid orders now earn

    guest_upgraded(user=user, referral_token=referral_token)
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


def api_key_create(
    *,
    name: str,
    scopes: list[str],
    created_by: User | None = None,
    expires_at: datetime | None = None,
    rate_limit: str = "",
) -> tuple[ApiKey, str]:
    """Create a partner key. Returns the row and the plain key, which is never stored or shown again."""
    from apps.accounts.policy import API_KEY_SCOPES
    from apps.core.throttling import parse_rate

    unknown = sorted(set(scopes) - set(API_KEY_SCOPES))
    if unknown or not scopes:
        raise InvalidInput(
            "Unknown or missing scopes.",
            code="validation_error",
            details={"scopes": [f"Choose from {', '.join(API_KEY_SCOPES)}."] + [f"Unknown: {s}" for s in unknown]},
        )
    if rate_limit:
        try:
            parse_rate(rate_limit)
        except ValueError as exc:
            raise InvalidInput(str(exc), code="validation_error", details={"rate_limit": [str(exc)]}) from exc
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(
            "The expiry must be in the future.",
            code="validation_error",
            details={"expires_at": ["Must be in the future."]},
        )
    prefix = secrets.token_hex(6)
    plain = f"fnb_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=api_key_hash(plain),
        scopes=sorted(set(scopes)),
        created_by=created_by,
        expires_at=expires_at,
        rate_limit=rate_limit,
    )
    return key, plain


def api_key_hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


@transaction.atomic
def wholesale_apply(
    *,
    business_name: str,
    tax_id: str,
    billing_address: str,
    email: str,
    password: str,
    full_name: str = "",
    device_name: str = "",
) -> tuple[User, TokenPair]:
    """A business applies: its account waits for staff approval; its first buyer can sign in now
    (and see the application) but cannot order until then."""
    email = email.strip().lower()
    buyer = User(kind=UserKind.WHOLESALE, email=email, full_name=full_name)
    _check_password(password, buyer)
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken(details={"email": ["Already registered."]})
    account = WholesaleAccount.objects.create(name=business_name, tax_id=tax_id, billing_address=billing_address)
    buyer.wholesale_account = account
    buyer.set_password(password)
    try:
        with transaction.atomic():
            buyer.save()
    except IntegrityError as exc:  # a concurrent application with the same address
        raise EmailTaken(details={"email": ["Already registered."]}) from exc
    return buyer, session_start(user=buyer, device_name=device_name)


def wholesale_account_approve(*, account: WholesaleAccount, price_list_group: str = "") -> WholesaleAccount:
    account.is_approved = True
    account.approved_at = timezone.now()
    fields = ["is_approved", "approved_at"]
    if price_list_group:
        account.price_list_group = price_list_group
        fields.append("price_list_group")
    account.save(update_fields=fields)
    return account


@transaction.atomic
def password_change(*, user: User, current_password: str, new_password: str, keep_session: AuthSession | None) -> None:
    """Change the password and end every other session (a stolen device loses access)."""
    if login_is_locked(user.email or ""):
        raise AccountLocked(
            details={"retry_after": settings.LOGIN_LOCKOUT_SECONDS},
            headers={"Retry-After": str(settings.LOGIN_LOCKOUT_SECONDS)},
        )
    if not user.check_password(current_password):
        login_failure_record(user.email or "")
        raise InvalidInput(
            "The current password is wrong.", code="wrong_password", details={"current_password": ["Wrong password."]}
        )
    _check_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    others = AuthSession.objects.filter(user=user, revoked_at__isnull=True)
    if keep_session is not None:
        others = others.exclude(pk=keep_session.pk)
    others.update(revoked_at=timezone.now(), revoked_reason="password_changed")


def password_reset_request(*, email: str, host: str, scheme: str = "https") -> None:
    """E-mail a reset link if the address belongs to a signed-up user. Silent otherwise, so the
    endpoint does not reveal who has an account."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).exclude(kind=UserKind.GUEST).first()
    if user is None or not user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = f"{scheme}://{host}/reset-password?uid={uid}&token={token}"
    from apps.accounts.tasks import password_reset_email_send_task

    transaction.on_commit(lambda: password_reset_email_send_task.delay(user.pk, link))


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> None:
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uid))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist) as exc:
        raise InvalidInput("The reset link is invalid or has expired.", code="reset_link_invalid") from exc
    if not default_token_generator.check_token(user, token):
        raise InvalidInput("The reset link is invalid or has expired.", code="reset_link_invalid")
    _check_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    sessions_revoke_all(user=user, reason="password_reset")
    login_failures_clear(user.email or "")


def user_data_export(*, user: User) -> dict:
    """Everything we hold about the person, as JSON (other apps add their sections as they land)."""
    return {
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "id": user.pk,
            "kind": user.kind,
            "email": user.email,
            "full_name": user.full_name,
            "phone": user.phone,
            "birthday": user.birthday.isoformat() if user.birthday else None,
            "marketing_consent": user.marketing_consent,
            "date_joined": user.date_joined.isoformat(),
        },
        "wholesale_account": (
            {"name": user.wholesale_account.name, "tax_id": user.wholesale_account.tax_id}
            if user.wholesale_account_id
            else None
        ),
        "sessions": [
            {
                "device_name": s.device_name,
                "session_type": s.session_type,
                "created_at": s.created_at.isoformat(),
                "last_used_at": s.last_used_at.isoformat(),
                "revoked_at": s.revoked_at.isoformat() if s.revoked_at else None,
            }
            for s in user.auth_sessions.order_by("created_at")
        ],
    }


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete an account by anonymizing it: personal fields are cleared, the row stays so orders,
    ledgers and points keep pointing at it."""
    sessions_revoke_all(user=user, reason="account_deleted")
    from auditlog.models import LogEntry

    # Even masked, the old entries describe the person: keep that they happened, not what they held.
    LogEntry.objects.get_for_object(user).update(
        changes=None, changes_text="", serialized_data=None, object_repr=f"deleted user {user.pk}"
    )
    user.email = None
    user.full_name = ""
    user.phone = ""
    user.birthday = None
    user.marketing_consent = False
    user.device_id = None
    user.is_active = False
    user.set_unusable_password()
    user.save(
        update_fields=[
            "email",
            "full_name",
            "phone",
            "birthday",
            "marketing_consent",
            "device_id",
            "is_active",
            "password",
        ]
    )
