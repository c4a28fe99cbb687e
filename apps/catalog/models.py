"""Catalog: categories, products, variants (the sellable unit with its own SKU and price),
suppliers and their costs, wholesale price lists with volume breaks. Archived items disappear
for customers and stay referenced by past orders and ledgers (nothing is ever deleted)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.catalog.validators import validate_image

ZERO = Decimal("0")


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        node, seen = self.parent, set()
        while node is not None:
            if node.pk == self.pk or node.pk in seen:
                raise ValidationError({"parent": "A category cannot be inside itself."})
            seen.add(node.pk)
            node = node.parent


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=120, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products")
    flavour_profile = models.CharField(max_length=200, blank=True)
    heat_level = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)], help_text="0 (mild) to 10."
    )
    allergens = models.JSONField(default=list, blank=True, help_text='e.g. ["mustard", "sesame"]')
    attributes = models.JSONField(default=dict, blank=True)
    image = models.ImageField(upload_to="products/", blank=True, validators=[validate_image])
    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped by every write (ETag).")

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["is_archived", "name"])]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    barcode = models.CharField(max_length=64, blank=True, db_index=True)
    name = models.CharField(max_length=120, help_text="e.g. '250 ml bottle'")
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(ZERO)])
    compare_at_price = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )
    cost_per_unit = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    size = models.CharField(max_length=40, blank=True)
    tracks_lots = models.BooleanField(
        default=True, help_text="Stock is kept in lots (batch, expiry) and picked first-expiry-first-out."
    )
    # Deprecated: the gallery (VariantImage) replaced it; migration 0004 copied every image into it
    # as the primary. Nothing reads or writes it any more; the column goes in the next release, once
    # no running process of the previous release selects it.
    image = models.ImageField(
        upload_to="variants/",
        blank=True,
        editable=False,
        validators=[validate_image],
        help_text="Deprecated: use the gallery (VariantImage).",
    )
    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped by every write (ETag).")

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="variant_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    def clean(self) -> None:
        if self.compare_at_price is not None and self.compare_at_price < self.price:
            raise ValidationError({"compare_at_price": "The compare-at price must not be below the price."})


class VariantImage(models.Model):
    """One picture of a variant's gallery, stored as re-encoded WebP renditions (apps.catalog.images)
    named by their content. A gallery that has images has exactly one primary (the services keep
    it so; the database refuses a second)."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveIntegerField(default=0, help_text="Order in the gallery, from 0.")
    alt_text = models.CharField(max_length=250, blank=True, help_text="Describes the picture for screen readers.")
    is_primary = models.BooleanField(default=False)
    original = models.FileField(max_length=255, editable=False, help_text="Sanitised master, at most 2400 px.")
    full = models.FileField(max_length=255, editable=False, help_text="At most 1200 px a side.")
    card = models.FileField(max_length=255, editable=False, help_text="At most 480 px a side.")
    thumb = models.FileField(max_length=255, editable=False, help_text="At most 160 px a side.")
    width = models.PositiveIntegerField(default=0, editable=False, help_text="Of the master.")
    height = models.PositiveIntegerField(default=0, editable=False, help_text="Of the master.")
    created_at = models.DateTimeField(auto_now_add=True)

    FILE_FIELDS = ("original", "full", "card", "thumb")

    class Meta:
        ordering = ["variant", "position", "id"]
        indexes = [models.Index(fields=["variant", "position"], name="catalog_vimage_variant_pos")]
        constraints = [
            models.UniqueConstraint(
                fields=["variant"], condition=Q(is_primary=True), name="one_primary_image_per_variant"
            ),
        ]

    def __str__(self) -> str:
        return f"image {self.pk} of {self.variant_id}"


class Supplier(models.Model):
    name = models.CharField(max_length=200)
    contact_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    lead_time_days = models.PositiveSmallIntegerField(default=7)
    is_archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SupplierVariant(models.Model):
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="offers")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="supplier_offers")
    supplier_sku = models.CharField(max_length=64, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=4, validators=[MinValueValidator(ZERO)])
    minimum_order_quantity = models.PositiveIntegerField(default=1)
    is_preferred = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["supplier", "variant"], name="supplier_variant_unique"),
            models.UniqueConstraint(
                fields=["variant"], condition=Q(is_preferred=True), name="one_preferred_supplier_per_variant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier} / {self.variant.sku}"


class PriceList(models.Model):
    """Wholesale prices for the accounts of one customer group (WholesaleAccount.price_list_group)."""

    name = models.CharField(max_length=120)
    customer_group = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped by every write (ETag).")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PriceListEntry(models.Model):
    """Unit price from `min_quantity` units up (volume breaks: several rows per variant)."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="entries")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="price_list_entries")
    min_quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(ZERO)])
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped by every write (ETag).")

    class Meta:
        ordering = ["variant", "min_quantity"]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "variant", "min_quantity"], name="price_break_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} x{self.min_quantity}+ @ {self.unit_price}"
