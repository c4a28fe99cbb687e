"""Wholesale credit terms: what a business may still order on account, and what it owes."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api import serializers as s
from apps.accounts.credit import credit_summary
from apps.accounts.models import WholesaleAccount
from apps.accounts.policy import Access
from apps.core.api.views import get_or_404
from apps.core.errors import NotFound


class MyCreditView(APIView):
    access_policy = Access(wholesale=True)

    @extend_schema(
        operation_id="wholesale_credit",
        summary="My business's credit",
        description="Credit limit, payment terms, open balance, available credit, credit hold and the "
        "unpaid invoices' counts. Only the buyer's own business account.",
        responses=s.CreditSummarySerializer,
        tags=["wholesale"],
    )
    def get(self, request: Request) -> Response:
        account = request.user.wholesale_account
        if account is None:
            raise NotFound("No business account.")
        return Response(s.CreditSummarySerializer(credit_summary(account=account)).data)


class AccountCreditView(APIView):
    access_policy = Access(staff_roles=frozenset({"owner", "store_manager"}))

    @extend_schema(
        operation_id="wholesale_account_credit",
        summary="A business's credit",
        description="Staff: the credit summary of any wholesale account (limit and terms are set in the admin).",
        responses=s.CreditSummarySerializer,
        tags=["wholesale"],
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = get_or_404(WholesaleAccount.objects.all(), "No such business account.", pk=account_id)
        return Response(s.CreditSummarySerializer(credit_summary(account=account)).data)
