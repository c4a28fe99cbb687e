"""Pieces shared by the benchmarks: Django set-up, the hot/pool stock fixture, database probes,
percentiles and the ledger check."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def django_setup() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def seed_hot_and_pool(*, variants: int, stock: int, hot_stock: int, pickup: bool = False) -> tuple:
    """A store, one lot-tracked hot variant in three lots (later expiry received first, so FEFO
    walks across lots as it sells out) and `variants` pool variants with two lots each.
    Returns (location, hot variant, pool variants)."""
    import datetime as dt

    from apps.catalog.models import Category, Product, Variant
    from apps.stock.models import Location
    from apps.stock.services import ReceiptLine, stock_receive

    today = dt.date.today()
    expiries = [today + dt.timedelta(days=d) for d in (30, 60, 90)]
    location = Location.objects.create(
        name="Bench store", code="bench-store", kind=Location.Kind.STORE, pickup_enabled=pickup
    )
    category = Category.objects.create(name="Bench", slug="bench")
    product = Product.objects.create(name="Bench hot sauce", slug="bench-hot-sauce", category=category)
    created = Variant.objects.bulk_create(
        [
            Variant(product=product, sku=f"BENCH-{i:05d}", name=f"Bench {i}", price="4.50", tracks_lots=True)
            for i in range(variants + 1)
        ]
    )
    hot, pool = created[0], created[1:]
    third = hot_stock // 3
    hot_lots = [(expiries[2], third), (expiries[0], third), (expiries[1], hot_stock - 2 * third)]
    lines = [ReceiptLine(hot, qty, f"HOT-{n}", None, exp) for n, (exp, qty) in enumerate(hot_lots) if qty > 0]
    half = stock // 2
    for variant in pool:
        lines.append(ReceiptLine(variant, stock - half, f"{variant.sku}-B", None, expiries[1]))
        lines.append(ReceiptLine(variant, half, f"{variant.sku}-A", None, expiries[0]))
    stock_receive(location=location, lines=[line for line in lines if line.quantity > 0], reference="bench-setup")
    return location, hot, pool


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    rank = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def db_counters() -> tuple[int, int]:
    """(deadlocks, rollbacks) of this database so far."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks, xact_rollback FROM pg_stat_database WHERE datname = current_database()")
        deadlocks, rollbacks = cursor.fetchone()
    return deadlocks, rollbacks


def lock_waiters() -> int:
    """Backends of this database waiting on a lock right now."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"""
        )
        return cursor.fetchone()[0]


def stock_rows_against_ledger() -> list[str]:
    """Every stock row equals the sum of its movements; returns the mismatches (empty when fine)."""
    from django.db.models import Sum

    from apps.stock.models import Movement, StockItem

    by_item = {
        (row["variant_id"], row["location_id"]): row
        for row in Movement.objects.values("variant_id", "location_id").annotate(
            on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
        )
    }
    messages = []
    for item in StockItem.objects.all():
        row = by_item.get((item.variant_id, item.location_id), {"on_hand": 0, "reserved": 0})
        if (row["on_hand"], row["reserved"]) != (item.on_hand, item.reserved):
            messages.append(f"ledger {row} != stock item {item.pk} ({item.on_hand}, {item.reserved})")
    return messages
