from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.accounts.models import AuthSession, UserKind


class HasTokenSession(BasePermission):
    """Token-authenticated callers (the apps): session management needs a session to point at."""

    message = "Sign in with a token to manage sessions."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, AuthSession)


class IsApprovedWholesaleBuyer(BasePermission):
    """The wholesale gate: only buyers of an account staff have approved may order."""

    message = "Your business account is waiting for approval."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        account = getattr(user, "wholesale_account", None)
        return getattr(user, "kind", None) == UserKind.WHOLESALE and account is not None and account.is_approved
