"""Sign-up, sign-in, tokens and sessions of the three customer session types and staff."""

from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.api import serializers as s
from apps.accounts.api.filters import ApiKeyFilter, SessionFilter
from apps.accounts.models import ApiKey, AuthSession
from apps.accounts.permissions import HasTokenSession
from apps.accounts.policy import ALL_STAFF, CUSTOMERS, GUESTS, OWNERS, PUBLIC, SIGNED_IN, Access, PolicyPermission
from apps.core.api.views import paginated
from apps.core.errors import NotFound
from apps.core.throttling import AuthEndpointThrottle, PrincipalPlanThrottle, TenantPlanThrottle

_AUTH_THROTTLES = [AuthEndpointThrottle, PrincipalPlanThrottle, TenantPlanThrottle]


class _CredentialEndpoint(APIView):
    """Sign-up/in/refresh: no caller authentication, a stricter rate limit, and 401 (with a
    Bearer challenge) rather than 403 when a presented token is rejected."""

    access_policy = PUBLIC
    authentication_classes: list = []
    throttle_classes = _AUTH_THROTTLES
    idempotency_exempt = True  # responses carry tokens: never stored for replay

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def _public_tokens(pair) -> dict:  # noqa: ANN001
    """The pair as the client gets it (the refresh token's id stays on the server)."""
    return {k: v for k, v in asdict(pair).items() if k != "refresh_jti"}


def _signed_in(user, pair, status_code=status.HTTP_200_OK) -> Response:  # noqa: ANN001
    tokens = _public_tokens(pair)
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
        description="E-mail and password for a new device session. Repeated failures lock the address "
        "for a while (`account_locked`, with `Retry-After`); wrong credentials answer `invalid_credentials`.",
        request=s.SignInSerializer,
        responses={200: s.SignedInSerializer},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = s.SignInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.user_sign_in(request=request._request, **data.validated_data)
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
        return Response(_public_tokens(pair))


