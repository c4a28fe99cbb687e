"""Stripe, exactly once. The official library talks to Stripe (or the local stand-in, by
STRIPE_API_BASE); dj-stripe mirrors the PaymentIntents; our rows make every step repeatable:

* **One PaymentIntent per order.** The Payment row (unique per order) is committed *before* the
  Stripe call, with an idempotency key derived from the order, and locked while the call runs.
  Stripe itself replays a call with the same key; and if a crash came between Stripe creating
  the intent and us saving it, the next attempt finds the row still `creating` and looks the
  intent up at Stripe by its `order_number` metadata instead of creating a second one.
* **Webhooks** are verified by signature and stored by event id in the same transaction as their
  effect: a redelivery changes nothing; a `payment_failed` arriving after `succeeded` changes
  nothing either (a succeeded payment stays succeeded).
* **Refunds** get their own rows and idempotency keys; never more than was paid.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import stripe
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.core.services import events_record
from apps.orders.models import Order, OrderStatus
from apps.orders.services import order_transition
from apps.payments.errors import InvalidWebhook, PaymentNotPossible, PaymentProviderError, RefundNotPossible
from apps.payments.models import Payment, Refund, StripeEvent

logger = logging.getLogger(__name__)


def _api_key() -> str:
    return settings.STRIPE_LIVE_SECRET_KEY if settings.STRIPE_LIVE_MODE else settings.STRIPE_TEST_SECRET_KEY


def _client() -> None:
    stripe.api_base = settings.STRIPE_API_BASE
    if not _api_key():
        name = "STRIPE_LIVE_SECRET_KEY" if settings.STRIPE_LIVE_MODE else "STRIPE_TEST_SECRET_KEY"
        raise PaymentProviderError(
            f"Payments are not configured ({name}).", code="payments_unconfigured", status_code=503
        )


def to_minor(amount: Decimal, precision: int) -> int:
    return int((amount * (10**precision)).to_integral_value())


def _mirror(intent: stripe.PaymentIntent) -> None:
    """dj-stripe's copy of the intent (admin, reporting). Needs its Account row; created once.

    Best effort, in its own savepoint: the copy failing must not undo saving the intent's id (a
    tenant's first two payments at once both found no APIKey row and both created it: the loser's
    unique violation rolled back its Payment row, answered 500 and lost the intent it had just
    made; found by `python -m bench.load fault postgres-restart`)."""
    from djstripe.enums import APIKeyType
    from djstripe.models import Account, APIKey
    from djstripe.models import PaymentIntent as DjPaymentIntent

    key = _api_key()
    try:
        with transaction.atomic():
            if not APIKey.objects.filter(secret=key).exists():
                account, _ = Account.objects.get_or_create(
                    id=settings.STRIPE_ACCOUNT_ID, defaults={"livemode": settings.STRIPE_LIVE_MODE, "stripe_data": {}}
                )
                APIKey.objects.get_or_create(
                    secret=key,
                    defaults={
                        "type": APIKeyType.secret,
                        "livemode": settings.STRIPE_LIVE_MODE,
                        "djstripe_owner_account": account,
                    },
                )
            DjPaymentIntent.sync_from_stripe_data(intent, api_key=key)
    except DatabaseError:
        logger.warning("dj-stripe's copy of %s was not saved (it is synced again later)", intent.id, exc_info=True)


def _find_intent(order: Order) -> stripe.PaymentIntent | None:
    for intent in stripe.PaymentIntent.list(limit=100, api_key=_api_key()).auto_paging_iter():
        metadata = intent.metadata.to_dict() if intent.metadata else {}
        if metadata.get("order_number") == order.number and metadata.get("tenant") == connection.schema_name:
            return intent
    return None


def payment_start(*, order: Order) -> Payment:
    """The order's PaymentIntent (created once) and its client secret for the app."""
    _client()
    if order.status not in {OrderStatus.PLACED, OrderStatus.CONFIRMED} or order.on_account:
        raise PaymentNotPossible(details={"status": order.status})
    precision = getattr(getattr(connection, "tenant", None), "currency_precision", 2)
    with transaction.atomic():
        payment, created = Payment.objects.get_or_create(
            order=order,
            defaults={
                "idempotency_key": f"{connection.schema_name}-order-{order.number}-payment",
                "amount_minor": to_minor(order.total, precision),
                "currency": order.currency.lower(),
            },
        )
    if payment.payment_intent_id:
        return payment
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)  # one caller talks to Stripe
        if payment.payment_intent_id:
            return payment
        intent = None if created else _find_intent(order)  # a crash may have left one at Stripe
        if intent is None:
            try:
                intent = stripe.PaymentIntent.create(
                    amount=payment.amount_minor,
                    currency=payment.currency,
                    metadata={"order_number": order.number, "tenant": connection.schema_name},
                    idempotency_key=payment.idempotency_key,
                    api_key=_api_key(),
                )
            except stripe.StripeError as exc:
                raise PaymentProviderError(details={"stripe": str(exc)[:200]}) from exc
        _intent_saved(payment, intent)
        return payment


def _intent_saved(payment: Payment, intent: stripe.PaymentIntent) -> None:
    payment.payment_intent_id = intent.id
    payment.client_secret = intent.client_secret or ""
    payment.status = Payment.Status.REQUIRES_PAYMENT
    payment.save(update_fields=["payment_intent_id", "client_secret", "status", "updated_at"])
    _mirror(intent)


