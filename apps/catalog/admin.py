from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from apps.catalog import services
from apps.catalog.csv_io import variants_export_csv
from apps.catalog.models import Category, PriceList, PriceListEntry, Product, Supplier, SupplierVariant, Variant


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ["sku", "name", "price", "compare_at_price", "barcode", "tracks_lots", "is_archived"]
    readonly_fields = ["is_archived"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "brand", "category", "heat_level", "is_archived"]
    list_filter = ["is_archived", "category", "brand"]
    search_fields = ["name", "brand", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["category"]
    readonly_fields = ["is_archived", "archived_at"]
    inlines = [VariantInline]
    actions = ["archive"]

    @admin.action(description="Archive (hide from customers, keep for past orders)", permissions=["change"])
    def archive(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        for product in queryset:
            services.product_archive(product=product)
        self.message_user(request, "Archived.")


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "product", "price", "tracks_lots", "is_archived"]
    list_filter = ["is_archived", "tracks_lots", "product__category"]
    search_fields = ["sku", "barcode", "name", "product__name"]
    list_select_related = ["product"]
    readonly_fields = ["is_archived", "archived_at"]
    actions = ["archive", "export_csv"]

    @admin.action(description="Archive", permissions=["change"])
    def archive(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        for variant in queryset:
            services.variant_archive(variant=variant)

    @admin.action(description="Export as CSV")
    def export_csv(self, request: HttpRequest, queryset) -> HttpResponse:  # noqa: ANN001
        response = HttpResponse(variants_export_csv(queryset), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="variants.csv"'
        return response


class SupplierVariantInline(admin.TabularInline):
    model = SupplierVariant
    extra = 0
    autocomplete_fields = ["variant"]


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["name", "contact_name", "email", "lead_time_days"]
    search_fields = ["name"]
    inlines = [SupplierVariantInline]


class PriceListEntryInline(admin.TabularInline):
    model = PriceListEntry
    extra = 0
    autocomplete_fields = ["variant"]


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ["name", "customer_group", "is_active"]
    inlines = [PriceListEntryInline]
