from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.accounts.models import AuthSession


def session_type(request: Request) -> str | None:
    """The caller's session type: from its token, or 'staff' for an admin browser session."""
    if isinstance(request.auth, AuthSession):
        return request.auth.session_type
    user = request.user
    if user is not None and user.is_authenticated:
        return user.kind
    return None


class IsGuestSession(BasePermission):
    message = "Only a guest session can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return session_type(request) == "guest"


class HasTokenSession(BasePermission):
    """Token-authenticated callers (the apps); sessions listing needs a session to point at."""

    message = "Sign in with a token to manage sessions."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, AuthSession)
