"""CSV import and export of the catalog (one row per variant)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import slugify

from apps.catalog.models import Category, Product, Variant
from apps.core.errors import InvalidInput
from apps.core.versioning import NEXT_VERSION

COLUMNS = [
    "sku",
    "product",
    "variant_name",
    "category",
    "brand",
    "price",
    "compare_at_price",
    "barcode",
    "heat_level",
    "tracks_lots",
    "archived",
]
MAX_ROWS = 10_000


def variants_export_csv(variants: QuerySet[Variant]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for v in variants.select_related("product", "product__category").order_by("sku"):
        writer.writerow(
            [
                v.sku,
                v.product.name,
                v.name,
                v.product.category.name if v.product.category else "",
                v.product.brand,
                v.price,
                v.compare_at_price or "",
                v.barcode,
                v.product.heat_level if v.product.heat_level is not None else "",
                "yes" if v.tracks_lots else "no",
                "yes" if v.is_archived else "no",
            ]
        )
    return out.getvalue()


def _decimal(value: str, field: str, errors: dict, required: bool = True) -> Decimal | None:
    if not value.strip():
        if required:
            errors[field] = ["Required."]
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        errors[field] = ["Not a number."]
        return None
    if number < 0 or number.as_tuple().exponent < -2:
        errors[field] = ["A non-negative amount with at most 2 decimals."]
    return number


@transaction.atomic
def variants_import_csv(text: str) -> dict[str, int]:
    """Create or update variants (and their products and categories) by SKU. All rows or none:
    every bad row is reported under `details.rows.<line number>`."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"sku", "product", "variant_name", "price"} - set(reader.fieldnames or [])
    if missing:
        raise InvalidInput(
            "The CSV misses columns.",
            code="validation_error",
            details={"columns": [f"Missing: {', '.join(sorted(missing))}"]},
        )
    rows = list(reader)
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"At most {MAX_ROWS} rows per file.", code="validation_error")
    errors: dict[str, dict] = {}
    seen: set[str] = set()
    parsed = []
    for number, row in enumerate(rows, start=2):
        row_errors: dict[str, list[str]] = {}
        sku = (row.get("sku") or "").strip()
        if not sku or len(sku) > 64:
            row_errors["sku"] = ["1 to 64 characters."]
        elif sku in seen:
            row_errors["sku"] = ["Appears twice in the file."]
        seen.add(sku)
        if not (row.get("product") or "").strip():
            row_errors["product"] = ["Required."]
        price = _decimal(row.get("price") or "", "price", row_errors)
        compare = _decimal(row.get("compare_at_price") or "", "compare_at_price", row_errors, required=False)
        if price is not None and compare is not None and compare < price:
            row_errors["compare_at_price"] = ["Below the price."]
        heat = (row.get("heat_level") or "").strip()
        if heat and (not heat.isdigit() or int(heat) > 10):
            row_errors["heat_level"] = ["0 to 10."]
        if row_errors:
            errors[str(number)] = row_errors
        parsed.append((row, sku, price, compare, int(heat) if heat.isdigit() else None))
    if errors:
        raise InvalidInput(
            f"{len(errors)} rows are not valid; nothing was imported.",
            code="validation_error",
            details={"rows": errors},
        )
    created = updated = 0
    for row, sku, price, compare, heat in parsed:
        category = None
        if (row.get("category") or "").strip():
            name = row["category"].strip()
            category, _ = Category.objects.get_or_create(
                slug=slugify(name)[:140] or "category", defaults={"name": name}
            )
        product_name = row["product"].strip()
        product, _ = Product.objects.get_or_create(
            slug=slugify(product_name)[:220] or sku.lower(), defaults={"name": product_name, "category": category}
        )
        changed = []
        for field, value in (
            ("brand", (row.get("brand") or "").strip()),
            ("heat_level", heat),
            ("category", category),
        ):
            if value not in (None, "") and getattr(product, field) != value:
                setattr(product, field, value)
                changed.append(field)
        if changed:
            product.version = NEXT_VERSION  # every write bumps the ETag's version
            product.save(update_fields=[*changed, "version"])
        variant_fields = {
            "product": product,
            "name": (row.get("variant_name") or "").strip() or sku,
            "price": price,
            "compare_at_price": compare,
            "barcode": (row.get("barcode") or "").strip(),
            "tracks_lots": (row.get("tracks_lots") or "yes").strip().lower() not in {"no", "false", "0"},
            "is_archived": (row.get("archived") or "no").strip().lower() in {"yes", "true", "1"},
        }
        _, was_created = Variant.objects.update_or_create(
            sku=sku, defaults={**variant_fields, "version": NEXT_VERSION}, create_defaults=variant_fields
        )
        created, updated = created + was_created, updated + (not was_created)
    return {"created": created, "updated": updated}
