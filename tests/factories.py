"""Small factories for catalog and stock rows (call them inside the tenant's schema)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from apps.catalog.models import Category, Product, Variant
from apps.stock.models import Location
from apps.stock.services import ReceiptLine, stock_receive

_seq = itertools.count(1)


def location(code: str | None = None, kind: str = "store", **extra) -> Location:
    n = next(_seq)
    return Location.objects.create(name=f"Location {n}", code=code or f"loc-{n}", kind=kind, **extra)


def variant(sku: str | None = None, price: str = "9.99", tracks_lots: bool = False, **extra) -> Variant:
    n = next(_seq)
    category = Category.objects.get_or_create(slug="sauces", defaults={"name": "Sauces"})[0]
    product = Product.objects.create(name=f"Hot Sauce {n}", slug=f"hot-sauce-{n}", category=category)
    return Variant.objects.create(
        product=product, sku=sku or f"SKU-{n}", name="250 ml", price=Decimal(price), tracks_lots=tracks_lots, **extra
    )


def receive(
    loc: Location,
    var: Variant,
    quantity: int,
    *,
    batch: str = "",
    expires_in_days: int | None = None,
    reference: str = "test",
) -> None:
    expiry = dt.date.today() + dt.timedelta(days=expires_in_days) if expires_in_days is not None else None
    if var.tracks_lots and not batch:
        batch = f"B{next(_seq)}"
    if var.tracks_lots and expiry is None:
        expiry = dt.date.today() + dt.timedelta(days=365)
    stock_receive(location=loc, lines=[ReceiptLine(var, quantity, batch, None, expiry)], reference=reference)
