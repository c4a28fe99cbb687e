"""Sign-up, sign-in, tokens and sessions of the three customer session types and staff."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.api import serializers as s
from apps.accounts.permissions import HasTokenSession, IsGuestSession
from apps.core.errors import NotFound
from apps.core.throttling import AuthEndpointThrottle, PrincipalPlanThrottle, TenantPlanThrottle

_AUTH_THROTTLES = [TenantPlanThrottle, PrincipalPlanThrottle, AuthEndpointThrottle]


class _CredentialEndpoint(APIView):
    """Sign-up/in/refresh: no caller authentication, a stricter rate limit, and 401 (with a
    Bearer challenge) rather than 403 when a presented token is rejected."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = _AUTH_THROTTLES
    idempotency_exempt = True  # responses carry tokens: never stored for replay

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def _signed_in(user, pair, status_code=status.HTTP_200_OK) -> Response:  # noqa: ANN001
    tokens = {k: v for k, v in asdict(pair).items() if k != "refresh_jti"}
    return Response({"user": s.ProfileSerializer(user).data, "tokens": tokens}, status=status_code)


class RegisterView(_CredentialEndpoint):
    @extend_schema(
        operation_id="auth_register",
        summary="Register a retail customer",
        description="Creates a retail account and signs this device in. Rate limited per address.",
        request=s.RegisterSerializer,
        responses={201: s.SignedInSerializer},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = s.RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.retail_user_register(**data.validated_data)
        return _signed_in(user, pair, status.HTTP_201_CREATED)


class SignInView(_CredentialEndpoint):
    @extend_schema(
        operation_id="auth_sign_in",
        summary="Sign in (staff, retail, wholesale)",
        description="E-mail and password for a new device session. Five failures lock the address for "
        "15 minutes (`account_locked`); wrong credentials answer `invalid_credentials`.",
        request=s.SignInSerializer,
        responses={200: s.SignedInSerializer},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = s.SignInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.user_sign_in(request=request._request, **data.validated_data)
        user = selectors.user_get(session_id=pair.session_id)
        return _signed_in(user, pair)


class RefreshView(_CredentialEndpoint):
    @extend_schema(
        operation_id="auth_refresh",
        summary="Rotate the token pair",
        description="Spends the refresh token and returns a new pair. Re-using a spent refresh token "
        "ends the whole session (`refresh_token_reused`).",
        request=s.RefreshSerializer,
        responses={200: s.TokenPairSerializer},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = s.RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.session_refresh(raw_refresh=data.validated_data["refresh"])
        return Response({k: v for k, v in asdict(pair).items() if k != "refresh_jti"})


class GuestStartView(_CredentialEndpoint):
    @extend_schema(
        operation_id="auth_guest_start",
        summary="Start an anonymous guest session",
        description="No credentials: a device-bound guest that can browse and order, and later "
        "upgrade to a retail account keeping what it owns. The same `device_id` gets the same guest.",
        request=s.GuestStartSerializer,
        responses={201: s.SignedInSerializer},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = s.GuestStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.guest_start(**data.validated_data)
        return _signed_in(user, pair, status.HTTP_201_CREATED)


class GuestUpgradeView(APIView):
    permission_classes = [IsGuestSession]

    @extend_schema(
        operation_id="auth_guest_upgrade",
        summary="Upgrade this guest to a retail account",
        description="Same account row, so orders, points and everything else the guest owns stay its "
        "own. The guest's sessions end; a retail session is returned.",
        request=s.GuestUpgradeSerializer,
        responses={200: s.SignedInSerializer},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = s.GuestUpgradeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.guest_upgrade(user=request.user, **data.validated_data)
        return _signed_in(user, pair)


class SignOutView(APIView):
    permission_classes = [HasTokenSession]

    @extend_schema(
        operation_id="auth_sign_out",
        summary="Sign this device out",
        description="Ends the current session: its access and refresh tokens stop working at once.",
        request=None,
        responses={204: None},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        services.session_revoke(session=request.auth, reason="logout")
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignOutEverywhereView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_sign_out_everywhere",
        summary="Sign out on every device",
        description="Ends all of the caller's sessions, this one included.",
        request=None,
        responses={204: None},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        services.sessions_revoke_all(user=request.user, reason="logout_all")
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionListView(APIView):
    permission_classes = [HasTokenSession]

    @extend_schema(
        operation_id="auth_sessions_list",
        summary="My active sessions",
        description="Devices signed in to this account (device name, last used); `current` marks this one.",
        responses=s.AuthSessionSerializer(many=True),
        tags=["auth"],
    )
    def get(self, request: Request) -> Response:
        sessions = selectors.auth_session_list_active(user=request.user)
        context = {"current_session_id": request.auth.pk}
        return Response(s.AuthSessionSerializer(sessions, many=True, context=context).data)


class SessionDetailView(APIView):
    permission_classes = [HasTokenSession]

    @extend_schema(
        operation_id="auth_sessions_revoke",
        summary="Sign one of my devices out",
        description="Another customer's session answers 404, never its data.",
        request=None,
        responses={204: None},
        tags=["auth"],
    )
    def delete(self, request: Request, session_id: str) -> Response:
        session = selectors.auth_session_get_for_user(user=request.user, session_id=session_id)
        if session is None:
            raise NotFound("No such session.")
        services.session_revoke(session=session, reason="revoked_by_user")
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_get",
        summary="My profile",
        description="The signed-in user's profile, for every session type.",
        responses=s.ProfileSerializer,
        tags=["me"],
    )
    def get(self, request: Request) -> Response:
        return Response(s.ProfileSerializer(request.user).data)

    @extend_schema(
        operation_id="me_update",
        summary="Update my profile",
        description="Name, phone, birthday (used by loyalty) and marketing consent.",
        request=s.ProfileSerializer,
        responses=s.ProfileSerializer,
        tags=["me"],
    )
    def patch(self, request: Request) -> Response:
        data = s.ProfileSerializer(request.user, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_profile_update(user=request.user, **data.validated_data)
        return Response(s.ProfileSerializer(user).data)
