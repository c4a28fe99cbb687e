"""Our side of Stripe: one payment per order, refunds, and every webhook event seen once.

Stripe objects themselves are mirrored by dj-stripe (djstripe.PaymentIntent / Refund); these rows
carry what exactly-once needs: the idempotency keys, the state of our call, the events handled.
"""

from django.db import models

from apps.orders.models import Order


class Payment(models.Model):
    class Status(models.TextChoices):
        CREATING = "creating", "Creating the PaymentIntent"
        REQUIRES_PAYMENT = "requires_payment", "Waiting for the customer"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="payment")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATING)
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    amount_minor = models.PositiveBigIntegerField(help_text="Integer minor units (cents), as Stripe wants.")
    currency = models.CharField(max_length=3)
    refunded_minor = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"payment of {self.order.number} ({self.status})"


class Refund(models.Model):
    class Status(models.TextChoices):
        CREATING = "creating", "Creating"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.PositiveBigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATING)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"refund {self.amount_minor} of {self.payment}"


class StripeEvent(models.Model):
    """A webhook event, stored once: a redelivery finds its row and changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe created the event (orders events that arrive late).")
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