def _webhook_secret() -> str:
    """Each tenant's webhook endpoint (on its hostname) has its own signing secret at Stripe."""
    tenant = getattr(connection, "tenant", None)
    return getattr(tenant, "stripe_webhook_secret", "") or settings.DJSTRIPE_WEBHOOK_SECRET


@transaction.atomic
def webhook_handle(*, payload: bytes, signature: str) -> str:
    """Verify, store once, apply. Returns what happened (for the response and the log)."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, _webhook_secret())
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidWebhook() from exc
    record, new = StripeEvent.objects.get_or_create(
        event_id=event.id,
        defaults={"type": event.type, "created": dt.datetime.fromtimestamp(event.created, tz=dt.UTC)},
    )
    if not new:
        return "duplicate"
    outcome = _apply(event)
    record.outcome = outcome[:200]
    record.save(update_fields=["outcome"])
    return outcome


def _payment_event(payment: Payment) -> dict:
    """The outbox payload of payment.* events (webhooks, the order's live stream)."""
    return {
        "number": payment.order.number,
        "amount_minor": payment.amount_minor,
        "refunded_minor": payment.refunded_minor,
        "currency": payment.currency,
        "status": payment.status,
    }


def _apply(event: stripe.Event) -> str:
    if event.type not in {"payment_intent.succeeded", "payment_intent.payment_failed"}:
        return "ignored"
    intent = event.data.object
    payment = Payment.objects.select_for_update().select_related("order").filter(payment_intent_id=intent.id).first()
    if payment is None:
        return "unknown payment intent"
    if payment.status == Payment.Status.SUCCEEDED:
        return "already succeeded"  # a late or repeated event never undoes a payment
    if event.type == "payment_intent.payment_failed":
        payment.status = Payment.Status.FAILED
        payment.save(update_fields=["status", "updated_at"])
        events_record([("payment.failed", _payment_event(payment))])
        return "failed"
    payment.status = Payment.Status.SUCCEEDED
    payment.save(update_fields=["status", "updated_at"])
    events_record([("payment.succeeded", _payment_event(payment))])
    if payment.order.status in {OrderStatus.PLACED, OrderStatus.CONFIRMED}:
        order_transition(order=payment.order, to=OrderStatus.PAID, reason=f"stripe {intent.id}")
        return "paid"
    if payment.order.status == OrderStatus.CANCELLED:
        return "succeeded for a cancelled order: refund it"  # visible in the admin's Stripe events
    return f"succeeded; order already {payment.order.status}"


def refund_create(*, order: Order, amount: Decimal, reason: str = "") -> Refund:
    """Refund (part of) a paid order through Stripe, once per call of ours."""
    _client()
    precision = getattr(getattr(connection, "tenant", None), "currency_precision", 2)
    minor = to_minor(amount, precision)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(order=order).first()
        if payment is None or payment.status != Payment.Status.SUCCEEDED:
            raise RefundNotPossible("The order has no successful payment to refund.")
        if minor <= 0 or payment.refunded_minor + minor > payment.amount_minor:
            raise RefundNotPossible(
                "A refund must be positive and at most what is left.",
                details={"refundable": str(Decimal(payment.amount_minor - payment.refunded_minor) / 10**precision)},
            )
        number = payment.refunds.count() + 1
        refund = Refund.objects.create(
            payment=payment,
            amount_minor=minor,
            reason=reason[:300],
            idempotency_key=f"{payment.idempotency_key}-refund-{number}",
        )
        payment.refunded_minor += minor
        payment.save(update_fields=["refunded_minor", "updated_at"])
    try:
        created = stripe.Refund.create(
            payment_intent=payment.payment_intent_id,
            amount=minor,
            idempotency_key=refund.idempotency_key,
            api_key=_api_key(),
        )
    except stripe.StripeError as exc:
        with transaction.atomic():
            Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.FAILED)
            Payment.objects.filter(pk=payment.pk).update(refunded_minor=payment.refunded_minor - minor)
        raise PaymentProviderError(details={"stripe": str(exc)[:200]}) from exc
    with transaction.atomic():
        refund.stripe_refund_id, refund.status = created.id, Refund.Status.SUCCEEDED
        refund.save(update_fields=["stripe_refund_id", "status"])
        events_record([("payment.refunded", {**_payment_event(payment), "refund_minor": minor})])
        order.refresh_from_db()
        # Loyalty: the refunded share (so far) of the points earned is reversed, of those spent given back.
        from apps.loyalty.services import points_release_for_order

        points_release_for_order(order=order, share=Decimal(payment.refunded_minor) / Decimal(payment.amount_minor))
        if payment.refunded_minor == payment.amount_minor:
            if order.status in {OrderStatus.PAID, OrderStatus.COMPLETED}:
                order_transition(order=order, to=OrderStatus.REFUNDED, reason=f"refunded {amount}")
            elif order.status in {OrderStatus.PREPARING, OrderStatus.READY}:
                # Refunded before it was handed over: cancelled, and its stock goes back on sale.
                order_transition(order=order, to=OrderStatus.CANCELLED, reason=f"refunded {amount}")
    return refund


def payments_reconcile_creating(*, older_than: dt.timedelta = dt.timedelta(minutes=5)) -> int:
    """Payments stuck in `creating` (a crash mid-call): adopt their intent if Stripe has one."""
    _client()
    fixed = 0
    for payment in Payment.objects.filter(
        status=Payment.Status.CREATING, created_at__lt=timezone.now() - older_than
    ).select_related("order"):
        intent = _find_intent(payment.order)
        if intent is not None:
            with transaction.atomic():
                _intent_saved(payment, intent)
            fixed += 1
    return fixed
