"""Checks shared by the benchmarks (run inside the bench tenant's schema)."""

from __future__ import annotations


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
