"""Stock in the admin. Quantities are read-only here: they change through the services (the
actions below, the API), each change explained in the ledger."""

import csv
import io

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from apps.core.admin_csv import csv_import_view
from apps.core.errors import ApplicationError
from apps.core.versioning import VersionedAdminMixin
from apps.stock import services
from apps.stock.models import (
    HoursException,
    Location,
    Lot,
    Movement,
    OpeningHours,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderSuggestion,
    Reservation,
    RestockAlert,
    StockItem,
    Transfer,
    TransferLine,
)


def _run(admin_obj: admin.ModelAdmin, request: HttpRequest, action, queryset, done: str) -> None:  # noqa: ANN001
    count = 0
    for obj in queryset:
        try:
            action(obj)
            count += 1
        except ApplicationError as exc:
            admin_obj.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if count:
        admin_obj.message_user(request, f"{done}: {count}.")


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0
    verbose_name_plural = "Opening hours (store's local time; closes before opens = after midnight; equal = 24 h)"


class HoursExceptionInline(admin.TabularInline):
    model = HoursException
    extra = 0
    ordering = ["-date", "opens"]
    verbose_name_plural = "Holidays and special hours (any row for a date replaces that day's hours)"


@admin.register(Location)
class LocationAdmin(VersionedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "code", "kind", "pickup_enabled", "curbside_enabled", "is_public", "is_active"]
    inlines = [OpeningHoursInline, HoursExceptionInline]

    def get_queryset(self, request: HttpRequest):  # noqa: ANN201
        queryset = super().get_queryset(request)
        roles = set(request.user.groups.values_list("name", flat=True))
        if request.user.is_superuser or roles & {"Owner", "Warehouse Staff"} or "Store Manager" not in roles:
            return queryset
        return queryset.filter(managers=request.user)

    list_filter = ["kind", "is_public", "is_active"]
    search_fields = ["name", "code", "city", "postal_code"]
    filter_horizontal = ["managers"]


QUANTITIES = ["on_hand", "reserved", "damaged", "returned", "in_transit"]


