"""Where the lines of a delivery or shipping order are picked (the split strategy).

Only active locations that offer the order's fulfilment take part (the store locator's `OFFERS` flags): a delivery
comes only from locations with `delivery_enabled`. Shipping has no flag on `Location`: every
active location may ship.

1. One location that has every line in full, if there is one: the nearest to the delivery address
   when several do (haversine between the location's and the address's coordinates; without
   coordinates on either side distance is skipped), then the one with the most stock of what the
   order needs, then warehouses before stores, then the lowest id.
2. Otherwise, unless the customer refused a split, the fewest locations that cover the order,
   chosen greedily (set cover): each step takes the location that covers the most still-missing
   units, ties broken as above. Each variant then comes whole from the first chosen location that
   has all of it, and is split across the chosen locations (in the order they were chosen) only
   when none of them has its whole quantity.

The plan is pure: the caller reads the candidate stock in one query and turns the plan into order
lines (a split line becomes several lines of the same variant, one per location) and reservation
lines at each line's location. `pick_lists` reads an order back, grouped by location, for staff.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from apps.orders.errors import SplitRefused
from apps.stock.errors import InsufficientStock
from apps.stock.models import Location

EARTH_RADIUS_KM = 6371.0088


class Wanted(Protocol):
    variant: object  # a catalog Variant (pk, sku)
    quantity: int


@dataclass
class Candidate:
    location: Location
    available: dict[int, int]  # variant id -> units available now (on hand - reserved)
    distance_km: float | None = None


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance on a spherical Earth (good to ~0.5 % for routing a store choice)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distance_to(location: Location, latitude: object, longitude: object) -> float | None:
    if None in (latitude, longitude, location.latitude, location.longitude):
        return None
    return haversine_km(float(location.latitude), float(location.longitude), float(latitude), float(longitude))


def _needs(lines: Sequence[Wanted]) -> dict[int, int]:
    needs: dict[int, int] = {}
    for line in lines:
        needs[line.variant.pk] = needs.get(line.variant.pk, 0) + line.quantity
    return needs


def _rank(candidate: Candidate, remaining: dict[int, int]) -> tuple:
    """Smaller is better: most missing units covered, then nearest, then most stock of the missing
    variants, then warehouses before stores, then id (stable, as before)."""
    covered = sum(min(candidate.available.get(v, 0), qty) for v, qty in remaining.items())
    stock = sum(candidate.available.get(v, 0) for v in remaining)
    distance = candidate.distance_km if candidate.distance_km is not None else math.inf
    return (-covered, distance, -stock, candidate.location.kind != Location.Kind.WAREHOUSE, candidate.location.pk)


def _cover(needs: dict[int, int], candidates: Sequence[Candidate]) -> list[Candidate] | None:
    """The greedy cover: chosen locations in the order chosen, or None if all of them together
    cannot supply the order."""
    remaining = {v: q for v, q in needs.items() if q > 0}
    chosen: list[Candidate] = []
    pool = list(candidates)
    while remaining:
        if not pool:
            return None
        best = min(pool, key=lambda c: _rank(c, remaining))
        if _rank(best, remaining)[0] == 0:
            return None
        pool.remove(best)
        chosen.append(best)
        for v in list(remaining):
            remaining[v] -= min(best.available.get(v, 0), remaining[v])
            if remaining[v] == 0:
                del remaining[v]
    return chosen


def _by_variant(needs: dict[int, int], chosen: Sequence[Candidate]) -> dict[int, list[tuple[Location, int]]]:
    """Each variant whole from the first chosen location that has all of it, else split across the
    chosen locations in order."""
    parts: dict[int, list[tuple[Location, int]]] = {}
    for v, qty in needs.items():
        whole = next((c for c in chosen if c.available.get(v, 0) >= qty), None)
        if whole is not None:
            parts[v] = [(whole.location, qty)]
            continue
        left, parts[v] = qty, []
        for c in chosen:
            take = min(c.available.get(v, 0), left)
            if take:
                parts[v].append((c.location, take))
                left -= take
            if not left:
                break
    return parts


def assign(lines: Sequence[Wanted], parts: dict[int, list[tuple[Location, int]]]) -> list[list[tuple[Location, int]]]:
    """Per line (in order), its (location, quantity) parts, taken from its variant's parts in
    order (two lines of one variant, e.g. a bought unit and a free gift, share them)."""
    queue = {v: list(p) for v, p in parts.items()}
    plan = []
    for line in lines:
        left, mine = line.quantity, []
        stack = queue.setdefault(line.variant.pk, [])
        while left and stack:
            location, qty = stack[0]
            take = min(qty, left)
            mine.append((location, take))
            left -= take
            if take == qty:
                stack.pop(0)
            else:
                stack[0] = (location, qty - take)
        if left:  # the caller gave fewer units than the lines need: a programming error
            raise ValueError(f"No allocation left for {line.variant.sku}.")
        # Two parts at one location (a gift of a bought variant) stay one part.
        merged: dict[int, tuple[Location, int]] = {}
        for location, qty in mine:
            merged[location.pk] = (location, merged.get(location.pk, (location, 0))[1] + qty)
        plan.append(list(merged.values()))
    return plan


def plan(
    lines: Sequence[Wanted],
    candidates: Sequence[Candidate],
    *,
    allow_split: bool = True,
    where: str = "all locations",
) -> list[list[tuple[Location, int]]]:
    """Each line's (location, quantity) parts. Raises `insufficient_stock` (409) when all the
    candidates together cannot supply a line, and `split_refused` (409) when no single location can
    and the customer refused a split; both say what is short. `where`: the candidates, as the
    message names them."""
    needs = _needs(lines)
    sku = {line.variant.pk: line.variant.sku for line in lines}
    chosen = _cover(needs, candidates)
    if chosen is None:
        total = {v: sum(c.available.get(v, 0) for c in candidates) for v in needs}
        short = [v for v in needs if total[v] < needs[v]]
        raise InsufficientStock(
            f"Not enough {sku[short[0]]} across {where}.",
            details={
                "lines": [
                    {"sku": sku[v], "location": None, "requested": needs[v], "available": total[v]} for v in short
                ]
            },
        )
    if len(chosen) > 1 and not allow_split:
        best = chosen[0]
        raise SplitRefused(
            f"No single location has the whole order; {best.location.name} has the most of it.",
            details={
                "location": best.location.code,
                "split_possible": True,
                "lines": [
                    {
                        "sku": sku[v],
                        "location": best.location.code,
                        "requested": qty,
                        "available": best.available.get(v, 0),
                    }
                    for v, qty in needs.items()
                    if best.available.get(v, 0) < qty
                ],
            },
        )
    return assign(lines, _by_variant(needs, chosen))


def _share(amount: Decimal, quantity: int, total_quantity: int, quantum: Decimal) -> Decimal:
    return (amount * quantity / total_quantity).quantize(quantum, rounding=ROUND_HALF_UP)


def split_amounts(amount: Decimal, quantities: Sequence[int], quantum: Decimal) -> list[Decimal]:
    """`amount` shared by quantity, rounded half-up to `quantum`; the last share takes the rounding
    remainder so the shares always add up to `amount` exactly."""
    total = sum(quantities)
    shares = [_share(amount, q, total, quantum) for q in quantities[:-1]]
    return [*shares, amount - sum(shares, Decimal("0"))]


def pick_lists(order: object, *, only: set[int] | None = None) -> dict:
    """What to pick where for `order`: one list per location (the one sending the most units
    first), each SKU once with its units and, for lot-tracked variants, the batches its reservation
    holds there (first expiry first). Two statements: the lines with their locations, the
    reservation's lines with their lots. `only`: just these locations' lists."""
    lots: dict[tuple[int, int], list[dict]] = {}
    if order.reservation_id:
        from apps.stock.models import ReservationLine

        rows = ReservationLine.objects.filter(reservation_id=order.reservation_id, lot__isnull=False)
        rows = rows.select_related("lot")
        for row in rows.order_by("lot__expiry_date", "lot_id"):
            lots.setdefault((row.location_id, row.variant_id), []).append(
                {"batch_number": row.lot.batch_number, "expiry_date": row.lot.expiry_date, "quantity": row.quantity}
            )
    by_location: dict[int, dict] = {}
    for line in order.lines.select_related("location").order_by("id"):
        location = line.location or order.location
        if location is None or (only is not None and location.pk not in only):
            continue
        entry = by_location.setdefault(
            location.pk,
            {"location_id": location.pk, "location": location.code, "location_name": location.name, "lines": {}},
        )
        picked = entry["lines"].get(line.variant_id)
        if picked is None:
            entry["lines"][line.variant_id] = {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "lots": lots.get((location.pk, line.variant_id), []),
            }
        else:  # a free gift of a variant also bought here: one pick
            picked["quantity"] += line.quantity
    lists = []
    for entry in by_location.values():
        entry["lines"] = list(entry["lines"].values())
        entry["units"] = sum(line["quantity"] for line in entry["lines"])
        lists.append(entry)
    lists.sort(key=lambda e: (-e["units"], e["location_name"]))
    return {"order": order.number, "status": order.status, "fulfilment": order.fulfilment, "pick_lists": lists}
