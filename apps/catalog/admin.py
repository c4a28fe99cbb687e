from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from apps.catalog import services
from apps.catalog.admin_gallery import GalleryAdminMixin, VariantImageInline
from apps.catalog.csv_io import COLUMNS, variants_export_csv, variants_import_csv
from apps.catalog.models import Category, PriceList, PriceListEntry, Product, Supplier, SupplierVariant, Variant
from apps.core.admin_csv import csv_import_view
from apps.core.versioning import VersionedAdminMixin


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
class ProductAdmin(VersionedAdminMixin, admin.ModelAdmin):
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
class VariantAdmin(GalleryAdminMixin, VersionedAdminMixin, admin.ModelAdmin):
    list_display = ["sku", "name", "product", "price", "tracks_lots", "is_archived"]
    list_filter = ["is_archived", "tracks_lots", "product__category"]
    search_fields = ["sku", "barcode", "name", "product__name"]
    list_select_related = ["product"]
    readonly_fields = ["is_archived", "archived_at"]
    inlines = [VariantImageInline]
    actions = ["archive", "export_csv"]
    change_list_template = "admin/catalog/variant/change_list.html"

    def get_urls(self) -> list:
        from django.urls import path

        return [
            path("import-csv/", self.admin_site.admin_view(self.import_csv), name="catalog_variant_import"),
            *super().get_urls(),
        ]

    def import_csv(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied

        def handle(_request: HttpRequest, text: str) -> str:
            result = variants_import_csv(text)
            return f"Imported: {result['created']} created, {result['updated']} updated."

        return csv_import_view(
            self,
            request,
            title="Import the catalog from CSV",
            handle=handle,
            help_text="Columns: " + ", ".join(COLUMNS) + ". All rows or none.",
        )

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
class PriceListAdmin(VersionedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "customer_group", "is_active"]
    inlines = [PriceListEntryInline]
