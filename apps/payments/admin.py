from django.contrib import admin, messages
from django.http import HttpRequest

from apps.core.errors import ApplicationError
from apps.payments.invoices import invoice_payment_record
from apps.payments.models import Invoice, InvoiceCredit, InvoicePayment, Payment, Refund, StripeEvent


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


class InvoicePaymentInline(admin.TabularInline):
    """Payments received: recorded ones are read-only; a new row is recorded through the service
    (partial payments add up, an overpayment is refused, the last one marks the invoice paid)."""

    model = InvoicePayment
    extra = 1
    fields = ["amount", "method", "reference", "recorded_by", "recorded_at"]
    readonly_fields = ["recorded_by", "recorded_at"]
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:  # noqa: ANN001
        return obj is not None and obj.status in {Invoice.Status.OPEN, Invoice.Status.OVERDUE}


class InvoiceCreditInline(admin.TabularInline):
    """Credit notes of returns and refunds: made by those services only, read-only here."""

    model = InvoiceCredit
    extra = 0
    fields = ["source", "amount", "applied", "reason", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Invoices of orders on account: issued with the order, paid by the payments recorded below."""

    list_display = [
        "number",
        "account",
        "order",
        "amount",
        "amount_paid",
        "amount_credited",
        "status",
        "issued_at",
        "due_date",
    ]
    list_filter = ["status", "payment_terms"]
    search_fields = ["number", "order__number", "account__name"]
    list_select_related = ["account", "order"]
    date_hierarchy = "issued_at"
    readonly_fields = [f.name for f in Invoice._meta.fields]
    inlines = [InvoicePaymentInline, InvoiceCreditInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:  # noqa: ANN001
        return False

    def save_model(self, request: HttpRequest, obj, form, change) -> None:  # noqa: ANN001
        """Every field is read-only: nothing to save (a full save could overwrite a payment made meanwhile)."""

    def save_formset(self, request: HttpRequest, form, formset, change) -> None:  # noqa: ANN001
        if formset.model is not InvoicePayment:
            super().save_formset(request, form, formset, change)
            return
        for row in formset.forms:
            if row.instance.pk or not row.has_changed() or not row.cleaned_data:
                continue
            data = row.cleaned_data
            try:
                invoice_payment_record(
                    invoice=form.instance,
                    amount=data["amount"],
                    method=data["method"],
                    reference=data.get("reference") or "",
                    recorded_by=request.user,
                )
            except ApplicationError as exc:
                self.message_user(request, f"Payment not recorded: {exc.message}", messages.ERROR)


@admin.register(InvoicePayment)
class InvoicePaymentAdmin(admin.ModelAdmin):
    list_display = ["invoice", "amount", "method", "reference", "recorded_by", "recorded_at"]
    list_filter = ["method"]
    search_fields = ["invoice__number", "reference"]
    list_select_related = ["invoice", "recorded_by"]
    readonly_fields = [f.name for f in InvoicePayment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:  # noqa: ANN001
        return False
