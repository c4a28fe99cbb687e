"""Catalog reads, including the one price answer every caller uses."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import JSONObject

from apps.catalog.models import PriceListEntry, Product, Variant, VariantImage

# The fields of a gallery picture a variant answers inline (its primary): see `with_primary_image`.
PRIMARY_IMAGE_FIELDS = ("id", "position", "alt_text", "is_primary", "width", "height", *VariantImage.FILE_FIELDS)


def with_primary_image(variants: QuerySet[Variant]) -> QuerySet[Variant]:
    """Variants annotated with `primary_image`: their primary picture as a dict (or None), read in
    the same statement (a correlated subquery on the one-primary-per-variant index), so a list of
    products or variants costs no extra query per row nor any extra round trip."""
    primary = VariantImage.objects.filter(variant_id=OuterRef("pk"), is_primary=True).values(
        data=JSONObject(**{name: F(name) for name in PRIMARY_IMAGE_FIELDS})
    )[:1]
    return variants.annotate(primary_image=Subquery(primary))


def product_list(*, include_archived: bool = False) -> QuerySet[Product]:
    variants = Variant.objects.all() if include_archived else Variant.objects.filter(is_archived=False)
    products = Product.objects.select_related("category").prefetch_related(
        Prefetch("variants", queryset=with_primary_image(variants.order_by("sku")))
    )
    return products if include_archived else products.filter(is_archived=False)


def variant_list(*, include_archived: bool = False) -> QuerySet[Variant]:
    variants = with_primary_image(Variant.objects.select_related("product", "product__category"))
    if not include_archived:
        variants = variants.filter(is_archived=False, product__is_archived=False)
    return variants


def variant_get_by_sku(*, sku: str, include_archived: bool = False) -> Variant | None:
    return variant_list(include_archived=include_archived).filter(sku=sku).first()


def variant_price(*, variant: Variant, user: object | None, quantity: int = 1, precision: int = 2) -> Decimal:
    """Unit price of `variant` for this caller at this quantity.

    Wholesale buyers of an approved account with a price-list group get the best volume break of
    their group's active price list (the entry with the highest minimum quantity not above
    `quantity`); everyone else gets the variant's retail price. Rounded half-up to the currency.
    """
    price = variant.price
    account = getattr(user, "wholesale_account", None) if getattr(user, "kind", None) == "wholesale" else None
    if account is not None and account.is_approved and account.price_list_group:
        entry = (
            PriceListEntry.objects.filter(
                variant=variant,
                price_list__customer_group=account.price_list_group,
                price_list__is_active=True,
                min_quantity__lte=max(quantity, 1),
            )
            .order_by("-min_quantity")
            .first()
        )
        if entry is not None:
            price = entry.unit_price
    return price.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)


def variant_images(*, variant: Variant) -> QuerySet[VariantImage]:
    """A variant's gallery in order."""
    return VariantImage.objects.filter(variant_id=variant.pk).order_by("position", "id")
