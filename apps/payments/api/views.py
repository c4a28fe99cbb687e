"""Payments API: start paying an order, Stripe's webhook, refunds."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.policy import PUBLIC, Access
from apps.core.api.views import get_or_404
from apps.orders.api.views import visible_orders
from apps.payments import services
from apps.payments.api import serializers as s


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
