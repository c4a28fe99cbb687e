from rest_framework import serializers

from apps.catalog.models import Category, Product, Variant
from apps.core.api.fields import ImageUrlField
from apps.core.api.serializers import CsvUploadSerializer  # noqa: F401 - re-exported for the views


class VariantSerializer(serializers.ModelSerializer):
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
        ]
        read_only_fields = ["id", "is_archived"]


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
