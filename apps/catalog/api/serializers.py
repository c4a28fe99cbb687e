from typing import Any

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.catalog.models import Category, Product, Variant, VariantImage
from apps.core.api.fields import IdField, ImageUrlField
from apps.core.api.serializers import CsvUploadSerializer  # noqa: F401 - re-exported for the views


class ImageUrlsSerializer(serializers.Serializer):
    original = serializers.CharField(help_text="The sanitised master, at most 2400 px a side.")
    full = serializers.CharField(help_text="At most 1200 px a side.")
    card = serializers.CharField(help_text="At most 480 px a side.")
    thumb = serializers.CharField(help_text="At most 160 px a side.")


class VariantImageSerializer(serializers.Serializer):
    """A gallery picture, from a VariantImage or from the `primary_image` dict of
    apps.catalog.selectors.with_primary_image (same shape either way)."""

    id = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(read_only=True, help_text="Order in the gallery, from 0.")
    alt_text = serializers.CharField(read_only=True)
    is_primary = serializers.BooleanField(read_only=True)
    width = serializers.IntegerField(read_only=True, help_text="Of the master (the aspect ratio of every URL).")
    height = serializers.IntegerField(read_only=True, help_text="Of the master.")
    urls = serializers.SerializerMethodField(
        help_text="WebP files by rendition: paths on this host, immutable (cached for a year)."
    )

    @extend_schema_field(ImageUrlsSerializer)
    def get_urls(self, image: VariantImage | dict[str, Any]) -> dict[str, str]:
        if isinstance(image, dict):
            return {field: default_storage.url(image[field]) for field in VariantImage.FILE_FIELDS}
        return {field: getattr(image, field).url for field in VariantImage.FILE_FIELDS}


class VariantSerializer(serializers.ModelSerializer):
    primary_image = serializers.SerializerMethodField(help_text="The gallery's primary picture, or null.")

    @extend_schema_field(VariantImageSerializer(allow_null=True))
    def get_primary_image(self, variant: Variant) -> dict[str, Any] | None:
        if hasattr(variant, "primary_image"):  # annotated by the selectors: no query here
            data = variant.primary_image
        else:  # a single variant read without the annotation (create / update answers)
            data = VariantImage.objects.filter(variant_id=variant.pk, is_primary=True).first()
        return VariantImageSerializer(data).data if data else None

    class Meta:
        model = Variant
        fields = [
            "id",
            "sku",
            "barcode",
            "name",
            "price",
            "compare_at_price",
            "weight_grams",
            "size",
            "tracks_lots",
            "is_archived",
            "primary_image",
        ]
        read_only_fields = ["id", "is_archived", "primary_image"]


class StaffVariantSerializer(VariantSerializer):
    class Meta(VariantSerializer.Meta):
        fields = [*VariantSerializer.Meta.fields, "cost_per_unit", "product"]
        read_only_fields = ["id", "is_archived"]


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent"]


class ProductSerializer(serializers.ModelSerializer):
    category = CategorySerializer(read_only=True)
    category_id = serializers.PrimaryKeyRelatedField(
        source="category", queryset=Category.objects.all(), write_only=True, required=False, allow_null=True
    )
    variants = VariantSerializer(many=True, read_only=True)
    image = ImageUrlField()

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "brand",
            "category",
            "category_id",
            "flavour_profile",
            "heat_level",
            "allergens",
            "attributes",
            "image",
            "is_archived",
            "variants",
        ]
        read_only_fields = ["id", "image", "is_archived", "variants"]


class PriceSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    retail_price = serializers.DecimalField(max_digits=12, decimal_places=2)


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.ImageField(help_text="JPEG, PNG or WebP, at most 5 MB.")


class VariantImageUploadSerializer(serializers.Serializer):
    image = serializers.ImageField(help_text="JPEG, PNG or WebP, at most 5 MB and 6000 px a side.")
    alt_text = serializers.CharField(required=False, allow_blank=True, max_length=250, default="")
    is_primary = serializers.BooleanField(
        required=False, default=False, help_text="Make it the primary (the first picture always is)."
    )


class VariantImageUpdateSerializer(serializers.Serializer):
    alt_text = serializers.CharField(required=False, allow_blank=True, max_length=250)
    is_primary = serializers.BooleanField(
        required=False, help_text="true makes it the primary (the old one is unset); the primary cannot be unset."
    )


class VariantImageOrderSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=IdField(), max_length=100, help_text="Every picture of the variant, once each, in the new order."
    )
