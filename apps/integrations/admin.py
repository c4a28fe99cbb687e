"""Webhooks in the admin: endpoints (the secret is shown once, when created or rotated), deliveries
with their attempts, replay and test ping. Actions call the same services as the API."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from apps.core.errors import ApplicationError
from apps.integrations import services
from apps.integrations.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fk_name = "delivery"
    extra = 0
    can_delete = False
    fields = ["attempted_at", "status_code", "latency_ms", "succeeded", "error", "response_excerpt"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "event_types", "is_active", "failing_since", "disabled_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    fields = ["url", "description", "event_types", "is_active", "disabled_at", "disabled_reason", "failing_since"]
    readonly_fields = ["disabled_at", "disabled_reason", "failing_since"]
    actions = ["rotate_secret", "send_ping", "replay_last_day"]

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: object, change: bool) -> None:
        try:
            if change:
                services.webhook_endpoint_update(
                    endpoint=WebhookEndpoint.objects.get(pk=obj.pk),
                    url=obj.url,
                    event_types=obj.event_types,
                    description=obj.description,
                    is_active=obj.is_active,
                )
            else:
                created, secret = services.webhook_endpoint_create(
                    url=obj.url, event_types=obj.event_types, description=obj.description
                )
                obj.pk = created.pk
                self.message_user(request, f"Signing secret (shown once): {secret}", messages.WARNING)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    @admin.action(description="Rotate the signing secret (old one valid for the grace period)")
    def rotate_secret(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        for endpoint in queryset:
            secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint)
            self.message_user(request, f"{endpoint.url}: new secret (shown once): {secret}", messages.WARNING)

    @admin.action(description="Send a test ping")
    def send_ping(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        for endpoint in queryset:
            attempt = services.webhook_endpoint_ping(endpoint=endpoint)
            level = messages.SUCCESS if attempt.succeeded else messages.ERROR
            self.message_user(request, f"{endpoint.url}: {attempt.status_code or attempt.error}", level)

    @admin.action(description="Replay the last 24 hours")
    def replay_last_day(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        import datetime as dt

        from django.utils import timezone

        for endpoint in queryset:
            try:
                count = services.webhook_endpoint_replay_since(
                    endpoint=endpoint, since=timezone.now() - dt.timedelta(days=1)
                )
                self.message_user(request, f"{endpoint.url}: {count} deliveries queued.")
            except ApplicationError as exc:
                self.message_user(request, f"{endpoint.url}: {exc.message}", messages.ERROR)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "endpoint", "topic", "event", "status", "attempts", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "topic"]
    search_fields = ["aggregate", "topic"]
    list_select_related = ["endpoint"]
    inlines = [AttemptInline]
    actions = ["replay"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay (same webhook-id, fresh retry budget)")
    def replay(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        for delivery in queryset.select_related("endpoint"):
            try:
                services.webhook_delivery_replay(delivery=delivery)
            except ApplicationError as exc:
                self.message_user(request, f"{delivery}: {exc.message}", messages.ERROR)
        self.message_user(request, "Queued again.")
