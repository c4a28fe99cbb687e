"""Our side of Stripe: one payment per order, refunds, and every webhook event seen once.

Stripe objects themselves are mirrored by dj-stripe (djstripe.PaymentIntent / Refund); these rows
carry what exactly-once needs: the idempotency keys, the state of our call, the events handled.

Orders on account (wholesale credit terms) are not paid by card: they get an Invoice, and staff
record the money received against it (InvoicePayment); a return or refund of such an order is a
credit note against its invoice (InvoiceCredit); see apps.payments.invoices.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.accounts.models import PaymentTerms
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


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    OVERDUE = "overdue", "Overdue"
    VOID = "void", "Void"


class Invoice(models.Model):
    """What an order on account owes: issued when the order is confirmed, due after the account's
    terms. `amount - amount_paid - amount_credited` (the amount due) of open and overdue invoices is
    the account's open balance."""

    Status = InvoiceStatus

    number = models.CharField(max_length=32, unique=True)
    account = models.ForeignKey("accounts.WholesaleAccount", on_delete=models.PROTECT, related_name="invoices")
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="invoice")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    amount_credited = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Settled by credit notes (returns, refunds) instead of money: their applied parts.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    issued_at = models.DateTimeField()
    due_date = models.DateField(help_text="Issue date (the business's day) + the account's payment terms.")
    payment_terms = models.PositiveSmallIntegerField(choices=PaymentTerms.choices)
    paid_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["account", "status"]),
            models.Index(fields=["status", "due_date"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="invoice_amount_not_negative"),
            models.CheckConstraint(
                condition=models.Q(amount_paid__gte=0, amount_paid__lte=models.F("amount")),
                name="invoice_paid_within_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    amount_credited__gte=0, amount_credited__lte=models.F("amount") - models.F("amount_paid")
                ),
                name="invoice_settled_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"invoice {self.number} ({self.status})"

    @property
    def amount_due(self) -> Decimal:
        return self.amount - self.amount_paid - self.amount_credited


class InvoicePayment(models.Model):
    """Money received against an invoice, recorded by staff (bank transfer, cheque, ...)."""

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CHEQUE = "cheque", "Cheque"
        CASH = "cash", "Cash"
        CARD = "card", "Card (terminal)"
        OTHER = "other", "Other"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    method = models.CharField(max_length=16, choices=Method.choices)
    reference = models.CharField(max_length=120, blank=True, help_text="Bank reference, cheque number, ...")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="invoice_payment_positive")]

    def __str__(self) -> str:
        return f"{self.amount} on {self.invoice.number}"


class InvoiceCredit(models.Model):
    """A credit note: what a return or refund of an order on account gives back, against its invoice.

    The `applied` part settles what the invoice still owed (its `amount_credited`, and the open
    balance, go down by it); the rest (`unapplied`: the invoice was paid already) is the business's
    credit with us, for staff to pay back or set off. `source` names the return or refund it is for,
    once: applying the same one again changes nothing."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credits")
    source = models.CharField(max_length=40, unique=True, help_text="return-<id> or refund-<order id>.")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    applied = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), help_text="Set against what the invoice still owed."
    )
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0, applied__gte=0, applied__lte=models.F("amount")),
                name="invoice_credit_applied_within_amount",
            )
        ]

    def __str__(self) -> str:
        return f"credit {self.amount} on {self.invoice.number} ({self.source})"

    @property
    def unapplied(self) -> Decimal:
        return self.amount - self.applied
