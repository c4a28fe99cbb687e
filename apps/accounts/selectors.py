import uuid

from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import ApiKey, AuthSession, User, UserKind


def auth_session_list_active(*, user: User) -> QuerySet[AuthSession]:
    return AuthSession.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())


def auth_session_list(*, user: User) -> QuerySet[AuthSession]:
    """Every session of the user, active or not (the sessions list filters them)."""
    return AuthSession.objects.filter(user=user)


def auth_session_get_for_user(*, user: User, session_id: str) -> AuthSession | None:
    try:
        key = uuid.UUID(str(session_id))
    except ValueError:
        return None
    return auth_session_list_active(user=user).filter(pk=key).first()


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.all()


def api_key_get(*, key_id: int) -> ApiKey | None:
    return ApiKey.objects.filter(pk=key_id).first()


def customer_get(*, user_id: int) -> User | None:
    return User.objects.filter(pk=user_id).exclude(kind=UserKind.STAFF).first()
