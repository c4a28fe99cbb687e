from django.contrib import admin, messages
from django.http import HttpRequest

from apps.core.errors import ApplicationError
from apps.orders import services
from apps.orders.models import Order, OrderEvent, OrderLine, OrderStatus


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ["variant", "sku", "name", "quantity", "unit_price", "line_total"]
    can_delete = False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    readonly_fields = ["from_status", "to_status", "actor", "reason", "created_at"]
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders change only through their lifecycle (the actions), like through the API."""

    list_display = ["number", "status", "channel", "fulfilment", "location", "customer", "total", "placed_at"]
    list_filter = ["status", "channel", "fulfilment", "location"]
    search_fields = ["number", "customer__email", "lines__sku"]
    list_select_related = ["location", "customer"]
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderLineInline, OrderEventInline]
    actions = ["release", "prepare", "hand_over", "complete", "cancel"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _move(self, request: HttpRequest, queryset, to_for) -> None:  # noqa: ANN001
        for order in queryset:
            try:
                services.order_transition(order=order, to=to_for(order), reason=f"admin: {request.user}")
            except ApplicationError as exc:
                self.message_user(request, f"{order.number}: {exc.message}", messages.ERROR)

    @admin.action(description="Release from credit hold (confirm and invoice)", permissions=["change"])
    def release(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        self._move(request, queryset.filter(status=OrderStatus.ON_HOLD), lambda o: OrderStatus.CONFIRMED)

    @admin.action(description="Start preparing", permissions=["change"])
    def prepare(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        self._move(request, queryset, lambda o: OrderStatus.PREPARING)

    @admin.action(description="Ready / out for delivery / shipped", permissions=["change"])
    def hand_over(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        self._move(request, queryset, lambda o: services.HANDOFF[o.fulfilment])

    @admin.action(description="Complete", permissions=["change"])
    def complete(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        self._move(request, queryset, lambda o: OrderStatus.COMPLETED)

    @admin.action(description="Cancel (releases stock)", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        self._move(request, queryset, lambda o: OrderStatus.CANCELLED)


from apps.stock.admin import _scope_to_managed_locations  # noqa: E402

_scope_to_managed_locations(OrderAdmin, "location")
