"""Catalog API: browsing for everyone, the price for the caller, writes for owners."""

from django.db import connection
from django.http import HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.policy import OWNERS, PUBLIC, principal_of
from apps.catalog import selectors, services
from apps.catalog.api import serializers as s
from apps.catalog.csv_io import COLUMNS, variants_export_csv, variants_import_csv
from apps.catalog.models import Product, Variant
from apps.catalog.validators import validate_image
from apps.core.api.views import get_or_404, paginated
from apps.core.errors import InvalidInput, NotFound
from apps.core.versioning import VERSIONED_READ, VERSIONED_WRITE, VersionedView

CATALOG_EDITORS = OWNERS


def _is_staff(request: Request) -> bool:
    return principal_of(request).kind == "staff"


def _include_archived(request: Request) -> bool:
    return _is_staff(request) and request.query_params.get("include_archived") in {"1", "true"}


class ProductFilter(filters.FilterSet):
    category = filters.CharFilter(field_name="category__slug")
    brand = filters.CharFilter(lookup_expr="iexact")
    heat_min = filters.NumberFilter(field_name="heat_level", lookup_expr="gte")
    heat_max = filters.NumberFilter(field_name="heat_level", lookup_expr="lte")

    class Meta:
        model = Product
        fields = ["category", "brand", "heat_min", "heat_max"]