class GuestStartView(_CredentialEndpoint):
    @extend_schema(
        operation_id="auth_guest_start",
        summary="Start an anonymous guest session",
        description="No credentials: a device-bound guest that can browse and order, and later "
        "upgrade to a retail account keeping what it owns. Each call makes a new guest: keep its refresh "
        "token to stay the same guest.",
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
    access_policy = GUESTS
    idempotency_exempt = True  # the response carries tokens: never stored for replay

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
    access_policy = SIGNED_IN
    permission_classes = [PolicyPermission, HasTokenSession]

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
    access_policy = SIGNED_IN

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


class SessionListView(GenericAPIView):
    list_view = True  # GET answers a page
    queryset = AuthSession.objects.none()  # the schema's filter parameter types
    access_policy = SIGNED_IN
    permission_classes = [PolicyPermission, HasTokenSession]
    serializer_class = s.AuthSessionSerializer
    filterset_class = SessionFilter
    search_fields = ["device_name"]
    ordering_fields = ["last_used_at", "created_at", "expires_at"]
    ordering = ["-last_used_at", "id"]

    @extend_schema(
        operation_id="auth_sessions_list",
        summary="My sessions",
        description="Devices signed in to this account (device name, last used), a page at a time; "
        "`current` marks this one. Only the caller's own sessions. Filters: `state` (active, the "
        "default; revoked; expired; all), `session_type`, `created_from`, `created_to`; `search=` the "
        "device name; `ordering=last_used_at|created_at|expires_at` (`-` for descending).",
        tags=["auth"],
    )
    def get(self, request: Request) -> Response:
        sessions = self.filter_queryset(selectors.auth_session_list(user=request.user))
        page = self.paginate_queryset(sessions)
        context = {"current_session_id": request.auth.pk}
        return self.get_paginated_response(s.AuthSessionSerializer(page, many=True, context=context).data)


class SessionDetailView(APIView):
    access_policy = SIGNED_IN
    permission_classes = [PolicyPermission, HasTokenSession]

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
    access_policy = SIGNED_IN

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


ACCOUNT_HOLDERS = Access(retail=True, wholesale=True, staff_roles=ALL_STAFF)


class MeExportView(APIView):
    access_policy = SIGNED_IN

    @extend_schema(
        operation_id="me_export",
        summary="Export my data",
        description="Everything held about the signed-in person, as JSON.",
        responses={200: OpenApiTypes.OBJECT},
        tags=["me"],
    )
    def get(self, request: Request) -> Response:
        return Response(services.user_data_export(user=request.user))


class MeDeleteView(APIView):
    access_policy = CUSTOMERS

    @extend_schema(
        operation_id="me_delete",
        summary="Delete my account",
        description="Anonymizes the account (name, e-mail, phone, birthday cleared; signed out everywhere) "
        "and keeps business records such as orders and ledgers intact.",
        request=None,
        responses={204: None},
        tags=["me"],
    )
    def post(self, request: Request) -> Response:
        services.user_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    access_policy = ACCOUNT_HOLDERS
    throttle_classes = _AUTH_THROTTLES

    @extend_schema(
        operation_id="auth_password_change",
        summary="Change my password",
        description="Needs the current password; every other session of the account ends.",
        request=s.PasswordChangeSerializer,
        responses={204: None},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = s.PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        keep = request.auth if isinstance(request.auth, AuthSession) else None
        services.password_change(user=request.user, keep_session=keep, **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(_CredentialEndpoint):
    @extend_schema(
        operation_id="auth_password_reset",
        summary="E-mail a password reset link",
        description="Always answers 202, whether or not the address has an account.",
        request=s.PasswordResetSerializer,
        responses={202: None},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = s.PasswordResetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(
            email=data.validated_data["email"], host=request.get_host(), scheme=request.scheme
        )
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(_CredentialEndpoint):
    @extend_schema(
        operation_id="auth_password_reset_confirm",
        summary="Set a new password from a reset link",
        description="`uid` and `token` come from the e-mailed link. Every session of the account ends.",
        request=s.PasswordResetConfirmSerializer,
        responses={204: None},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = s.PasswordResetConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WholesaleApplyView(_CredentialEndpoint):
    @extend_schema(
        operation_id="wholesale_apply",
        summary="Apply for a wholesale account",
        description="Creates the business account (waiting for staff approval) and its first buyer login, "
        "signed in on this device. Ordering opens once staff approve the account.",
        request=s.WholesaleApplicationSerializer,
        responses={201: s.SignedInSerializer},
        tags=["wholesale"],
    )
    def post(self, request: Request) -> Response:
        data = s.WholesaleApplicationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.wholesale_apply(**data.validated_data)
        return _signed_in(user, pair, status.HTTP_201_CREATED)


class WholesaleAccountView(APIView):
    access_policy = Access(wholesale=True)

    @extend_schema(
        operation_id="wholesale_account",
        summary="My business account",
        description="The buyer's business account and whether it is approved to order.",
        responses=s.WholesaleAccountSerializer,
        tags=["wholesale"],
    )
    def get(self, request: Request) -> Response:
        return Response(s.WholesaleAccountSerializer(request.user.wholesale_account).data)


class ApiKeyListView(GenericAPIView):
    list_view = True  # GET answers a page
    queryset = ApiKey.objects.none()  # the schema's filter parameter types
    access_policy = OWNERS
    idempotency_exempt = True  # the creation response carries the key: never stored for replay
    serializer_class = s.ApiKeySerializer
    filterset_class = ApiKeyFilter
    search_fields = ["name", "prefix"]
    ordering_fields = ["created_at", "last_used_at", "name"]
    ordering = ["-created_at", "-id"]

    @extend_schema(
        operation_id="api_keys_list",
        summary="Partner API keys",
        description="Keys of this business (never the keys themselves, only their prefixes), a page at a "
        "time; owners only. Filters: `state` (active, revoked, expired; default every key), `scope` "
        "(keys granted it), `created_from`, `created_to`; `search=` the name or prefix; "
        "`ordering=created_at|last_used_at|name` (`-` for descending).",
        tags=["api keys"],
    )
    def get(self, request: Request) -> Response:
        return paginated(self, selectors.api_key_list(), s.ApiKeySerializer)

    @extend_schema(
        operation_id="api_keys_create",
        summary="Create a partner API key",
        description="The response carries the key once; only its hash is stored.",
        request=s.ApiKeyCreateSerializer,
        responses={201: s.ApiKeyCreatedSerializer},
        tags=["api keys"],
    )
    def post(self, request: Request) -> Response:
        data = s.ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, plain = services.api_key_create(created_by=request.user, **data.validated_data)
        body = s.ApiKeySerializer(key).data | {"key": plain}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(APIView):
    access_policy = OWNERS

    @extend_schema(
        operation_id="api_keys_revoke",
        summary="Revoke a partner API key",
        description="Calls with it fail from the next request on.",
        request=None,
        responses={204: None},
        tags=["api keys"],
    )
    def delete(self, request: Request, key_id: int) -> Response:
        key = selectors.api_key_get(key_id=key_id)
        if key is None:
            raise NotFound("No such API key.")
        services.api_key_revoke(key=key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyCurrentView(APIView):
    access_policy = Access(any_api_key=True)

    @extend_schema(
        operation_id="api_keys_current",
        summary="The calling partner key",
        description="Lets a partner check its key: name, scopes, expiry.",
        responses=s.ApiKeySerializer,
        tags=["api keys"],
    )
    def get(self, request: Request) -> Response:
        return Response(s.ApiKeySerializer(request.auth).data)


class CustomerSessionsRevokeView(APIView):
    access_policy = Access(staff_roles=frozenset({"owner", "store_manager"}))

    @extend_schema(
        operation_id="customers_sessions_revoke",
        summary="Sign a customer out everywhere",
        description="Staff end all sessions of a customer (a lost phone, a compromised account).",
        request=None,
        responses={204: None},
        tags=["customers"],
    )
    def post(self, request: Request, user_id: int) -> Response:
        customer = selectors.customer_get(user_id=user_id)
        if customer is None:
            raise NotFound("No such customer.")
        services.sessions_revoke_all(user=customer, reason="revoked_by_staff")
        return Response(status=status.HTTP_204_NO_CONTENT)
