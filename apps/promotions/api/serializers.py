import datetime as dt
from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from apps.catalog.models import Category, Product, Variant
from apps.core.api.fields import QuantityField, StrictIntegerField
from apps.orders.models import Order
from apps.promotions.models import Coupon, CouponCode, Promotion, Redemption

MONEY_MAX = Decimal("9999999999.99")  # numeric(12, 2)
OFFER_FIELDS = [
    "id",
    "name",
    "description",
    "kind",
    "scope",
    "category_ids",
    "product_ids",
    "variant_ids",
    "percent",
    "amount",
    "fixed_price",
    "buy_quantity",
    "get_quantity",
    "get_percent",
    "tiers",
    "min_spend",
    "cap",
    "channels",
    "loyalty_tiers",
    "starts_at",
    "ends_at",
    "is_active",
    "priority",
    "exclusive",
    "combines_with",
    "created_at",
    "updated_at",
]


class TenantDateTimeField(serializers.DateTimeField):
    """A date-time without an offset is read in the tenant's time zone (shop hours)."""

    def enforce_timezone(self, value: dt.datetime) -> dt.datetime:
        if timezone.is_naive(value):
            from apps.promotions.services import tenant_tz

            return value.replace(tzinfo=tenant_tz())
        return super().enforce_timezone(value)


class _OfferSerializer(serializers.ModelSerializer):
    category_ids = serializers.PrimaryKeyRelatedField(
        source="categories", many=True, queryset=Category.objects.all(), required=False
    )
    product_ids = serializers.PrimaryKeyRelatedField(
        source="products", many=True, queryset=Product.objects.all(), required=False
    )
    variant_ids = serializers.PrimaryKeyRelatedField(
        source="variants", many=True, queryset=Variant.objects.all(), required=False
    )
    starts_at = TenantDateTimeField(required=False, allow_null=True)
    ends_at = TenantDateTimeField(required=False, allow_null=True)
    buy_quantity = StrictIntegerField(min_value=1, max_value=1000, required=False, allow_null=True)
    get_quantity = StrictIntegerField(min_value=1, max_value=1000, required=False, allow_null=True)
    priority = StrictIntegerField(min_value=-1000, max_value=1000, required=False)
    percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, allow_null=True
    )
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, max_value=MONEY_MAX, required=False, allow_null=True
    )
    fixed_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, max_value=MONEY_MAX, required=False, allow_null=True
    )
    min_spend = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, max_value=MONEY_MAX, required=False, allow_null=True
    )
    cap = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, max_value=MONEY_MAX, required=False, allow_null=True
    )

    def split(self) -> tuple[dict, dict]:
        data = dict(self.validated_data)
        scopes = {name: data.pop(name) for name in ("categories", "products", "variants") if name in data}
        return data, scopes


class PromotionSerializer(_OfferSerializer):
    class Meta:
        model = Promotion
        fields = OFFER_FIELDS
        read_only_fields = ["id", "created_at", "updated_at"]


class CouponSerializer(_OfferSerializer):
    gift_variant_id = serializers.PrimaryKeyRelatedField(
        source="gift_variant", queryset=Variant.objects.all(), required=False, allow_null=True
    )
    usage_limit = StrictIntegerField(min_value=0, required=False, allow_null=True)
    per_customer_limit = StrictIntegerField(min_value=0, required=False, allow_null=True)
    window_days = StrictIntegerField(min_value=0, max_value=60, required=False)
    inactive_days = StrictIntegerField(min_value=1, max_value=3650, required=False)
    valid_days = StrictIntegerField(min_value=1, max_value=3650, required=False)

    class Meta:
        model = Coupon
        fields = [
            *OFFER_FIELDS,
            "gift_variant_id",
            "usage_limit",
            "per_customer_limit",
            "uses",
            "single_use_codes",
            "referral_role",
            "window_days",
            "inactive_days",
            "valid_days",
        ]
        read_only_fields = ["id", "uses", "created_at", "updated_at"]


class OfferPauseSerializer(serializers.Serializer):
    active = serializers.BooleanField(help_text="false pauses, true resumes.")


class CouponCodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = CouponCode
        fields = ["id", "code", "customer", "issue_key", "valid_from", "valid_until", "max_uses", "uses", "created_at"]


class CodesCreateSerializer(serializers.Serializer):
    count = QuantityField(max_value=10_000, required=False, help_text="Generate this many random unique codes.")
    prefix = serializers.RegexField(r"^[A-Za-z0-9]{0,10}$", max_length=10, required=False, default="")
    code = serializers.CharField(max_length=40, required=False, help_text="Or create this one code.")
    max_uses = StrictIntegerField(min_value=1, required=False, allow_null=True, default=None)

    def validate(self, data: dict) -> dict:
        if ("count" in data) == ("code" in data):
            raise serializers.ValidationError({"count": ["Give either count or code."]})
        return data


class CouponUsageSerializer(serializers.Serializer):
    coupon = serializers.IntegerField()
    uses = serializers.IntegerField()
    usage_limit = serializers.IntegerField(allow_null=True)
    redemptions = serializers.IntegerField()
    released = serializers.IntegerField()
    discount_given = serializers.DecimalField(max_digits=14, decimal_places=2)
    codes = serializers.IntegerField()
    codes_used = serializers.IntegerField()
    customers = serializers.IntegerField()


class RedemptionSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="code.code")
    order = serializers.CharField(source="order.number")

    class Meta:
        model = Redemption
        fields = ["id", "code", "order", "customer", "amount", "created_at", "released_at"]


class CartQuoteLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = QuantityField(max_value=10_000)


class CartQuoteInputSerializer(serializers.Serializer):
    lines = CartQuoteLineInputSerializer(many=True, min_length=1, max_length=200)
    coupon_codes = serializers.ListField(child=serializers.CharField(max_length=40), max_length=5, default=list)
    fulfilment = serializers.ChoiceField(choices=Order.Fulfilment.choices, default="pickup")
    delivery_fee = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, max_value=MONEY_MAX, default=0
    )


class PreviewInputSerializer(CartQuoteInputSerializer):
    customer_id = StrictIntegerField(min_value=1, required=False, allow_null=True, default=None)
    channel = serializers.ChoiceField(choices=["retail", "wholesale"], default="retail")


class OfferAppliedSerializer(serializers.Serializer):
    offer = serializers.CharField(help_text="promotion:<id> or coupon:<id>")
    name = serializers.CharField()
    type = serializers.CharField()
    code = serializers.CharField(allow_blank=True)
    level = serializers.ChoiceField(choices=["item", "order", "delivery"])
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    reason = serializers.CharField()


class OfferConsideredSerializer(serializers.Serializer):
    offer = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    code = serializers.CharField(allow_blank=True)
    level = serializers.CharField()
    status = serializers.ChoiceField(choices=["applied", "lost", "not_applicable"])
    reason = serializers.CharField()


class CartQuoteLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    gift = serializers.BooleanField()
    discounts = OfferAppliedSerializer(many=True)


class CodeCheckSerializer(serializers.Serializer):
    code = serializers.CharField()
    valid = serializers.BooleanField()
    message = serializers.CharField()


class CartQuoteSerializer(serializers.Serializer):
    currency = serializers.CharField()
    lines = CartQuoteLineSerializer(many=True)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    item_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    order_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    delivery_fee = serializers.DecimalField(max_digits=12, decimal_places=2)
    delivery_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    applied = OfferAppliedSerializer(many=True)
    considered = OfferConsideredSerializer(many=True)
    codes = CodeCheckSerializer(many=True)