class ProductListView(GenericAPIView):
    list_view = True  # GET answers a page
    serializer_class = s.ProductSerializer
    filterset_class = ProductFilter
    search_fields = ["name", "brand", "description", "variants__sku"]
    ordering_fields = ["name", "created_at", "heat_level"]
    ordering = ["name"]

    access_policy = {"GET": PUBLIC, "POST": CATALOG_EDITORS, "PATCH": CATALOG_EDITORS, "DELETE": CATALOG_EDITORS}

    def get_queryset(self):  # noqa: ANN201
        return selectors.product_list(include_archived=_include_archived(self.request)).distinct()

    @extend_schema(
        operation_id="products_list",
        summary="Browse products",
        description="Products with their variants. Archived products are hidden (staff may pass "
        "`include_archived=true`). Search: `search=` (name, brand, description, SKU); filters: "
        "`category` (slug), `brand`, `heat_min`, `heat_max`; `ordering=name|-created_at|heat_level`.",
        parameters=[OpenApiParameter("include_archived", OpenApiTypes.BOOL, description="Staff only.")],
        tags=["catalog"],
    )
    def get(self, request: Request) -> Response:
        return paginated(self, self.get_queryset(), self.get_serializer_class())

    @extend_schema(
        operation_id="products_create",
        summary="Create a product",
        description="Owners only. Variants are added with POST /variants.",
        request=s.ProductSerializer,
        responses={201: s.ProductSerializer},
        tags=["catalog"],
    )
    def post(self, request: Request) -> Response:
        data = s.ProductSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(**data.validated_data)
        return Response(s.ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailView(VersionedView, GenericAPIView):
    serializer_class = s.ProductSerializer

    access_policy = {"GET": PUBLIC, "POST": CATALOG_EDITORS, "PATCH": CATALOG_EDITORS, "DELETE": CATALOG_EDITORS}

    def _product(self, product_id: int) -> Product:
        return get_or_404(
            selectors.product_list(include_archived=_is_staff(self.request)), "No such product.", pk=product_id
        )

    @extend_schema(
        operation_id="products_get",
        summary="A product",
        description="With its variants. Carries an `ETag` (the product's version); send it back as "
        "`If-Match` when editing.",
        parameters=VERSIONED_READ,
        tags=["catalog"],
    )
    def get(self, request: Request, product_id: int) -> Response:
        product = self._product(product_id)
        return self.versioned(s.ProductSerializer(product).data, product)

    @extend_schema(
        operation_id="products_update",
        summary="Update a product",
        description="Owners only. With `If-Match: <ETag>` a stale edit answers 412 `precondition_failed` "
        "and changes nothing.",
        request=s.ProductSerializer,
        responses=s.ProductSerializer,
        parameters=VERSIONED_WRITE,
        tags=["catalog"],
    )
    def patch(self, request: Request, product_id: int) -> Response:
        product = self._product(product_id)
        expected = self.if_match(request, product)
        data = s.ProductSerializer(product, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        product = services.product_update(product=product, expected_version=expected, **data.validated_data)
        return self.versioned(s.ProductSerializer(product).data, product)

    @extend_schema(
        operation_id="products_archive",
        summary="Archive a product",
        description="Hides it and its variants from customers; past orders keep them. Honours `If-Match`.",
        request=None,
        responses={204: None},
        parameters=VERSIONED_WRITE,
        tags=["catalog"],
    )
    def delete(self, request: Request, product_id: int) -> Response:
        product = self._product(product_id)
        product = services.product_archive(product=product, expected_version=self.if_match(request, product))
        return self.versioned(None, product, status.HTTP_204_NO_CONTENT)


class ProductImageView(VersionedView, GenericAPIView):
    access_policy = CATALOG_EDITORS
    parser_classes = [MultiPartParser]
    serializer_class = s.ImageUploadSerializer

    @extend_schema(
        operation_id="products_image_upload",
        summary="Upload a product image",
        description="JPEG, PNG or WebP by content, at most 5 MB and 6000 px a side. Honours `If-Match` "
        "(the product's `ETag`).",
        request={"multipart/form-data": s.ImageUploadSerializer},
        responses=s.ProductSerializer,
        parameters=VERSIONED_WRITE,
        tags=["catalog"],
    )
    def post(self, request: Request, product_id: int) -> Response:
        product = get_or_404(Product.objects.all(), "No such product.", pk=product_id)
        expected = self.if_match(request, product)
        upload = request.FILES.get("image")
        if upload is None:
            raise InvalidInput(
                "Attach the image as `image`.", code="validation_error", details={"image": ["Required."]}
            )
        from django.core.exceptions import ValidationError

        try:
            validate_image(upload)
        except ValidationError as exc:
            raise InvalidInput(exc.messages[0], code="validation_error", details={"image": exc.messages}) from exc
        product = services.product_image_set(product=product, image=upload, expected_version=expected)
        return self.versioned(s.ProductSerializer(product).data, product)


class VariantListView(GenericAPIView):
    list_view = True  # GET answers a page
    serializer_class = s.VariantSerializer
    filterset_fields = ["product", "tracks_lots"]
    search_fields = ["sku", "barcode", "name", "product__name"]
    ordering_fields = ["sku", "price", "name"]
    ordering = ["sku"]

    access_policy = {"GET": PUBLIC, "POST": CATALOG_EDITORS, "PATCH": CATALOG_EDITORS, "DELETE": CATALOG_EDITORS}

    def get_queryset(self):  # noqa: ANN201
        return selectors.variant_list(include_archived=_include_archived(self.request))

    @extend_schema(
        operation_id="variants_list",
        summary="Browse variants",
        description="Sellable units (SKU, price). Search by SKU, barcode or name; order by price.",
        tags=["catalog"],
    )
    def get(self, request: Request) -> Response:
        return paginated(self, self.get_queryset(), self.get_serializer_class())

    @extend_schema(
        operation_id="variants_create",
        summary="Create a variant",
        description="Owners only.",
        request=s.StaffVariantSerializer,
        responses={201: s.StaffVariantSerializer},
        tags=["catalog"],
    )
    def post(self, request: Request) -> Response:
        data = s.StaffVariantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        variant = services.variant_create(product=fields.pop("product"), **fields)
        return Response(s.StaffVariantSerializer(variant).data, status=status.HTTP_201_CREATED)


class VariantPriceView(GenericAPIView):
    access_policy = PUBLIC
    serializer_class = s.PriceSerializer

    @extend_schema(
        operation_id="variants_price",
        summary="The price of a variant for me",
        description="Unit price for the caller at a quantity: retail price, or the wholesale price list "
        "and volume breaks of an approved wholesale buyer.",
        parameters=[OpenApiParameter("quantity", OpenApiTypes.INT, description="Default 1.")],
        tags=["catalog"],
    )
    def get(self, request: Request, sku: str) -> Response:
        variant = selectors.variant_get_by_sku(sku=sku)
        if variant is None:
            raise NotFound("No such SKU.")
        try:
            quantity = max(1, min(int(request.query_params.get("quantity", 1)), 1_000_000))
        except ValueError as exc:
            raise InvalidInput(
                "quantity must be a whole number.", code="validation_error", details={"quantity": ["A whole number."]}
            ) from exc
        precision = getattr(getattr(connection, "tenant", None), "currency_precision", 2)
        unit = selectors.variant_price(variant=variant, user=request.user, quantity=quantity, precision=precision)
        body = {"sku": variant.sku, "quantity": quantity, "unit_price": unit, "retail_price": variant.price}
        return Response(s.PriceSerializer(body).data)


class VariantDetailView(VersionedView, GenericAPIView):
    serializer_class = s.StaffVariantSerializer
    access_policy = CATALOG_EDITORS

    def _variant(self, sku: str) -> Variant:
        variant = selectors.variant_get_by_sku(sku=sku, include_archived=True)
        if variant is None:
            raise NotFound("No such SKU.")
        return variant

    @extend_schema(
        operation_id="variants_get",
        summary="A variant (staff view)",
        description="Owners only: the variant with its cost, archived or not. Carries an `ETag` to send "
        "back as `If-Match` when editing.",
        parameters=VERSIONED_READ,
        tags=["catalog"],
    )
    def get(self, request: Request, sku: str) -> Response:
        variant = self._variant(sku)
        return self.versioned(s.StaffVariantSerializer(variant).data, variant)

    @extend_schema(
        operation_id="variants_update",
        summary="Update a variant",
        description="Owners only. With `If-Match: <ETag>` a stale edit answers 412 `precondition_failed` "
        "and changes nothing.",
        request=s.StaffVariantSerializer,
        responses=s.StaffVariantSerializer,
        parameters=VERSIONED_WRITE,
        tags=["catalog"],
    )
    def patch(self, request: Request, sku: str) -> Response:
        variant = self._variant(sku)
        expected = self.if_match(request, variant)
        data = s.StaffVariantSerializer(variant, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        variant = services.variant_update(variant=variant, expected_version=expected, **data.validated_data)
        return self.versioned(s.StaffVariantSerializer(variant).data, variant)

    @extend_schema(
        operation_id="variants_archive",
        summary="Archive a variant",
        description="Hidden from customers, kept for past orders and ledgers. Honours `If-Match`.",
        request=None,
        responses={204: None},
        parameters=VERSIONED_WRITE,
        tags=["catalog"],
    )
    def delete(self, request: Request, sku: str) -> Response:
        variant = self._variant(sku)
        variant = services.variant_archive(variant=variant, expected_version=self.if_match(request, variant))
        return self.versioned(None, variant, status.HTTP_204_NO_CONTENT)


class VariantCsvView(GenericAPIView):
    access_policy = CATALOG_EDITORS
    parser_classes = [MultiPartParser]
    serializer_class = s.CsvUploadSerializer

    @extend_schema(
        operation_id="variants_export_csv",
        summary="Export the catalog as CSV",
        description="One row per variant (archived ones included, marked).",
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=["catalog"],
    )
    def get(self, request: Request) -> HttpResponse:
        response = HttpResponse(variants_export_csv(Variant.objects.all()), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="catalog.csv"'
        return response

    @extend_schema(
        operation_id="variants_import_csv",
        summary="Import the catalog from CSV",
        description="Creates or updates variants by SKU (columns: " + ", ".join(COLUMNS) + "). "
        "All rows or none; bad rows are reported under `details.rows.<line>`.",
        request={"multipart/form-data": s.CsvUploadSerializer},
        responses={200: OpenApiTypes.OBJECT},
        tags=["catalog"],
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None or upload.size > 5 * 1024 * 1024:
            raise InvalidInput(
                "Attach a CSV file of at most 5 MB as `file`.",
                code="validation_error",
                details={"file": ["Required, at most 5 MB."]},
            )
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                "The file must be UTF-8 CSV.", code="validation_error", details={"file": ["Not UTF-8."]}
            ) from exc
        return Response(variants_import_csv(text))
