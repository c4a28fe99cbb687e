"""Outgoing webhooks: endpoints subscribed to event types, one delivery per (event, endpoint),
every attempt recorded.

Deliveries are created by the relay from committed outbox events (`core.OutboxEvent`) and sent by
Celery; the database row is the truth (status, lease, next attempt), the task only a trigger, so a
worker killed mid-delivery loses nothing: its lease runs out and the relay hands the delivery on.
"""

from django.db import models


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, help_text='Event types or prefixes, e.g. ["order.*", "stock.low"].')
    secret = models.CharField(max_length=100, help_text="Signing secret (whsec_...); shown once.")
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True, help_text="First failure since the last success.")
    created_by_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, topic: str) -> bool:
        for pattern in self.event_types:
            if pattern == "*" or pattern == topic or (pattern.endswith(".*") and topic.startswith(pattern[:-1])):
                return True
        return False


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (gave up)"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("core.OutboxEvent", on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=64)
    aggregate = models.CharField(max_length=100, blank=True, help_text="Events of one aggregate arrive in order.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_token = models.CharField(max_length=36, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "aggregate", "event"], name="webhook_delivery_open"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.event_id} -> endpoint {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP request to an endpoint: a delivery's attempt, or a test ping (no delivery)."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="attempts")
    delivery = models.ForeignKey(
        WebhookDelivery, null=True, blank=True, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} ({self.status_code or self.error})"


DeliveryStatus = WebhookDelivery.Status  # for the OpenAPI enum name (config/settings/drf.py)
