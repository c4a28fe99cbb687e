from django.contrib import admin

from apps.payments.models import Payment, Refund, StripeEvent


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["order", "status", "amount_minor", "refunded_minor", "currency", "payment_intent_id", "created_at"]
    list_filter = ["status"]
    search_fields = ["order__number", "payment_intent_id"]
    readonly_fields = [f.name for f in Payment._meta.fields]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["payment", "amount_minor", "status", "stripe_refund_id", "created_at"]
    readonly_fields = [f.name for f in Refund._meta.fields]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "created", "received_at", "outcome"]
    search_fields = ["event_id"]
    readonly_fields = [f.name for f in StripeEvent._meta.fields]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False
