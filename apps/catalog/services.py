"""Catalog writes. Nothing is deleted: archiving hides an item from customers and keeps it for
past orders and ledgers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Product, Variant
from apps.core.errors import InvalidInput
from apps.core.versioning import NEXT_VERSION, bump


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
def product_update(*, product: Product, expected_version: int | None = None, **fields: Any) -> Product:
    """`expected_version` (the If-Match the client sent): the edit applies only to that version."""
    bump(product, expected_version=expected_version)
    # Re-read under the lock bump took: the copy the view read may predate a write this one
    # waited for (an archive, another field's edit), and the save writes every column.
    product.refresh_from_db()
    _save(product, fields)
    return product


@transaction.atomic
def product_image_set(*, product: Product, image: Any, expected_version: int | None = None) -> Product:
    bump(product, expected_version=expected_version)
    product.image.save(image.name, image, save=False)
    product.save(update_fields=["image", "version", "updated_at"])
    return product


@transaction.atomic
def product_archive(*, product: Product, expected_version: int | None = None) -> Product:
    bump(product, expected_version=expected_version)
    now = timezone.now()
    product.variants.filter(is_archived=False).update(is_archived=True, archived_at=now, version=NEXT_VERSION)
    product.is_archived, product.archived_at = True, now
    product.save(update_fields=["is_archived", "archived_at", "version", "updated_at"])
    return product


@transaction.atomic
def variant_create(*, product: Product, **fields: Any) -> Variant:
    variant = Variant(product=product)
    _save(variant, fields)
    return variant


@transaction.atomic
def variant_update(*, variant: Variant, expected_version: int | None = None, **fields: Any) -> Variant:
    bump(variant, expected_version=expected_version)
    variant.refresh_from_db()  # as in product_update: only `fields` change, not the other columns
    _save(variant, fields)
    return variant


@transaction.atomic
def variant_archive(*, variant: Variant, expected_version: int | None = None) -> Variant:
    bump(variant, expected_version=expected_version)
    variant.is_archived, variant.archived_at = True, timezone.now()
    variant.save(update_fields=["is_archived", "archived_at", "version"])
    return variant
