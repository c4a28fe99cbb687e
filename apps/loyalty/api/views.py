"""Loyalty API: a customer's own account, ledger, achievements, streak, referrals and redemption
quote; staff read any customer's account and adjust points with a reason."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.policy import Access
from apps.core.api.views import get_or_404, paginated
from apps.loyalty import selectors, services
from apps.loyalty.api import serializers as s
from apps.loyalty.models import Account, LedgerEntry, Referral

MEMBERS = Access(retail=True, wholesale=True)
STAFF_READERS = Access(staff_roles=frozenset({"owner", "store_manager"}))
STAFF_ADJUSTERS = Access(staff_roles=frozenset({"owner"}))
TAGS = ["loyalty"]


def _mine(request: Request) -> Account:
    return services.account_for_user_or_404(request.user)


def _staff_account(account_id: int) -> Account:
    return get_or_404(selectors.account_list(), "No such loyalty account.", pk=account_id)


def _filtered_ledger(request: Request, account: Account) -> QuerySet[LedgerEntry]:
    query = s.LedgerQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    entries = selectors.ledger_list(account=account)
    data = query.validated_data
    if data.get("kind"):
        entries = entries.filter(kind=data["kind"])
    if data.get("date_from"):
        entries = entries.filter(created_at__date__gte=data["date_from"])
    if data.get("date_to"):
        entries = entries.filter(created_at__date__lte=data["date_to"])
    return entries


LEDGER_PARAMETERS = [
    OpenApiParameter("kind", str, enum=[k for k, _ in LedgerEntry.Kind.choices]),
    OpenApiParameter("date_from", dt.date, description="Entries created on or after this date."),
    OpenApiParameter("date_to", dt.date, description="Entries created on or before this date."),
]


class MyAccountView(GenericAPIView):
    access_policy = MEMBERS
    serializer_class = s.AccountSerializer

    @extend_schema(
        operation_id="loyalty_account_get",
        summary="My points account",
        description="Balance, pending points, debt, tier with its benefits, progress to the next tier, "
        "the tier's anniversary and any warning that it would drop.",
        responses={200: s.AccountSerializer},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return Response(s.AccountSerializer(selectors.account_summary(_mine(request))).data)


class MyLedgerView(GenericAPIView):
    access_policy = MEMBERS
    list_view = True
    queryset = LedgerEntry.objects.none()  # the schema's filters and path types
    serializer_class = s.LedgerEntrySerializer

    @extend_schema(
        operation_id="loyalty_ledger_list",
        summary="My points history",
        description="The ledger, newest first; filter by `kind` and by `date_from` / `date_to`.",
        parameters=LEDGER_PARAMETERS,
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return paginated(self, _filtered_ledger(request, _mine(request)), s.LedgerEntrySerializer, filtered=False)


class MyAchievementsView(GenericAPIView):
    access_policy = MEMBERS
    serializer_class = s.AchievementsSerializer

    @extend_schema(
        operation_id="loyalty_achievements_get",
        summary="My achievements",
        description="Levels earned (with dates and points) and, for each of the twelve categories, the next "
        "level with its points and the customer's progress.",
        responses={200: s.AchievementsSerializer},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return Response(s.AchievementsSerializer(selectors.achievements_summary(_mine(request))).data)


class MyStreakView(GenericAPIView):
    access_policy = MEMBERS
    serializer_class = s.StreakSerializer

    @extend_schema(
        operation_id="loyalty_streak_get",
        summary="My weekly streak",
        description="Weeks in a row with a paid order (Monday to Sunday, tenant time): current, best, "
        "whether the grace (one missed week) is available, and whether this week is still at risk.",
        responses={200: s.StreakSerializer},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return Response(s.StreakSerializer(selectors.streak_summary(_mine(request))).data)


def _link(request: Request, account: Account) -> dict:
    return {
        "token": account.share_token,
        "link": f"{request.scheme}://{request.get_host()}/r/{account.share_token}",
        "created_at": account.share_token_created_at,
    }


class MyReferralLinkView(GenericAPIView):
    access_policy = MEMBERS
    serializer_class = s.ReferralLinkSerializer

    @extend_schema(
        operation_id="loyalty_referral_link_get",
        summary="My share link",
        description="Friends who register with this token (`referral_token`) are linked to you.",
        responses={200: s.ReferralLinkSerializer},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return Response(s.ReferralLinkSerializer(_link(request, _mine(request))).data)


class MyReferralLinkRotateView(GenericAPIView):
    access_policy = MEMBERS
    serializer_class = s.ReferralLinkSerializer

    @extend_schema(
        operation_id="loyalty_referral_link_rotate",
        summary="A new share link",
        description="Issues a new token; the old one stops working at once.",
        request=None,
        responses={201: s.ReferralLinkSerializer},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        account = services.share_token_rotate(account=_mine(request))
        return Response(s.ReferralLinkSerializer(_link(request, account)).data, status=status.HTTP_201_CREATED)


class MyReferralsView(GenericAPIView):
    access_policy = MEMBERS
    list_view = True
    queryset = Referral.objects.none()  # the schema's filters and path types
    serializer_class = s.ReferralSerializer

    @extend_schema(
        operation_id="loyalty_referrals_list",
        summary="My referrals",
        description="Friends who registered with my token: status (pending, rewarded, refused with the "
        "reason) and the friend's first name only.",
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return paginated(self, selectors.referral_list(account=_mine(request)), s.ReferralSerializer, filtered=False)


class RedeemQuoteView(GenericAPIView):
    access_policy = MEMBERS
    serializer_class = s.QuoteSerializer

    @extend_schema(
        operation_id="loyalty_redeem_quote",
        summary="What my points would pay",
        description="For `points` (default: the whole balance) and an optional `order_total`: the points "
        "that would be spent (the balance and the programme's cap per order) and their value.",
        parameters=[
            OpenApiParameter("points", int, description="Points to spend."),
            OpenApiParameter("order_total", str, description="The order total, e.g. 42.50."),
        ],
        responses={200: s.QuoteSerializer},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        query = s.QuoteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        quote = services.redemption_quote(
            account=_mine(request),
            points=query.validated_data.get("points"),
            order_total=query.validated_data.get("order_total"),
        )
        return Response(s.QuoteSerializer(quote).data)


class StaffAccountListView(GenericAPIView):
    access_policy = STAFF_READERS
    list_view = True
    queryset = Account.objects.none()  # the schema's filters and path types
    serializer_class = s.AccountRowSerializer
    search_fields = ["user__email", "user__full_name"]
    ordering_fields = ["balance", "id"]

    @extend_schema(
        operation_id="loyalty_accounts_list",
        summary="Customers' points accounts",
        description="Staff: every account; `search=` e-mail or name.",
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return paginated(self, selectors.account_list(), s.AccountRowSerializer)


class StaffAccountDetailView(GenericAPIView):
    access_policy = STAFF_READERS
    serializer_class = s.StaffAccountSerializer

    @extend_schema(
        operation_id="loyalty_accounts_get",
        summary="A customer's points account",
        responses={200: s.StaffAccountSerializer},
        tags=TAGS,
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = _staff_account(account_id)
        data = selectors.account_summary(account) | {
            "id": account.pk,
            "customer_id": account.user_id,
            "email": account.user.email,
        }
        return Response(s.StaffAccountSerializer(data).data)


class StaffAccountLedgerView(GenericAPIView):
    access_policy = STAFF_READERS
    list_view = True
    queryset = LedgerEntry.objects.none()  # the schema's filters and path types
    serializer_class = s.LedgerEntrySerializer

    @extend_schema(
        operation_id="loyalty_accounts_ledger",
        summary="A customer's points history",
        parameters=LEDGER_PARAMETERS,
        tags=TAGS,
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = _staff_account(account_id)
        return paginated(self, _filtered_ledger(request, account), s.LedgerEntrySerializer, filtered=False)


class StaffAdjustmentView(GenericAPIView):
    access_policy = STAFF_ADJUSTERS
    serializer_class = s.LedgerEntrySerializer

    @extend_schema(
        operation_id="loyalty_accounts_adjust",
        summary="Adjust a customer's points",
        description="Owners add (bonus) or remove (never below zero) points with a reason; the entry names "
        "who made it and the audit log keeps it.",
        request=s.PointsAdjustmentSerializer,
        responses={201: s.LedgerEntrySerializer},
        tags=TAGS,
    )
    def post(self, request: Request, account_id: int) -> Response:
        account = _staff_account(account_id)
        data = s.PointsAdjustmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.points_adjust(account=account, **data.validated_data)
        return Response(s.LedgerEntrySerializer(entry).data, status=status.HTTP_201_CREATED)