@admin.register(StockItem)
class StockItemAdmin(admin.ModelAdmin):
    list_display = ["variant", "location", *QUANTITIES, "reorder_point", "reorder_quantity"]
    list_filter = ["location"]
    search_fields = ["variant__sku", "variant__name"]
    list_select_related = ["variant", "location"]
    readonly_fields = ["variant", "location", *QUANTITIES, "version"]
    fields = [*readonly_fields, "reorder_point", "reorder_quantity"]
    actions = ["export_csv"]
    change_list_template = "admin/stock/stockitem/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list:
        from django.urls import path

        return [
            path("restock-csv/", self.admin_site.admin_view(self.restock_csv), name="stock_stockitem_restock"),
            *super().get_urls(),
        ]

    def restock_csv(self, request: HttpRequest) -> HttpResponse:
        from django import forms
        from django.core.exceptions import PermissionDenied

        if not self.has_change_permission(request):
            raise PermissionDenied

        def handle(req: HttpRequest, text: str) -> str:
            location = req.csv_form.cleaned_data["location"]
            states = services.stock_bulk_restock(
                location=location, lines=list(csv.DictReader(io.StringIO(text))), reference="admin CSV restock"
            )
            return f"Restocked {len(states)} item(s) at {location}."

        return csv_import_view(
            self,
            request,
            title="Restock from CSV",
            handle=handle,
            help_text="Columns: sku, quantity, batch_number, production_date, expiry_date. All rows or none.",
            extra_fields={"location": forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True))},
        )

    def save_model(self, request: HttpRequest, obj: StockItem, form, change: bool) -> None:  # noqa: ANN001
        services.stock_item_settings_update(
            item=obj, expected_version=None, reorder_point=obj.reorder_point, reorder_quantity=obj.reorder_quantity
        )

    @admin.action(description="Export stock levels as CSV")
    def export_csv(self, request: HttpRequest, queryset) -> HttpResponse:  # noqa: ANN001
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["sku", "location", *QUANTITIES, "reorder_point"])
        for item in queryset.select_related("variant", "location"):
            writer.writerow(
                [item.variant.sku, item.location.code, *(getattr(item, q) for q in QUANTITIES), item.reorder_point]
            )
        response = HttpResponse(out.getvalue(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="stock.csv"'
        return response


@admin.register(Lot)
class LotAdmin(admin.ModelAdmin):
    list_display = ["batch_number", "variant", "production_date", "expiry_date"]
    search_fields = ["batch_number", "variant__sku"]
    list_filter = ["expiry_date"]
    list_select_related = ["variant"]


@admin.register(Movement)
class MovementAdmin(admin.ModelAdmin):
    """The ledger: append-only, read-only."""

    list_display = [
        "created_at",
        "kind",
        "reason",
        "variant",
        "location",
        "lot",
        "on_hand_delta",
        "reserved_delta",
        "reference",
        "actor",
    ]
    list_filter = ["kind", "reason", "location"]
    search_fields = ["variant__sku", "reference", "lot__batch_number"]
    list_select_related = ["variant", "location", "lot"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ["id", "reference", "status", "expires_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["reference"]
    readonly_fields = ["reference", "status", "expires_at", "closed_at"]
    actions = ["release"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Release the selected reservations", permissions=["change"])
    def release(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        _run(self, request, lambda r: services.reservation_release(reservation=r), queryset, "Released")


@admin.register(RestockAlert)
class RestockAlertAdmin(admin.ModelAdmin):
    list_display = ["stock_item", "available_at_open", "opened_at", "closed_at", "notified_at"]
    list_filter = ["closed_at"]
    list_select_related = ["stock_item__variant", "stock_item__location"]


class TransferLineInline(admin.TabularInline):
    model = TransferLine
    extra = 0


@admin.register(Transfer)
class TransferAdmin(VersionedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "from_location", "to_location", "status", "created_at", "shipped_at", "received_at"]
    list_filter = ["status"]
    readonly_fields = ["status", "shipped_at", "received_at"]
    inlines = [TransferLineInline]
    actions = ["ship", "receive_all"]

    @admin.action(description="Ship", permissions=["change"])
    def ship(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        _run(self, request, lambda t: services.transfer_ship(transfer=t), queryset, "Shipped")

    @admin.action(description="Receive everything still in transit", permissions=["change"])
    def receive_all(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        def receive(transfer: Transfer) -> None:
            remaining = {ln.pk: ln.quantity - ln.received_quantity for ln in transfer.lines.all()}
            services.transfer_receive(transfer=transfer, received=remaining)

        _run(self, request, receive, queryset, "Received")


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(VersionedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "supplier", "location", "status", "reference", "created_at", "sent_at", "received_at"]
    list_filter = ["status", "supplier"]
    readonly_fields = ["status", "sent_at", "received_at"]
    inlines = [PurchaseOrderLineInline]
    actions = ["send"]
    change_list_template = "admin/stock/purchaseorder/change_list.html"  # links the procurement report

    def get_urls(self) -> list:
        from django.urls import path

        from apps.stock.admin_procurement import procurement_report_view

        def report(request: HttpRequest) -> HttpResponse:
            return procurement_report_view(self, request)

        return [
            path("procurement/", self.admin_site.admin_view(report), name="stock_purchaseorder_procurement"),
            *super().get_urls(),
        ]

    @admin.action(description="Mark sent", permissions=["change"])
    def send(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        _run(self, request, lambda o: services.purchase_order_send(order=o), queryset, "Sent")


@admin.register(ReorderSuggestion)
class ReorderSuggestionAdmin(admin.ModelAdmin):
    list_display = ["stock_item", "supplier", "daily_velocity", "days_of_cover", "suggested_quantity", "computed_at"]
    list_select_related = ["stock_item__variant", "stock_item__location", "supplier"]
    actions = ["draft_orders"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Draft purchase orders from all suggestions")
    def draft_orders(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        orders = services.purchase_orders_draft_from_suggestions()
        self.message_user(request, f"Drafted {len(orders)} purchase order(s).")


def _scope_to_managed_locations(admin_class: type[admin.ModelAdmin], path: str) -> None:
    """Store managers (without the owner or warehouse role) see only their locations' rows."""
    original = admin_class.get_queryset

    def get_queryset(self, request: HttpRequest):  # noqa: ANN001, ANN202
        queryset = original(self, request)
        user = request.user
        if user.is_superuser:
            return queryset
        roles = set(user.groups.values_list("name", flat=True))
        if roles & {"Owner", "Warehouse Staff"} or "Store Manager" not in roles:
            return queryset
        return queryset.filter(**{f"{path}__managers": user}).distinct()

    admin_class.get_queryset = get_queryset


for _admin_class, _path in (
    (StockItemAdmin, "location"),
    (MovementAdmin, "location"),
    (RestockAlertAdmin, "stock_item__location"),
    (ReorderSuggestionAdmin, "stock_item__location"),
):
    _scope_to_managed_locations(_admin_class, _path)
