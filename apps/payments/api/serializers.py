from rest_framework import serializers


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
