"""Catalog writes. Nothing is deleted: archiving hides an item from customers and keeps it for
past orders and ledgers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Product, Variant
from apps.core.errors import InvalidInput


def _save(instance: Product | Variant, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise InvalidInput("Invalid input.", code="validation_error", details=exc.message_dict) from exc
    instance.save()


@transaction.atomic
def product_create(**fields: Any) -> Product:
    product = Product()
    _save(product, fields)
    return product


@transaction.atomic
def product_update(*, product: Product, **fields: Any) -> Product:
    _save(product, fields)
    return product


@transaction.atomic
def product_archive(*, product: Product) -> Product:
    now = timezone.now()
    product.variants.filter(is_archived=False).update(is_archived=True, archived_at=now)
    product.is_archived, product.archived_at = True, now
    product.save(update_fields=["is_archived", "archived_at", "updated_at"])
    return product


@transaction.atomic
def variant_create(*, product: Product, **fields: Any) -> Variant:
    variant = Variant(product=product)
    _save(variant, fields)
    return variant


@transaction.atomic
def variant_update(*, variant: Variant, **fields: Any) -> Variant:
    _save(variant, fields)
    return variant


@transaction.atomic
def variant_archive(*, variant: Variant) -> Variant:
    variant.is_archived, variant.archived_at = True, timezone.now()
    variant.save(update_fields=["is_archived", "archived_at"])
    return variant
