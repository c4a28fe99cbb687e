"""Promotions (automatic, no code) and coupons (entered codes), priced by apps.promotions.pricing.

Both share the offer fields: what they give (percent, amount, fixed price, buy X get Y, tiers),
on what (scope: the order, categories, products or variants), when (a window stored in UTC and
entered in the tenant's time zone), to whom (channels, loyalty tiers), and with what else
(`exclusive`, `combines_with` levels). Coupons add their codes, usage limits and the redemptions
counted inside the order's transaction.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.catalog.models import Category, Product, Variant

ZERO = Decimal("0")
LEVEL_CHOICES = [("item", "Item discounts"), ("order", "Order discounts"), ("delivery", "Delivery discounts")]
CHANNEL_CHOICES = [("retail", "Retail"), ("wholesale", "Wholesale")]
TIER_CHOICES = [("scoops", "Scoops"), ("silver", "Silver"), ("gold", "Gold"), ("diamond", "Diamond")]


def default_levels() -> list[str]:
    return ["item", "order", "delivery"]


def default_channels() -> list[str]:
    return ["retail", "wholesale"]


class Scope(models.TextChoices):
    ORDER = "order", "Whole order"
    CATEGORY = "category", "Categories"
    PRODUCT = "product", "Products / variants"


def validate_tiers(value: object) -> None:
    """[{"threshold": "12", "unit_price": "3.50"} | {"threshold": ..., "percent": "10"} | {..., "amount": "2"}]"""
    if not isinstance(value, list):
        raise ValidationError("A list of steps.")
    for step in value:
        if not isinstance(step, dict) or "threshold" not in step:
            raise ValidationError("Each step needs a threshold.")
        given = [k for k in ("percent", "amount", "unit_price") if step.get(k) not in (None, "")]
        if len(given) != 1:
            raise ValidationError("Each step gives exactly one of percent, amount or unit_price.")
        try:
            numbers = [Decimal(str(step["threshold"])), Decimal(str(step[given[0]]))]
        except Exception as exc:
            raise ValidationError("Steps hold numbers.") from exc
        if any(n < 0 or not n.is_finite() for n in numbers) or (given[0] == "percent" and numbers[1] > 100):
            raise ValidationError("Steps hold numbers from 0 (percent up to 100).")


class OfferBase(models.Model):
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.ORDER)
    categories = models.ManyToManyField(Category, blank=True, related_name="+")
    products = models.ManyToManyField(Product, blank=True, related_name="+")
    variants = models.ManyToManyField(Variant, blank=True, related_name="+")
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("100"))],
    )
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )
    fixed_price = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )
    buy_quantity = models.PositiveSmallIntegerField(null=True, blank=True)
    get_quantity = models.PositiveSmallIntegerField(null=True, blank=True)
    get_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("100"),
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("100"))],
        help_text="Buy X get Y: how much off the Y units (100 = free).",
    )
    tiers = models.JSONField(default=list, blank=True, validators=[validate_tiers])
    min_spend = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
        help_text="On the eligible items after item discounts.",
    )
    cap = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
        help_text="The most this offer takes off one order.",
    )
    channels = ArrayField(models.CharField(max_length=12, choices=CHANNEL_CHOICES), default=default_channels)
    loyalty_tiers = ArrayField(
        models.CharField(max_length=12, choices=TIER_CHOICES), default=list, blank=True, help_text="Empty: everyone."
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True, help_text="Off: paused.")
    priority = models.IntegerField(default=0, help_text="Higher wins a tie on saving.")
    exclusive = models.BooleanField(default=False, help_text="Applies alone, never with another offer.")
    combines_with = ArrayField(
        models.CharField(max_length=12, choices=LEVEL_CHOICES),
        default=default_levels,
        blank=True,
        help_text="The levels of other offers it may be applied with (both must allow each other).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "After the start."
        needs = {
            "percent": ["percent"],
            "amount": ["amount"],
            "fixed_price": ["fixed_price"],
            "bxgy": ["buy_quantity", "get_quantity"],
            "volume": ["tiers"],
            "tiered_spend": ["tiers"],
        }.get(self.mechanic, [])
        for name in needs:
            if getattr(self, name) in (None, "", []):
                errors[name] = "Required for this type."
        if errors:
            raise ValidationError(errors)

    @property
    def mechanic(self) -> str:
        """What the offer gives (percent, amount, fixed_price, bxgy, volume, …): its kind, unless
        the subclass maps kinds onto mechanics (coupons do)."""
        return self.kind


class Promotion(OfferBase):
    """Applied automatically, without a code."""

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        AMOUNT = "amount", "Amount off"
        FIXED_PRICE = "fixed_price", "Fixed price"
        BXGY = "bxgy", "Buy X get Y"
        VOLUME = "volume", "Volume tier (case prices)"
        FREE_DELIVERY = "free_delivery", "Free delivery over a threshold"

    kind = models.CharField(max_length=16, choices=Kind.choices)

    class Meta:
        ordering = ["-priority", "id"]
        indexes = [models.Index(fields=["is_active", "ends_at"])]


class Coupon(OfferBase):
    """Applied when one of its codes is entered."""

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        AMOUNT = "amount", "Fixed amount off"
        FREE_DELIVERY = "free_delivery", "Free delivery"
        BXGY = "bxgy", "Buy X get Y"
        FREE_GIFT = "free_gift", "Free gift item"
        TIERED_SPEND = "tiered_spend", "Tiered spend"
        FIRST_ORDER = "first_order", "First order"
        BIRTHDAY = "birthday", "Birthday"
        REFERRAL = "referral", "Referral"
        WIN_BACK = "win_back", "Win-back"

    class ReferralRole(models.TextChoices):
        FRIEND = "friend", "The friend's welcome"
        REFERRER = "referrer", "The referrer's reward"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    gift_variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    usage_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Uses in total; empty: unlimited.")
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True, default=1, help_text="Empty: unlimited.")
    uses = models.PositiveIntegerField(default=0, editable=False)
    single_use_codes = models.BooleanField(default=False, help_text="Each code works once (bulk campaigns).")
    referral_role = models.CharField(max_length=10, choices=ReferralRole.choices, blank=True)
    window_days = models.PositiveSmallIntegerField(
        default=7, help_text="Birthday: days before and after the birthday the code is valid."
    )
    inactive_days = models.PositiveSmallIntegerField(
        default=90, help_text="Win-back: customers with no order for this many days get a code."
    )
    valid_days = models.PositiveSmallIntegerField(
        default=30, help_text="Issued codes (win-back, referral) stay valid this many days."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(uses__lte=models.F("usage_limit")), name="coupon_uses_limit"
            )
        ]

    @property
    def mechanic(self) -> str:
        """What the coupon gives: the customer types give a percent (if set) or an amount."""
        if self.kind in {self.Kind.FIRST_ORDER, self.Kind.BIRTHDAY, self.Kind.REFERRAL, self.Kind.WIN_BACK}:
            return "percent" if self.percent is not None else "amount"
        return self.kind

    def clean(self) -> None:
        super().clean()
        if self.kind == self.Kind.FREE_GIFT and self.gift_variant_id is None:
            raise ValidationError({"gift_variant": "Required for a free gift."})
        if self.kind == self.Kind.REFERRAL and not self.referral_role:
            raise ValidationError({"referral_role": "Friend or referrer."})
        if self.mechanic in {"percent", "amount"} and self.percent is None and self.amount is None:
            raise ValidationError({"percent": "Give a percent or an amount."})


class CouponCode(models.Model):
    """A code of a coupon; stored upper-case (codes are case-insensitive)."""

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Issued to this customer only (birthday, referral, win-back).",
    )
    issue_key = models.CharField(max_length=64, blank=True, help_text="e.g. birthday:2026 (once per key).")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="1 for single-use codes.")
    uses = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["coupon", "customer", "issue_key"],
                condition=~Q(issue_key=""),
                name="coupon_code_issued_once",
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses__lte=models.F("max_uses")), name="coupon_code_uses_limit"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CouponCustomerUse(models.Model):
    """Uses of one coupon by one customer (the per-customer limit, counted with one upsert)."""

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="customer_uses")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    uses = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["coupon", "customer"], name="coupon_customer_use_unique")]

    def __str__(self) -> str:
        return f"{self.coupon_id}/{self.customer_id}: {self.uses}"


class Redemption(models.Model):
    """A code used by an order (counted in the order's transaction; given back on cancellation)."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    code = models.ForeignKey(CouponCode, on_delete=models.PROTECT, related_name="redemptions")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="redemptions")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["order", "coupon"], name="redemption_once_per_order")]

    def __str__(self) -> str:
        return f"{self.code} on {self.order_id}"
