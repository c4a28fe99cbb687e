"""Payments API: start paying an order, Stripe's webhook, refunds; invoices of orders on account."""

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.policy import PUBLIC, Access, principal_of
from apps.core.api.views import get_or_404, paginated
from apps.orders.api.views import visible_orders
from apps.payments import invoices, services
from apps.payments.api import serializers as s
from apps.payments.models import Invoice


class RawBodyParser(BaseParser):
    """The webhook's signature covers the exact bytes: keep them as they came."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:  # noqa: ANN001
        return stream.read()


class OrderPaymentView(GenericAPIView):
    access_policy = Access(guest=True, retail=True, wholesale=True)
    serializer_class = s.PaymentSerializer

    @extend_schema(
        operation_id="orders_payment_start",
        summary="Pay for my order",
        description="Creates (once) the order's Stripe PaymentIntent and returns its client secret; "
        "calling again returns the same intent. The order becomes paid when Stripe's webhook "
        "confirms it.",
        request=None,
        responses=s.PaymentSerializer,
        tags=["payments"],
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = get_or_404(visible_orders(request), "No such order.", pk=order_id)
        return Response(s.PaymentSerializer(services.payment_start(order=order)).data)


class OrderRefundView(GenericAPIView):
    access_policy = Access(staff_roles=frozenset({"owner"}))
    serializer_class = s.RefundInputSerializer

    @extend_schema(
        operation_id="orders_refund",
        summary="Refund (part of) an order",
        description="Through Stripe, with its own idempotency key; never more than was paid. A full "
        "refund marks the order refunded.",
        responses={201: s.RefundSerializer},
        tags=["payments"],
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = get_or_404(visible_orders(request), "No such order.", pk=order_id)
        data = s.RefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund = services.refund_create(order=order, **data.validated_data)
        return Response(s.RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class StripeWebhookView(GenericAPIView):
    access_policy = PUBLIC
    authentication_classes: list = []
    throttle_classes: list = []  # Stripe retries; its signature is the gate
    parser_classes = [RawBodyParser]
    idempotency_exempt = True
    serializer_class = s.WebhookResultSerializer

    @extend_schema(
        operation_id="payments_stripe_webhook",
        summary="Stripe webhook",
        description="Verified by the `Stripe-Signature` header (DJSTRIPE_WEBHOOK_SECRET). Each event "
        "is applied once: `payment_intent.succeeded` makes the order paid.",
        request={"application/json": OpenApiTypes.OBJECT},
        responses=s.WebhookResultSerializer,
        tags=["payments"],
    )
    def post(self, request: Request) -> Response:
        outcome = services.webhook_handle(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
        return Response({"outcome": outcome})


# ---------------------------------------------------------------------------------------------
# Invoices of orders on account (wholesale credit terms)

INVOICE_READERS = Access(wholesale=True, staff_roles=frozenset({"owner", "store_manager"}))
INVOICE_RECORDERS = Access(staff_roles=frozenset({"owner"}))


def visible_invoices(request: Request) -> QuerySet[Invoice]:
    """Staff: every invoice (store managers: those of their locations' orders, as they see the
    orders). A wholesale buyer: their business account's only."""
    found = Invoice.objects.select_related("account", "order")
    principal = principal_of(request)
    if principal.kind == "staff":
        if not principal.roles & {"owner", "warehouse"}:
            found = found.filter(order__location__managers=request.user)
        return found
    account_id = getattr(request.user, "wholesale_account_id", None)
    return found.filter(account_id=account_id) if account_id else found.none()


class InvoiceFilter(filters.FilterSet):
    account = filters.NumberFilter(field_name="account_id")
    due_from = filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_to = filters.DateFilter(field_name="due_date", lookup_expr="lte")
    issued_from = filters.IsoDateTimeFilter(field_name="issued_at", lookup_expr="gte")
    issued_to = filters.IsoDateTimeFilter(field_name="issued_at", lookup_expr="lt")

    class Meta:
        model = Invoice
        fields = ["status", "account", "due_from", "due_to", "issued_from", "issued_to"]


class InvoiceListView(GenericAPIView):
    list_view = True
    queryset = Invoice.objects.none()
    access_policy = INVOICE_READERS
    serializer_class = s.InvoiceSerializer
    filterset_class = InvoiceFilter
    ordering_fields = ["issued_at", "due_date", "amount"]
    ordering = ["-issued_at"]

    @extend_schema(
        operation_id="invoices_list",
        summary="Invoices",
        description="Invoices of orders on account. A wholesale buyer sees their business's; the owner all, "
        "a store manager those of their locations' orders; staff filter by `status` (open, paid, overdue, "
        "void), `account`, due date (`due_from`, `due_to`) and issue time (`issued_from`, `issued_to`).",
        tags=["wholesale"],
    )
    def get(self, request: Request) -> Response:
        return paginated(self, visible_invoices(request), s.InvoiceSerializer)


class InvoiceDetailView(GenericAPIView):
    access_policy = INVOICE_READERS
    serializer_class = s.InvoiceDetailSerializer

    @extend_schema(
        operation_id="invoices_get",
        summary="An invoice",
        description="With the payments recorded against it and its credit notes (returns and a refund of "
        "the order). Another business's invoice is a 404.",
        tags=["wholesale"],
    )
    def get(self, request: Request, invoice_id: int) -> Response:
        invoice = get_or_404(
            visible_invoices(request).prefetch_related("payments__recorded_by", "credits"),
            "No such invoice.",
            pk=invoice_id,
        )
        return Response(s.InvoiceDetailSerializer(invoice).data)


class InvoicePaymentView(GenericAPIView):
    access_policy = INVOICE_RECORDERS
    serializer_class = s.InvoicePaymentInputSerializer

    @extend_schema(
        operation_id="invoices_payment_record",
        summary="Record a payment against an invoice",
        description="Staff (owner) record money received: bank transfer, cheque, cash, card terminal. "
        "Partial payments add up; the payment that settles the invoice marks it paid, lowers the "
        "account's open balance and, when no invoice of the account is overdue any more, lifts its "
        "credit hold. More than the invoice still owes answers 409 `overpayment` "
        "(`details.amount_due`); a paid or void invoice 409 `invoice_payment_not_possible`.",
        responses={201: s.InvoicePaymentRecordedSerializer},
        tags=["wholesale"],
    )
    def post(self, request: Request, invoice_id: int) -> Response:
        invoice = get_or_404(visible_invoices(request), "No such invoice.", pk=invoice_id)
        data = s.InvoicePaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = invoices.invoice_payment_record(invoice=invoice, recorded_by=request.user, **data.validated_data)
        return Response(
            s.InvoicePaymentRecordedSerializer({"payment": payment, "invoice": invoice}).data,
            status=status.HTTP_201_CREATED,
        )
