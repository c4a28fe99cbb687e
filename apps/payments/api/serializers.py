from decimal import Decimal

from rest_framework import serializers

from apps.payments.models import Invoice, InvoicePayment


class PaymentSerializer(serializers.Serializer):
    payment_intent = serializers.CharField(source="payment_intent_id")
    client_secret = serializers.CharField(help_text="Give it to Stripe's SDK in the app to collect the payment.")
    amount_minor = serializers.IntegerField(help_text="Integer minor units (cents).")
    currency = serializers.CharField()
    status = serializers.CharField()


class RefundInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RefundSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount_minor = serializers.IntegerField()
    status = serializers.CharField()
    stripe_refund_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class WebhookResultSerializer(serializers.Serializer):
    outcome = serializers.CharField()


class InvoicePaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    method = serializers.CharField()
    reference = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by.email", default=None, allow_null=True)
    recorded_at = serializers.DateTimeField()


class InvoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    account_id = serializers.IntegerField()
    account = serializers.CharField(source="account.name")
    order_id = serializers.IntegerField()
    order_number = serializers.CharField(source="order.number")
    currency = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount_paid = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount_credited = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Settled by credit notes (returns, a refund) instead of money."
    )
    amount_due = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="amount - amount_paid - amount_credited."
    )
    status = serializers.ChoiceField(choices=Invoice.Status.choices)
    payment_terms = serializers.IntegerField(help_text="Net days: 15, 30 or 60.")
    issued_at = serializers.DateTimeField()
    due_date = serializers.DateField()
    paid_at = serializers.DateTimeField(allow_null=True)
    overdue_at = serializers.DateTimeField(allow_null=True)
    voided_at = serializers.DateTimeField(allow_null=True)


class InvoiceCreditSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField(help_text="return-<return id> or refund-<order id>: one note each.")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    applied = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Set against what the invoice still owed."
    )
    unapplied = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The rest: the business's credit (the invoice was paid)."
    )
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class InvoiceDetailSerializer(InvoiceSerializer):
    payments = InvoicePaymentSerializer(many=True)
    credits = InvoiceCreditSerializer(many=True, help_text="Credit notes of returns and a refund of the order.")


class InvoicePaymentInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    method = serializers.ChoiceField(choices=InvoicePayment.Method.choices)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class InvoicePaymentRecordedSerializer(serializers.Serializer):
    payment = InvoicePaymentSerializer()
    invoice = InvoiceSerializer()
