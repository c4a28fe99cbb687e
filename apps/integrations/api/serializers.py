from django.conf import settings
from rest_framework import serializers

from apps.core.api.fields import QuantityField
from apps.integrations.catalogue import EVENT_TYPES, SUBSCRIPTION_PATTERNS
from apps.integrations.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint


class EventTypeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=sorted(EVENT_TYPES))
    description = serializers.CharField()


class EndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIPTION_PATTERNS))
    secret_rotating = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "failing_since",
            "secret_rotating",
            "created_at",
        ]

    def get_secret_rotating(self, endpoint: WebhookEndpoint) -> bool:
        return bool(endpoint.previous_secret)


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret. Shown only in this response: keep it.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class EndpointCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIPTION_PATTERNS),
        min_length=1,
        max_length=len(SUBSCRIPTION_PATTERNS),
    )
    description = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class EndpointUpdateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIPTION_PATTERNS),
        min_length=1,
        max_length=len(SUBSCRIPTION_PATTERNS),
        required=False,
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField()
    previous_secret_valid_until = serializers.DateTimeField(allow_null=True)


class RotateSerializer(serializers.Serializer):
    grace_seconds = QuantityField(min_value=0, max_value=7 * 24 * 3600, required=False)


class ReplaySerializer(serializers.Serializer):
    since = serializers.DateTimeField()


class ReplayResultSerializer(serializers.Serializer):
    queued = serializers.IntegerField()


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["id", "attempted_at", "status_code", "latency_ms", "succeeded", "error", "response_excerpt"]


class DeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event",
            "webhook_id",
            "topic",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
        ]

    def get_webhook_id(self, delivery: WebhookDelivery) -> str:
        from django.db import connection

        from apps.integrations.services import message_id

        return message_id(connection.schema_name, delivery.event_id)


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "attempt_log"]


class SyncLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    location = serializers.CharField(max_length=40, help_text="The location's code.")
    on_hand = QuantityField(min_value=0, help_text="Units counted on hand (the new level).")


class SyncStockSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["all_or_nothing", "per_line"], default="all_or_nothing")
    reference = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)
    lines = SyncLineSerializer(many=True, allow_empty=False, max_length=settings.SYNC_STOCK_MAX_LINES)


class SyncLineResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    result = serializers.ChoiceField(
        choices=[
            "applied",
            "unchanged",
            "unknown_sku",
            "unknown_location",
            "lot_tracked",
            "duplicate_line",
            "below_reserved",
            "conflict",
        ]
    )
    delta = serializers.IntegerField(allow_null=True)


class SyncStockResultSerializer(serializers.Serializer):
    mode = serializers.CharField()
    applied = serializers.IntegerField()
    rejected = serializers.IntegerField()
    lines = SyncLineResultSerializer(many=True)


class ChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    type = serializers.CharField(source="topic")
    created_at = serializers.DateTimeField()
    data = serializers.JSONField(source="payload")


class ChangesPageSerializer(serializers.Serializer):
    results = ChangeSerializer(many=True)
    cursor = serializers.CharField(help_text="Send it back as `cursor=` for the next page.")
    has_more = serializers.BooleanField()
