"""Every change of stock. One conditional UPDATE per stock row (and per lot row), rows taken in
a fixed order (location, variant), a ledger row for every delta, events in the same
transaction. The conditions in the UPDATEs are the stock rules themselves (never negative,
never more reserved than on hand, never more taken than available), so concurrent callers can
never oversell: the loser's UPDATE matches no row and it gets `insufficient_stock`.

Lot-tracked variants keep their units in lots; a lot row is only changed after its stock row
was updated in the same transaction, so the stock row's lock serializes lot picking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from auditlog.models import LogEntry
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.catalog.models import Supplier, SupplierVariant, Variant
from apps.core.audit import current_actor, defer, entry_for
from apps.core.bulk import insert_together
from apps.core.services import events_record
from apps.core.validation import QUANTITY_MAX, whole_number
from apps.core.versioning import bump, bump_locked
from apps.stock.errors import InsufficientStock, InvalidStockRequest, ReservationClosed, StockRuleViolation
from apps.stock.models import (
    Location,
    Lot,
    LotStock,
    Movement,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderSuggestion,
    Reservation,
    ReservationLine,
    StockItem,
    Transfer,
    TransferLine,
)

BUCKETS = ("on_hand", "reserved", "damaged", "returned", "in_transit")


@dataclass
class ItemState:
    id: int
    sku: str
    variant_id: int
    location_id: int
    on_hand: int
    reserved: int
    reorder_point: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass
class _Batch:
    """What one service call changed: ledger rows, touched stock rows and audit entries, flushed at
    the end. The ledger rows and the audit entries go in ONE statement (`insert_together`): the
    quantities change in SQL, not through `save()`, so no audit signal fires; `flush` writes one
    entry per changed stock row (before → after, the deltas, the operations, the reference, and
    the actor and request id as on every entry) plus any entry a caller added (`audit`)."""

    reference: str = ""
    movements: list[Movement] = field(default_factory=list)
    items: dict[int, ItemState] = field(default_factory=dict)
    audit: list = field(default_factory=list)
    inserts: list = field(default_factory=list)  # (model, rows) written in the same statement

    def move(
        self,
        *,
        kind: str,
        variant_id: int,
        location_id: int,
        lot_id: int | None = None,
        reason: str = "",
        note: str = "",
        **deltas: int,
    ) -> None:
        actor = current_actor()
        self.movements.append(
            Movement(
                kind=kind,
                reason=reason,
                variant_id=variant_id,
                location_id=location_id,
                lot_id=lot_id,
                reference=self.reference[:100],
                note=note[:500],
                actor=(actor.label if actor else "")[:150],
                **{f"{bucket}_delta": deltas.get(bucket, 0) for bucket in BUCKETS},
            )
        )

    def _stock_entries(self) -> list:
        deltas: dict[tuple[int, int], dict[str, int]] = {}
        kinds: dict[tuple[int, int], set[str]] = {}
        for movement in self.movements:
            key = (movement.variant_id, movement.location_id)
            sums = deltas.setdefault(key, dict.fromkeys(BUCKETS, 0))
            for bucket in BUCKETS:
                sums[bucket] += getattr(movement, f"{bucket}_delta")
            kinds.setdefault(key, set()).add(str(movement.kind))
        entries = []
        for item in self.items.values():
            key = (item.variant_id, item.location_id)
            delta = deltas.get(key)
            if not delta or not any(delta.values()):
                continue
            changes = {
                bucket: [str(after - delta[bucket]), str(after)]
                for bucket, after in (("on_hand", item.on_hand), ("reserved", item.reserved))
                if delta[bucket]
            }
            entries.append(
                entry_for(
                    StockItem,
                    object_pk=item.id,
                    object_repr=f"{item.sku} @ location {item.location_id}",
                    changes=changes,
                    extra={
                        "stock": {
                            "operations": sorted(kinds[key]),
                            "reference": self.reference[:100],
                            "deltas": {bucket: n for bucket, n in delta.items() if n},
                            "available": item.available,
                        }
                    },
                )
            )
        return entries

    def flush(self) -> None:
        """One statement for the rows (`inserts`, the ledger, and the audit entries unless the
        request's audit batch takes them to its own single INSERT), then the alerts and events."""
        entries = self._stock_entries() + self.audit
        groups = [*self.inserts, (Movement, self.movements)]
        if not defer(LogEntry, entries):
            groups.append((LogEntry, entries))
        insert_together(groups)
        _alerts_and_events(list(self.items.values()))


def _tenant_today() -> dt.date:
    tz = getattr(connection, "tenant", None)
    name = getattr(tz, "timezone", None) or "UTC"
    return timezone.now().astimezone(ZoneInfo(name)).date()


def _change_item(variant_id: int, location_id: int, *, need_available: int = 0, **deltas: int) -> ItemState | None:
    """Apply deltas to one stock row if every stock rule still holds afterwards. One statement."""
    d = {bucket: int(deltas.get(bucket, 0)) for bucket in BUCKETS}
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE stock_stockitem s SET
                   on_hand = s.on_hand + %(on_hand)s, reserved = s.reserved + %(reserved)s,
                   damaged = s.damaged + %(damaged)s, returned = s.returned + %(returned)s,
                   in_transit = s.in_transit + %(in_transit)s, updated_at = now()
               FROM catalog_variant v
               WHERE v.id = s.variant_id AND s.variant_id = %(v)s AND s.location_id = %(l)s
                 AND s.on_hand - s.reserved >= %(need)s
                 AND s.on_hand + %(on_hand)s >= 0 AND s.reserved + %(reserved)s >= 0
                 AND s.damaged + %(damaged)s >= 0 AND s.returned + %(returned)s >= 0
                 AND s.in_transit + %(in_transit)s >= 0
                 AND s.reserved + %(reserved)s <= s.on_hand + %(on_hand)s
               RETURNING s.id, v.sku, s.variant_id, s.location_id, s.on_hand, s.reserved, s.reorder_point""",
            {**d, "v": variant_id, "l": location_id, "need": need_available},
        )
        row = cursor.fetchone()
    return ItemState(*row) if row else None


def _upsert_item(variant_id: int, location_id: int, *, on_hand: int = 0, in_transit: int = 0) -> ItemState:
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH up AS (
                   INSERT INTO stock_stockitem (variant_id, location_id, on_hand, reserved, damaged, returned,
                                                in_transit, reorder_point, reorder_quantity, version, updated_at)
                   VALUES (%(v)s, %(l)s, %(on_hand)s, 0, 0, 0, %(in_transit)s, 0, 0, 1, now())
                   ON CONFLICT (variant_id, location_id) DO UPDATE SET
                       on_hand = stock_stockitem.on_hand + EXCLUDED.on_hand,
                       in_transit = stock_stockitem.in_transit + EXCLUDED.in_transit, updated_at = now()
                   RETURNING id, variant_id, location_id, on_hand, reserved, reorder_point)
               SELECT up.id, v.sku, up.variant_id, up.location_id, up.on_hand, up.reserved, up.reorder_point
               FROM up JOIN catalog_variant v ON v.id = up.variant_id""",
            {"v": variant_id, "l": location_id, "on_hand": on_hand, "in_transit": in_transit},
        )
        return ItemState(*cursor.fetchone())


def _change_lot(lot_id: int, location_id: int, *, on_hand: int = 0, reserved: int = 0, upsert: bool = False) -> bool:
    with connection.cursor() as cursor:
        if upsert:
            cursor.execute(
                """INSERT INTO stock_lotstock (lot_id, location_id, on_hand, reserved) VALUES (%s, %s, %s, 0)
                   ON CONFLICT (lot_id, location_id)
                   DO UPDATE SET on_hand = stock_lotstock.on_hand + EXCLUDED.on_hand""",
                [lot_id, location_id, on_hand],
            )
            return True
        cursor.execute(
            """UPDATE stock_lotstock SET on_hand = on_hand + %(on_hand)s, reserved = reserved + %(reserved)s
               WHERE lot_id = %(lot)s AND location_id = %(l)s AND on_hand + %(on_hand)s >= 0
                 AND reserved + %(reserved)s >= 0 AND reserved + %(reserved)s <= on_hand + %(on_hand)s""",
            {"lot": lot_id, "l": location_id, "on_hand": on_hand, "reserved": reserved},
        )
        return cursor.rowcount == 1


def _alerts_and_events(items: Sequence[ItemState]) -> None:
    """`stock.changed` for every touched row; open/close restock alerts at the reorder point. Set-based:
    at most one statement opens the alerts of every row at or below its reorder point and one closes
    those above it, whatever the number of rows."""
    payloads = {
        item.id: {
            "sku": item.sku,
            "variant_id": item.variant_id,
            "location_id": item.location_id,
            "on_hand": item.on_hand,
            "reserved": item.reserved,
            "available": item.available,
        }
        for item in items
    }
    events: list[tuple[str, dict]] = [("stock.changed", payloads[item.id]) for item in items]
    watched = [item for item in items if item.reorder_point > 0]
    low = [item for item in watched if item.available <= item.reorder_point]
    fine = [item.id for item in watched if item.available > item.reorder_point]
    reorder_points = {item.id: item.reorder_point for item in watched}
    with connection.cursor() as cursor:
        if low:
            values = ", ".join(["(%s::bigint, %s::integer)"] * len(low))
            cursor.execute(
                f"""INSERT INTO stock_restockalert (stock_item_id, available_at_open, opened_at)
                    SELECT p.item_id, p.available, now() FROM (VALUES {values}) AS p(item_id, available)
                    ON CONFLICT (stock_item_id) WHERE closed_at IS NULL DO NOTHING RETURNING stock_item_id""",
                [x for item in low for x in (item.id, item.available)],
            )
            for (item_id,) in sorted(cursor.fetchall()):
                events.append(("stock.low", {**payloads[item_id], "reorder_point": reorder_points[item_id]}))
        if fine:
            cursor.execute(
                """UPDATE stock_restockalert SET closed_at = now()
                   WHERE stock_item_id = ANY(%s) AND closed_at IS NULL RETURNING stock_item_id""",
                [fine],
            )
            for (item_id,) in sorted(cursor.fetchall()):
                events.append(("stock.restocked", {**payloads[item_id], "reorder_point": reorder_points[item_id]}))
    events_record(events)


# ---------------------------------------------------------------------------------------------
# Receipts and bulk restock


@dataclass(frozen=True)
class ReceiptLine:
    variant: Variant
    quantity: int
    batch_number: str = ""
    production_date: dt.date | None = None
    expiry_date: dt.date | None = None


def _lot_for(line: ReceiptLine) -> Lot | None:
    if not line.variant.tracks_lots:
        return None
    lot, created = Lot.objects.get_or_create(
        variant=line.variant,
        batch_number=line.batch_number,
        defaults={"production_date": line.production_date, "expiry_date": line.expiry_date},
    )
    if not created and line.expiry_date and lot.expiry_date != line.expiry_date:
        raise InvalidStockRequest(
            f"Batch {line.batch_number} of {line.variant.sku} already exists with another expiry date.",
            details={"expiry_date": [f"Batch {line.batch_number} expires {lot.expiry_date}."]},
        )
    return lot


def _validate_receipt_line(line: ReceiptLine) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if line.quantity <= 0:
        errors["quantity"] = ["Must be at least 1."]
    if line.variant.is_archived:
        errors["sku"] = ["This variant is archived."]
    if line.variant.tracks_lots:
        if not line.batch_number:
            errors["batch_number"] = ["This variant is lot-tracked: give the batch number."]
        if line.expiry_date is None:
            errors["expiry_date"] = ["This variant is lot-tracked: give the expiry date."]
    if line.production_date and line.expiry_date and line.expiry_date < line.production_date:
        errors["expiry_date"] = ["The expiry date is before the production date."]
    return errors


@transaction.atomic
def stock_receive(
    *, location: Location, lines: Sequence[ReceiptLine], reference: str = "", kind: str = Movement.Kind.RECEIPT
) -> list[ItemState]:
    """Receive units into on-hand stock (lots created as needed). All lines or none."""
    errors = {str(i): e for i, line in enumerate(lines) if (e := _validate_receipt_line(line))}
    if errors:
        raise InvalidStockRequest("Some lines are not valid; nothing was received.", details={"lines": errors})
    batch = _Batch(reference=reference)
    for line in sorted(lines, key=lambda ln: ln.variant.pk):
        lot = _lot_for(line)
        item = _upsert_item(line.variant.pk, location.pk, on_hand=line.quantity)
        if lot is not None:
            _change_lot(lot.pk, location.pk, on_hand=line.quantity, upsert=True)
        batch.items[item.id] = item
        batch.move(
            kind=kind,
            variant_id=line.variant.pk,
            location_id=location.pk,
            lot_id=lot.pk if lot else None,
            on_hand=line.quantity,
        )
    batch.flush()
    return list(batch.items.values())


def stock_bulk_restock(*, location: Location, lines: Sequence[dict], reference: str = "") -> list[ItemState]:
    """Many receipt lines by SKU, applied all-or-nothing: one bad line and nothing is applied, with
    every bad line reported (`details.lines.<index>`)."""
    if not lines:
        raise InvalidStockRequest("Give at least one line.", details={"lines": ["Empty."]})
    skus = {str(line.get("sku", "")) for line in lines}
    variants = {v.sku: v for v in Variant.objects.filter(sku__in=skus)}
    errors: dict[str, dict[str, list[str]]] = {}
    parsed: list[ReceiptLine] = []
    for index, raw in enumerate(lines):
        variant = variants.get(str(raw.get("sku", "")))
        if variant is None:
            errors[str(index)] = {"sku": [f"Unknown SKU {raw.get('sku')!r}."]}
            continue
        try:
            quantity = whole_number(raw.get("quantity"), min_value=1, max_value=QUANTITY_MAX)
        except DjangoValidationError as exc:
            errors[str(index)] = {"quantity": exc.messages}
            continue
        try:
            line = ReceiptLine(
                variant=variant,
                quantity=quantity,
                batch_number=str(raw.get("batch_number") or "")[:64],
                production_date=_date(raw.get("production_date")),
                expiry_date=_date(raw.get("expiry_date")),
            )
        except (TypeError, ValueError):
            errors[str(index)] = {"line": ["Dates are YYYY-MM-DD."]}
            continue
        if line_errors := _validate_receipt_line(line):
            errors[str(index)] = line_errors
        parsed.append(line)
    if errors:
        raise InvalidStockRequest(
            f"{len(errors)} of {len(lines)} lines are not valid; nothing was applied.", details={"lines": errors}
        )
    return stock_receive(location=location, lines=parsed, reference=reference)


def _date(value: object) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


# ---------------------------------------------------------------------------------------------
# Adjustments and cycle counts

ADJUSTMENT_DELTAS = {
    Movement.Reason.DAMAGED: {"on_hand": -1, "damaged": +1},
    Movement.Reason.LOST: {"on_hand": -1},
    Movement.Reason.FOUND: {"on_hand": +1},
    Movement.Reason.EXPIRED: {"on_hand": -1, "damaged": +1},
}


@transaction.atomic
def stock_adjust(
    *,
    location: Location,
    variant: Variant,
    reason: str,
    quantity: int,
    lot: Lot | None = None,
    note: str = "",
    reference: str = "",
) -> ItemState:
    """Damaged, lost, found or expired units. Taking units out never touches reserved ones."""
    if reason not in ADJUSTMENT_DELTAS:
        raise InvalidStockRequest("Unknown reason.", details={"reason": [f"Choose from {sorted(ADJUSTMENT_DELTAS)}."]})
    if quantity <= 0:
        raise InvalidStockRequest("Quantity must be at least 1.", details={"quantity": ["Must be at least 1."]})
    _check_lot(variant, lot)
    deltas = {bucket: sign * quantity for bucket, sign in ADJUSTMENT_DELTAS[reason].items()}
    taking = deltas.get("on_hand", 0) < 0
    item = _change_item(variant.pk, location.pk, need_available=quantity if taking else 0, **deltas)
    if item is None:
        if not taking:
            item = _upsert_item(variant.pk, location.pk, on_hand=quantity)
        else:
            available = _available(variant.pk, location.pk)
            raise InsufficientStock(
                f"Only {available} unreserved units of {variant.sku} here.",
                details={"sku": variant.sku, "available": available},
            )
    if lot is not None and not _change_lot(lot.pk, location.pk, on_hand=deltas.get("on_hand", 0), upsert=not taking):
        raise InsufficientStock(f"Lot {lot.batch_number} has fewer unreserved units here.", details={"lot": lot.pk})
    batch = _Batch(reference=reference)
    batch.items[item.id] = item
    batch.move(
        kind=Movement.Kind.ADJUSTMENT,
        reason=reason,
        variant_id=variant.pk,
        location_id=location.pk,
        lot_id=lot.pk if lot else None,
        note=note,
        **deltas,
    )
    batch.flush()
    return item


@transaction.atomic
def stock_count(
    *, location: Location, variant: Variant, counted: int, lot: Lot | None = None, note: str = ""
) -> ItemState | None:
    """A cycle count: the counted quantity becomes a count-correction adjustment of the difference."""
    if counted < 0:
        raise InvalidStockRequest("A count cannot be negative.", details={"counted": ["Must be 0 or more."]})
    _check_lot(variant, lot)
    # Lock order as everywhere: the stock row, then (if any) the lot row.
    current = StockItem.objects.select_for_update().filter(variant=variant, location=location).first()
    base = current.on_hand if current else 0
    if lot is not None:
        lot_row = LotStock.objects.select_for_update().filter(lot=lot, location=location).first()
        base = lot_row.on_hand if lot_row else 0
    delta = counted - base
    if delta == 0:
        return None
    item = _change_item(variant.pk, location.pk, on_hand=delta) if current else None
    if item is None and delta > 0:
        item = _upsert_item(variant.pk, location.pk, on_hand=delta)
    if item is None:
        raise StockRuleViolation(
            "Fewer units counted than are reserved; release reservations first.", details={"counted": counted}
        )
    if lot is not None and not _change_lot(lot.pk, location.pk, on_hand=delta, upsert=delta > 0):
        raise StockRuleViolation("Fewer units counted in this lot than are reserved from it.")
    batch = _Batch()
    batch.items[item.id] = item
    batch.move(
        kind=Movement.Kind.ADJUSTMENT,
        reason=Movement.Reason.COUNT,
        variant_id=variant.pk,
        location_id=location.pk,
        lot_id=lot.pk if lot else None,
        note=note,
        on_hand=delta,
    )
    batch.flush()
    return item


def _check_lot(variant: Variant, lot: Lot | None) -> None:
    if variant.tracks_lots and lot is None:
        raise InvalidStockRequest("This variant is lot-tracked: name the lot.", details={"lot": ["Required."]})
    if lot is not None and lot.variant_id != variant.pk:
        raise InvalidStockRequest("That lot belongs to another variant.", details={"lot": ["Wrong variant."]})


def _available(variant_id: int, location_id: int) -> int:
    item = StockItem.objects.filter(variant_id=variant_id, location_id=location_id).first()
    return item.available if item else 0


# ---------------------------------------------------------------------------------------------
# Reservations


@dataclass(frozen=True)
class ReserveLine:
    variant: Variant
    location: Location
    quantity: int


def _fefo_lots(variant_id: int, location_id: int, today: dt.date) -> list[tuple[int, int]]:
    """(lot_id, unreserved units) of sellable lots, first expiry first. Expired lots never appear."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT ls.lot_id, ls.on_hand - ls.reserved FROM stock_lotstock ls
               JOIN stock_lot l ON l.id = ls.lot_id
               WHERE l.variant_id = %s AND ls.location_id = %s AND ls.on_hand > ls.reserved
                 AND (l.expiry_date IS NULL OR l.expiry_date >= %s)
               ORDER BY l.expiry_date NULLS LAST, l.id""",
            [variant_id, location_id, today],
        )
        return cursor.fetchall()


def _hold_items(merged: dict[tuple[int, int], ReserveLine]) -> dict[tuple[int, int], ItemState]:
    """Reserve every line's units on its stock row in ONE statement: the rows are locked in
    (location, variant) order (no deadlock between concurrent orders) and each is changed only if it
    still has the units available. Lines whose row was not changed are missing from the result.
    FOR NO KEY UPDATE (what the UPDATE itself takes: no key changes): it does not wait for the key
    share locks that inserts referencing the row take (restock alerts, reorder suggestions)."""
    values = ", ".join(["(%s::bigint, %s::bigint, %s::integer)"] * len(merged))
    params = [
        x
        for (location_id, variant_id), line in sorted(merged.items())
        for x in (variant_id, location_id, line.quantity)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH p(variant_id, location_id, qty) AS (VALUES {values}),
                   locked AS (
                       SELECT s.id FROM stock_stockitem s
                       JOIN p ON p.variant_id = s.variant_id AND p.location_id = s.location_id
                       ORDER BY s.location_id, s.variant_id FOR NO KEY UPDATE OF s)
               UPDATE stock_stockitem s SET reserved = s.reserved + p.qty, updated_at = now()
               FROM p, locked, catalog_variant v
               WHERE s.id = locked.id AND p.variant_id = s.variant_id AND p.location_id = s.location_id
                 AND v.id = s.variant_id AND s.on_hand - s.reserved >= p.qty
               RETURNING s.id, v.sku, s.variant_id, s.location_id, s.on_hand, s.reserved, s.reorder_point""",
            params,
        )
        rows = [ItemState(*row) for row in cursor.fetchall()]
    return {(row.location_id, row.variant_id): row for row in rows}


def _hold_lots(
    lines: Sequence[ReserveLine], today: dt.date
) -> tuple[dict[tuple[int, int], list[tuple[int, int]]], list[ReserveLine]]:
    """First-expiry-first-out lots for the lot-tracked lines (their stock rows are already locked):
    one read of every candidate lot, one conditional update of the picked ones. Returns the picks per
    (location, variant) and the lines that could not be covered by sellable lots."""
    if not lines:
        return {}, []
    pairs = ", ".join(["(%s::bigint, %s::bigint)"] * len(lines))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT l.variant_id, ls.location_id, ls.lot_id, ls.on_hand - ls.reserved FROM stock_lotstock ls
               JOIN stock_lot l ON l.id = ls.lot_id
               WHERE (l.variant_id, ls.location_id) IN (VALUES {pairs}) AND ls.on_hand > ls.reserved
                 AND (l.expiry_date IS NULL OR l.expiry_date >= %s)
               ORDER BY l.variant_id, ls.location_id, l.expiry_date NULLS LAST, l.id""",
            [x for line in lines for x in (line.variant.pk, line.location.pk)] + [today],
        )
        free: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for variant_id, location_id, lot_id, units in cursor.fetchall():
            free.setdefault((location_id, variant_id), []).append((lot_id, units))
        picks: dict[tuple[int, int], list[tuple[int, int]]] = {}
        short: list[ReserveLine] = []
        for line in lines:
            key, missing, chosen = (line.location.pk, line.variant.pk), line.quantity, []
            for lot_id, units in free.get(key, []):
                take = min(units, missing)
                chosen.append((lot_id, take))
                missing -= take
                if missing == 0:
                    break
            if missing:
                short.append(line)
            else:
                picks[key] = chosen
        if short or not picks:
            return picks, short
        rows = [(lot_id, location_id, qty) for (location_id, _), chosen in picks.items() for lot_id, qty in chosen]
        values = ", ".join(["(%s::bigint, %s::bigint, %s::integer)"] * len(rows))
        cursor.execute(
            f"""UPDATE stock_lotstock ls SET reserved = ls.reserved + p.qty
                FROM (VALUES {values}) AS p(lot_id, location_id, qty)
                WHERE ls.lot_id = p.lot_id AND ls.location_id = p.location_id AND ls.reserved + p.qty <= ls.on_hand""",
            [x for row in rows for x in row],
        )
        if cursor.rowcount != len(rows):  # cannot happen while every lot change holds the row lock
            raise StockRuleViolation("A lot changed while it was reserved; try again.")
    return picks, []


def _merged(lines: Iterable[ReserveLine]) -> dict[tuple[int, int], ReserveLine]:
    merged: dict[tuple[int, int], ReserveLine] = {}
    for line in lines:
        if line.quantity <= 0:
            raise InvalidStockRequest("Quantities must be at least 1.", details={"quantity": ["Must be at least 1."]})
        key = (line.location.pk, line.variant.pk)
        if key in merged:
            line = ReserveLine(line.variant, line.location, merged[key].quantity + line.quantity)
        merged[key] = line
    if not merged:
        raise InvalidStockRequest("Give at least one line.", details={"lines": ["Empty."]})
    return merged


def reservation_open(*, reference: str, ttl: dt.timedelta) -> Reservation:
    """The reservation row, holding nothing yet: callers that lock stock rows as late as possible in
    their transaction (order placement) open it first and `reservation_hold` it last."""
    return Reservation.objects.create(reference=reference[:100], expires_at=timezone.now() + ttl)


@transaction.atomic(savepoint=False)
def reservation_hold(*, reservation: Reservation, lines: Iterable[ReserveLine]) -> Reservation:
    """Hold the lines' units for the open `reservation`. All lines or none: a short line raises
    `insufficient_stock` with each short line in `details.lines` (and the caller's transaction rolls
    back). Set-based: one statement locks and changes every stock row, in (location, variant) order,
    two more pick the lots, then one insert each for the reservation lines and the ledger."""
    merged = _merged(lines)
    today = _tenant_today()
    items = _hold_items(merged)
    short = [line for key, line in sorted(merged.items()) if key not in items]
    picks, short_lots = (
        ({}, []) if short else _hold_lots([ln for ln in merged.values() if ln.variant.tracks_lots], today)
    )
    short += short_lots
    if short:
        raise InsufficientStock(
            f"Not enough {short[0].variant.sku} at {short[0].location.code}.",
            details={
                "lines": [
                    {
                        "sku": line.variant.sku,
                        "location": line.location.code,
                        "requested": line.quantity,
                        "available": _sellable(line, today),
                    }
                    for line in short
                ]
            },
        )
    batch = _Batch(reference=reservation.reference)
    rows: list[ReservationLine] = []
    for (location_id, variant_id), line in sorted(merged.items()):
        batch.items[items[(location_id, variant_id)].id] = items[(location_id, variant_id)]
        for lot_id, qty in picks.get((location_id, variant_id)) or [(None, line.quantity)]:
            rows.append(
                ReservationLine(
                    reservation=reservation,
                    variant_id=variant_id,
                    location_id=location_id,
                    lot_id=lot_id,
                    quantity=qty,
                )
            )
            batch.move(
                kind=Movement.Kind.RESERVATION,
                variant_id=variant_id,
                location_id=location_id,
                lot_id=lot_id,
                reserved=qty,
            )
    batch.inserts.append((ReservationLine, rows))
    batch.audit.append(
        entry_for(
            Reservation,
            object_pk=reservation.pk,
            object_repr=f"reservation {reservation.pk} for {reservation.reference}",
            action=LogEntry.Action.CREATE,
            changes={
                "status": ["None", str(reservation.status)],
                "reference": ["None", reservation.reference],
                "expires_at": ["None", reservation.expires_at.isoformat()],
            },
            extra={"lines": [[r.variant_id, r.location_id, r.lot_id, r.quantity] for r in rows]},
        )
    )
    batch.flush()
    return reservation


@transaction.atomic
def reservation_create(*, reference: str, lines: Iterable[ReserveLine], ttl: dt.timedelta) -> Reservation:
    """Hold stock for `reference` until `ttl` passes (see `reservation_hold`; bad lines roll the
    opened row back with everything else)."""
    return reservation_hold(reservation=reservation_open(reference=reference, ttl=ttl), lines=lines)


def _sellable(line: ReserveLine, today: dt.date) -> int:
    if line.variant.tracks_lots:
        return sum(free for _, free in _fefo_lots(line.variant.pk, line.location.pk, today))
    return _available(line.variant.pk, line.location.pk)


def _close(reservation: Reservation, status: str, *, sold: bool, reason: str = "") -> Reservation:
    locked = Reservation.objects.select_for_update().get(pk=reservation.pk)
    if locked.status != Reservation.Status.ACTIVE:
        raise ReservationClosed(details={"status": locked.status})
    lines = sorted(locked.lines.all(), key=lambda ln: (ln.location_id, ln.variant_id, ln.lot_id or 0))
    batch = _Batch(reference=locked.reference)
    for line in lines:
        deltas = {"reserved": -line.quantity, "on_hand": -line.quantity if sold else 0}
        item = _change_item(line.variant_id, line.location_id, **deltas)
        if item is None or (line.lot_id and not _change_lot(line.lot_id, line.location_id, **deltas)):
            raise StockRuleViolation("The reserved units are no longer there.", details={"line": line.pk})
        batch.items[item.id] = item
        batch.move(
            kind=Movement.Kind.SALE if sold else Movement.Kind.RELEASE,
            reason=reason,
            variant_id=line.variant_id,
            location_id=line.location_id,
            lot_id=line.lot_id,
            **deltas,
        )
    locked.status, locked.closed_at = status, timezone.now()
    batch.audit.append(
        entry_for(
            Reservation,
            object_pk=locked.pk,
            object_repr=f"reservation {locked.pk} for {locked.reference}",
            changes={"status": [str(Reservation.Status.ACTIVE), str(status)]},
            extra={"reason": reason} if reason else None,
        )
    )
    batch.flush()
    locked.save(update_fields=["status", "closed_at"])
    return locked


@transaction.atomic
def reservation_release(*, reservation: Reservation) -> Reservation:
    return _close(reservation, Reservation.Status.RELEASED, sold=False)


@transaction.atomic
def reservation_commit(*, reservation: Reservation) -> Reservation:
    """The reserved units are sold: they leave on-hand stock (a `sale` in the ledger)."""
    return _close(reservation, Reservation.Status.COMMITTED, sold=True)


def reservations_expire_due(*, now: dt.datetime | None = None) -> int:
    """Release every active reservation past its expiry. Each in its own transaction."""
    due = Reservation.objects.filter(status=Reservation.Status.ACTIVE, expires_at__lte=now or timezone.now())
    count = 0
    for reservation in due.order_by("expires_at")[:1000]:
        try:
            with transaction.atomic():
                _close(reservation, Reservation.Status.EXPIRED, sold=False, reason="")
            count += 1
        except ReservationClosed:
            continue  # released or committed meanwhile
    return count


LOCATION_EDITABLE = (
    "name",
    "address",
    "latitude",
    "longitude",
    "timezone",
    "pickup_enabled",
    "curbside_enabled",
    "opening_hours",
    "city",
    "postal_code",
    "country",
    "phone",
    "delivery_enabled",
    "is_public",
    "is_active",
)


@transaction.atomic
def location_update(*, location: Location, expected_version: int | None = None, **fields: object) -> Location:
    """Staff edit a store or warehouse (its code and kind stay: ledgers and files name them)."""
    bump(location, expected_version=expected_version)
    changed = [name for name in LOCATION_EDITABLE if name in fields]
    for name in changed:
        setattr(location, name, fields[name])
    try:
        location.full_clean()
    except DjangoValidationError as exc:
        raise InvalidStockRequest("The location is not valid.", details=exc.message_dict) from exc
    location.save(update_fields=[*changed, "version"])
    return location


@transaction.atomic
def stock_item_settings_update(*, item: StockItem, expected_version: int | None, **fields: int) -> StockItem:
    """Manual edit of reorder settings with optimistic concurrency: `expected_version` (from the
    ETag the client read) must still be current, else `precondition_failed` (HTTP 412)."""
    allowed = {k: v for k, v in fields.items() if k in {"reorder_point", "reorder_quantity"}}
    locked = StockItem.objects.select_for_update().select_related("variant").get(pk=item.pk)
    versioned = bump_locked(locked, expected_version=expected_version)
    for name, value in allowed.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*allowed, *versioned, "updated_at"])  # audited: a person changed it
    state = ItemState(
        locked.id,
        locked.variant.sku,
        locked.variant_id,
        locked.location_id,
        locked.on_hand,
        locked.reserved,
        locked.reorder_point,
    )
    _alerts_and_events([state])
    return locked


# ---------------------------------------------------------------------------------------------
# Transfers between locations


@transaction.atomic
def transfer_create(
    *, from_location: Location, to_location: Location, lines: Sequence[tuple[Variant, Lot | None, int]], note: str = ""
) -> Transfer:
    if from_location.pk == to_location.pk:
        raise InvalidStockRequest(
            "A transfer needs two different locations.", details={"to_location": ["Same place."]}
        )
    errors = {}
    for index, (variant, lot, quantity) in enumerate(lines):
        try:
            _check_lot(variant, lot)
        except InvalidStockRequest as exc:
            errors[str(index)] = exc.details
        if quantity <= 0:
            errors[str(index)] = {"quantity": ["Must be at least 1."]}
    if errors or not lines:
        raise InvalidStockRequest("Some lines are not valid.", details={"lines": errors or ["Empty."]})
    transfer = Transfer.objects.create(from_location=from_location, to_location=to_location, note=note[:500])
    TransferLine.objects.bulk_create(
        [TransferLine(transfer=transfer, variant=v, lot=lot, quantity=q) for v, lot, q in lines]
    )
    return transfer


@transaction.atomic
def transfer_ship(*, transfer: Transfer, expected_version: int | None = None) -> Transfer:
    """Units leave the source (never reserved ones) and are in transit to the destination."""
    transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
    versioned = bump_locked(transfer, expected_version=expected_version)
    if transfer.status != Transfer.Status.DRAFT:
        raise StockRuleViolation(
            "Only a draft transfer can be shipped.", code="transfer_state", details={"status": transfer.status}
        )
    batch = _Batch(reference=f"transfer-{transfer.pk}")
    source, target = transfer.from_location_id, transfer.to_location_id
    lines = list(transfer.lines.select_related("variant"))
    # Every stock row in (location, variant) order, like reservations: no deadlock between
    # transfers in opposite directions.
    steps = [(source, line.variant_id, line.lot_id or 0, "out", line) for line in lines]
    steps += [(target, line.variant_id, line.lot_id or 0, "in", line) for line in lines]
    for location_id, _variant_id, _lot, side, line in sorted(steps, key=lambda step: step[:3]):
        if side == "out":
            item = _change_item(line.variant_id, location_id, need_available=line.quantity, on_hand=-line.quantity)
            if item is None or (line.lot_id and not _change_lot(line.lot_id, location_id, on_hand=-line.quantity)):
                raise InsufficientStock(
                    f"Not enough unreserved {line.variant.sku} to ship.", details={"sku": line.variant.sku}
                )
            batch.move(
                kind=Movement.Kind.TRANSFER_OUT,
                variant_id=line.variant_id,
                location_id=location_id,
                lot_id=line.lot_id,
                on_hand=-line.quantity,
            )
        else:
            item = _upsert_item(line.variant_id, location_id, in_transit=line.quantity)
            batch.move(
                kind=Movement.Kind.TRANSFER_OUT,
                variant_id=line.variant_id,
                location_id=location_id,
                lot_id=line.lot_id,
                in_transit=line.quantity,
                note=f"in transit from location {source}",
            )
        batch.items[item.id] = item
    batch.flush()
    transfer.status, transfer.shipped_at = Transfer.Status.IN_TRANSIT, timezone.now()
    transfer.save(update_fields=["status", "shipped_at", *versioned])
    return transfer


@transaction.atomic
def transfer_receive(*, transfer: Transfer, received: dict[int, int], expected_version: int | None = None) -> Transfer:
    """Receive some or all of each line ({line id: units}); the rest stays in transit."""
    transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
    versioned = bump_locked(transfer, expected_version=expected_version)
    if transfer.status not in {Transfer.Status.IN_TRANSIT, Transfer.Status.PARTIALLY_RECEIVED}:
        raise StockRuleViolation(
            "Only a shipped transfer can be received.", code="transfer_state", details={"status": transfer.status}
        )
    lines = {line.pk: line for line in transfer.lines.select_related("variant")}
    errors = {str(pk): ["Not a line of this transfer."] for pk in received if pk not in lines}
    errors |= {
        str(pk): ["More than is still in transit."]
        for pk, qty in received.items()
        if pk in lines and (qty < 0 or lines[pk].received_quantity + qty > lines[pk].quantity)
    }
    if errors:
        raise InvalidStockRequest("Some received quantities are not valid.", details={"lines": errors})
    batch = _Batch(reference=f"transfer-{transfer.pk}")
    target = transfer.to_location_id
    for pk in sorted(received, key=lambda k: (lines[k].variant_id, lines[k].lot_id or 0)):
        line, qty = lines[pk], received[pk]
        if qty == 0:
            continue
        item = _change_item(line.variant_id, target, in_transit=-qty, on_hand=qty)
        if item is None:
            raise StockRuleViolation("The destination has fewer units in transit than received.")
        if line.lot_id:
            _change_lot(line.lot_id, target, on_hand=qty, upsert=True)
        batch.items[item.id] = item
        batch.move(
            kind=Movement.Kind.TRANSFER_IN,
            variant_id=line.variant_id,
            location_id=target,
            lot_id=line.lot_id,
            in_transit=-qty,
            on_hand=qty,
        )
        line.received_quantity += qty
        line.save(update_fields=["received_quantity"])
    batch.flush()
    done = all(line.received_quantity == line.quantity for line in lines.values())
    transfer.status = Transfer.Status.RECEIVED if done else Transfer.Status.PARTIALLY_RECEIVED
    transfer.received_at = timezone.now() if done else None
    transfer.save(update_fields=["status", "received_at", *versioned])
    return transfer


# ---------------------------------------------------------------------------------------------
# Purchase orders


@transaction.atomic
def purchase_order_create(
    *,
    supplier: Supplier,
    location: Location,
    lines: Sequence[tuple[Variant, int, Decimal | None]],
    reference: str = "",
) -> PurchaseOrder:
    if not lines or any(qty <= 0 for _, qty, _ in lines):
        raise InvalidStockRequest("Give lines of at least 1 unit.", details={"lines": ["Invalid."]})
    order = PurchaseOrder.objects.create(supplier=supplier, location=location, reference=reference[:64])
    PurchaseOrderLine.objects.bulk_create(
        [PurchaseOrderLine(purchase_order=order, variant=v, quantity=q, unit_cost=c) for v, q, c in lines]
    )
    return order


@transaction.atomic
def purchase_order_send(*, order: PurchaseOrder, expected_version: int | None = None) -> PurchaseOrder:
    order = PurchaseOrder.objects.select_for_update().get(pk=order.pk)
    versioned = bump_locked(order, expected_version=expected_version)
    if order.status != PurchaseOrder.Status.DRAFT:
        raise StockRuleViolation(
            "Only a draft purchase order can be sent.", code="purchase_order_state", details={"status": order.status}
        )
    order.status, order.sent_at = PurchaseOrder.Status.SENT, timezone.now()
    order.save(update_fields=["status", "sent_at", *versioned])
    return order


@transaction.atomic
def purchase_order_update(
    *,
    order: PurchaseOrder,
    expected_version: int | None = None,
    reference: str | None = None,
    lines: Sequence[tuple[Variant, int, Decimal | None]] | None = None,
) -> PurchaseOrder:
    """Edit a draft purchase order: its reference, and its lines (replaced as a whole)."""
    order = PurchaseOrder.objects.select_for_update().get(pk=order.pk)
    versioned = bump_locked(order, expected_version=expected_version)
    if order.status != PurchaseOrder.Status.DRAFT:
        raise StockRuleViolation(
            "Only a draft purchase order can be edited.", code="purchase_order_state", details={"status": order.status}
        )
    if lines is not None:
        if not lines or any(qty <= 0 for _, qty, _ in lines):
            raise InvalidStockRequest("Give lines of at least 1 unit.", details={"lines": ["Invalid."]})
        order.lines.all().delete()
        PurchaseOrderLine.objects.bulk_create(
            [PurchaseOrderLine(purchase_order=order, variant=v, quantity=q, unit_cost=c) for v, q, c in lines]
        )
    fields = list(versioned)
    if reference is not None:
        order.reference = reference[:64]
        fields.append("reference")
    order.save(update_fields=fields)
    return order


@dataclass(frozen=True)
class PurchaseReceipt:
    line_id: int
    quantity: int
    batch_number: str = ""
    production_date: dt.date | None = None
    expiry_date: dt.date | None = None


@transaction.atomic
def purchase_order_receive(
    *, order: PurchaseOrder, receipts: Sequence[PurchaseReceipt], expected_version: int | None = None
) -> PurchaseOrder:
    """Receiving creates lots and receipt movements at the order's location."""
    order = PurchaseOrder.objects.select_for_update().get(pk=order.pk)
    versioned = bump_locked(order, expected_version=expected_version)
    if order.status not in {PurchaseOrder.Status.SENT, PurchaseOrder.Status.PARTIALLY_RECEIVED}:
        raise StockRuleViolation(
            "Only a sent purchase order can be received.",
            code="purchase_order_state",
            details={"status": order.status},
        )
    lines = {line.pk: line for line in order.lines.select_related("variant")}
    errors = {}
    receiving: dict[int, int] = {}  # a line may come in several batches: their sum is what counts
    for receipt in receipts:
        line = lines.get(receipt.line_id)
        if line is None:
            errors[str(receipt.line_id)] = ["Not a line of this order."]
            continue
        receiving[line.pk] = receiving.get(line.pk, 0) + receipt.quantity
        if receipt.quantity <= 0 or line.received_quantity + receiving[line.pk] > line.quantity:
            errors[str(receipt.line_id)] = ["Between 1 and the units still expected."]
    if errors or not receipts:
        raise InvalidStockRequest("Some receipts are not valid.", details={"lines": errors or ["Empty."]})
    stock_receive(
        location=order.location,
        lines=[
            ReceiptLine(lines[r.line_id].variant, r.quantity, r.batch_number, r.production_date, r.expiry_date)
            for r in receipts
        ],
        reference=f"PO-{order.pk}",
    )
    for receipt in receipts:
        line = lines[receipt.line_id]
        line.received_quantity += receipt.quantity
        line.save(update_fields=["received_quantity"])
    done = all(line.received_quantity == line.quantity for line in lines.values())
    order.status = PurchaseOrder.Status.RECEIVED if done else PurchaseOrder.Status.PARTIALLY_RECEIVED
    order.received_at = timezone.now() if done else None
    order.save(update_fields=["status", "received_at", *versioned])
    return order


# ---------------------------------------------------------------------------------------------
# Sales velocity, days of cover and reorder suggestions

VELOCITY_WINDOW_DAYS = 28
COVER_TARGET_DAYS = 14
DEFAULT_LEAD_TIME_DAYS = 7  # without a supplier offer


REORDER_BATCH_SIZE = 5_000

# One batch of stock rows (the next `size` ids after `after`), in ONE statement: the rows are
# read (a plain MVCC read: no row lock, so reservations and order placement never wait on it),
# their suggestions upserted and the suggestions of rows that no longer need one deleted.
# The arithmetic is exact integer/numeric arithmetic of the rules in the docstring below:
#   velocity   = sold / 28, stored rounded to 0.001
#   cover      = available / velocity = available * 28 / sold, rounded half-even to 0.1
#   needed     = ceil(sold * (lead + 14) / 28) - available - in_transit
_REORDER_BATCH_SQL = """
WITH items AS (
    SELECT id, variant_id, location_id, on_hand - reserved AS available, in_transit,
           reorder_point, reorder_quantity
    FROM stock_stockitem WHERE id > %(after)s ORDER BY id LIMIT %(size)s
),
offers AS (
    SELECT DISTINCT ON (o.variant_id) o.variant_id, o.supplier_id, o.minimum_order_quantity AS moq,
           s.lead_time_days AS lead
    FROM catalog_suppliervariant o JOIN catalog_supplier s ON s.id = o.supplier_id
    WHERE o.variant_id IN (SELECT variant_id FROM items)
    ORDER BY o.variant_id, o.is_preferred DESC, o.cost, o.id
),
base AS (
    SELECT i.id, i.available::bigint AS available, i.reorder_point, i.reorder_quantity,
           COALESCE(sd.units, 0) AS units, o.supplier_id, o.moq,
           CEIL(COALESCE(sd.units, 0)::numeric * (COALESCE(o.lead, %(default_lead)s) + %(target)s)
                / %(window)s)::bigint - i.available - i.in_transit AS needed
    FROM items i
    LEFT JOIN LATERAL (  -- per row, on the (variant, location, created_at) index: no scan of all sales
        SELECT -SUM(m.on_hand_delta)::bigint AS units FROM stock_movement m
        WHERE m.variant_id = i.variant_id AND m.location_id = i.location_id
          AND m.kind = %(sale)s AND m.created_at >= %(since)s
    ) sd ON true
    LEFT JOIN offers o ON o.variant_id = i.variant_id
),
wanted AS (
    SELECT b.*, CASE WHEN b.reorder_point > 0 AND b.available <= b.reorder_point
                     THEN GREATEST(b.needed, b.reorder_quantity) ELSE b.needed END AS wanted
    FROM base b
),
fresh AS (
    SELECT w.id, w.supplier_id,
           ROUND(w.units::numeric / %(window)s, 3) AS velocity,
           CASE WHEN w.units > 0 THEN (
               (w.available * 10 * %(window)s) / w.units
               + CASE WHEN 2 * ((w.available * 10 * %(window)s) %% w.units) > w.units THEN 1
                      WHEN 2 * ((w.available * 10 * %(window)s) %% w.units) = w.units
                          THEN ((w.available * 10 * %(window)s) / w.units) %% 2
                      ELSE 0 END
           )::numeric / 10 END AS cover,
           CASE WHEN w.moq > 1 THEN ((w.wanted + w.moq - 1) / w.moq) * w.moq ELSE w.wanted END AS quantity
    FROM wanted w WHERE w.wanted > 0
),
upserted AS (
    INSERT INTO stock_reordersuggestion
        (stock_item_id, supplier_id, daily_velocity, days_of_cover, suggested_quantity, computed_at)
    SELECT id, supplier_id, velocity, cover, quantity, %(now)s FROM fresh ORDER BY id
    ON CONFLICT (stock_item_id) DO UPDATE SET
        supplier_id = EXCLUDED.supplier_id, daily_velocity = EXCLUDED.daily_velocity,
        days_of_cover = EXCLUDED.days_of_cover, suggested_quantity = EXCLUDED.suggested_quantity,
        computed_at = EXCLUDED.computed_at
    RETURNING 1
),
removed AS (
    DELETE FROM stock_reordersuggestion r USING items i
    WHERE r.stock_item_id = i.id AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.id = i.id)
    RETURNING 1
)
SELECT (SELECT max(id) FROM items), (SELECT count(*) FROM upserted), (SELECT count(*) FROM removed)
"""


def _reorder_batch(*, after: int, size: int, now: dt.datetime, since: dt.datetime) -> tuple[int | None, int, int]:
    """Recompute the suggestions of the next `size` stock rows after id `after`, in its own short
    transaction. Returns (last stock row id of the batch or None when there is none, suggestions
    written, stale suggestions removed)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _REORDER_BATCH_SQL,
            {
                "after": after,
                "size": size,
                "now": now,
                "since": since,
                "sale": Movement.Kind.SALE.value,
                "window": VELOCITY_WINDOW_DAYS,
                "target": COVER_TARGET_DAYS,
                "default_lead": DEFAULT_LEAD_TIME_DAYS,
            },
        )
        last_id, written, removed = cursor.fetchone()
    return last_id, written, removed


def reorder_suggestions_compute(*, now: dt.datetime | None = None, batch_size: int = REORDER_BATCH_SIZE) -> int:
    """Daily: trailing-28-day sales velocity per stock row, its days of cover, and a suggested
    reorder quantity (enough for the preferred supplier's lead time plus two weeks, at least the
    reorder quantity, rounded up to the supplier's minimum order).

    The offer used per variant is the preferred one, else the cheapest (ties: the oldest offer);
    without an offer the lead time is 7 days and there is no minimum. A row gets a suggestion only
    when it needs units; rows that no longer do lose theirs. Returns the suggestions written.

    Set-based and batched: `batch_size` stock rows by id per statement, each batch its own short
    transaction (one INSERT ... ON CONFLICT DO UPDATE and one DELETE of stale rows, in one
    statement). Stock rows are only read, never locked, so reservations and order placement run
    alongside it. A row changed while the job runs is seen as it is when its batch runs; readers
    may see a mix of this run's and the last run's suggestions until the job ends (each
    suggestion carries its `computed_at`)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = now or timezone.now()
    since = now - dt.timedelta(days=VELOCITY_WINDOW_DAYS)
    total, after = 0, 0
    while True:
        last_id, written, _removed = _reorder_batch(after=after, size=batch_size, now=now, since=since)
        if last_id is None:
            return total
        total += written
        after = last_id


@transaction.atomic
def purchase_orders_draft_from_suggestions() -> list[PurchaseOrder]:
    """One draft purchase order per (supplier, location) from the current suggestions."""
    grouped: dict[tuple[int, int], list[ReorderSuggestion]] = {}
    for suggestion in ReorderSuggestion.objects.select_related("stock_item", "supplier").filter(
        supplier__isnull=False
    ):
        grouped.setdefault((suggestion.supplier_id, suggestion.stock_item.location_id), []).append(suggestion)
    orders = []
    for (supplier_id, location_id), rows in sorted(grouped.items()):
        costs = dict(SupplierVariant.objects.filter(supplier_id=supplier_id).values_list("variant_id", "cost"))
        orders.append(
            purchase_order_create(
                supplier=rows[0].supplier,
                location=Location.objects.get(pk=location_id),
                lines=[(r.stock_item.variant, r.suggested_quantity, costs.get(r.stock_item.variant_id)) for r in rows],
                reference="suggested",
            )
        )
    return orders


def reservation_extend(*, reservation: Reservation, until: dt.datetime) -> None:
    """Hold an active reservation longer (a paid order keeps its stock until fulfilment)."""
    changed = Reservation.objects.filter(
        pk=reservation.pk, status=Reservation.Status.ACTIVE, expires_at__lt=until
    ).update(expires_at=until)
    if changed:
        entry_for(
            Reservation,
            object_pk=reservation.pk,
            object_repr=f"reservation {reservation.pk} for {reservation.reference}",
            changes={"expires_at": [reservation.expires_at.isoformat(), until.isoformat()]},
        ).save()


RETURN_BUCKETS = {"resaleable": "on_hand", "damaged": "damaged", "quarantine": "returned"}


@transaction.atomic
def stock_return(
    *, location: Location, variant: Variant, quantity: int, condition: str, lot: Lot | None = None, reference: str = ""
) -> ItemState:
    """Returned units come back: to available stock (into their lot), or to the damaged or the
    returned (quarantine) bucket."""
    bucket = RETURN_BUCKETS.get(condition)
    if bucket is None or quantity <= 0:
        raise InvalidStockRequest("Unknown condition or quantity.", details={"condition": list(RETURN_BUCKETS)})
    item = _change_item(variant.pk, location.pk, **{bucket: quantity})
    if item is None:
        item = _upsert_item(variant.pk, location.pk)
        item = _change_item(variant.pk, location.pk, **{bucket: quantity})
    if bucket == "on_hand" and lot is not None:
        _change_lot(lot.pk, location.pk, on_hand=quantity, upsert=True)
    batch = _Batch(reference=reference)
    batch.items[item.id] = item
    batch.move(
        kind=Movement.Kind.RETURN,
        reason="" if bucket == "on_hand" else condition,
        variant_id=variant.pk,
        location_id=location.pk,
        lot_id=lot.pk if lot and bucket == "on_hand" else None,
        **{bucket: quantity},
    )
    batch.flush()
    return item


# ---------------------------------------------------------------------------------------------
# Partner sync: absolute on-hand levels, set-based


@dataclass(frozen=True)
class LevelLine:
    variant_id: int
    location_id: int
    on_hand: int
    tracks_lots: bool = False


@transaction.atomic
def stock_levels_sync(
    *, lines: Sequence[LevelLine], all_or_nothing: bool, reference: str = ""
) -> dict[int, tuple[str, int | None]]:
    """Set on-hand stock to counted levels (a partner's or ERP's numbers), a count correction in
    the ledger for every difference. A handful of statements for any number of lines: the rows
    locked in one ordered SELECT ... FOR UPDATE, one UPDATE, one INSERT for new rows, one ledger
    INSERT, one outbox INSERT. Returns {line index: (outcome, delta)}; outcomes `applied`,
    `unchanged` or an error code (`lot_tracked`, `duplicate_line`, `below_reserved`). With
    `all_or_nothing` any error raises and nothing is applied."""
    results: dict[int, tuple[str, int | None]] = {}
    seen: set[tuple[int, int]] = set()
    wanted: dict[tuple[int, int], tuple[int, int]] = {}  # (variant, location) -> (index, on_hand)
    for index, line in enumerate(lines):
        pair = (line.variant_id, line.location_id)
        if line.tracks_lots:
            results[index] = ("lot_tracked", None)
        elif pair in seen:
            results[index] = ("duplicate_line", None)
        else:
            wanted[pair] = (index, line.on_hand)
        seen.add(pair)
    pairs = sorted(wanted, key=lambda p: (p[1], p[0]))
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT s.id, s.variant_id, s.location_id, s.on_hand, s.reserved FROM stock_stockitem s
               JOIN unnest(%s::bigint[], %s::bigint[]) AS w(variant_id, location_id)
                 ON w.variant_id = s.variant_id AND w.location_id = s.location_id
               ORDER BY s.location_id, s.variant_id FOR UPDATE OF s""",
            [[p[0] for p in pairs], [p[1] for p in pairs]],
        )
        existing = {(v, loc): (pk, on_hand, reserved) for pk, v, loc, on_hand, reserved in cursor.fetchall()}
    updates: list[tuple[int, int, int]] = []  # (stock row, new on hand, index)
    inserts: list[tuple[int, int, int, int]] = []  # (variant, location, on hand, index)
    for pair in pairs:
        index, on_hand = wanted[pair]
        row = existing.get(pair)
        if row is None:
            if on_hand:
                inserts.append((pair[0], pair[1], on_hand, index))
                results[index] = ("applied", on_hand)
            else:
                results[index] = ("unchanged", 0)
        elif on_hand < row[2]:
            results[index] = ("below_reserved", None)
        elif on_hand == row[1]:
            results[index] = ("unchanged", 0)
        else:
            updates.append((row[0], on_hand, index))
            results[index] = ("applied", on_hand - row[1])
    bad = {i: r[0] for i, r in results.items() if r[0] not in {"applied", "unchanged"}}
    if all_or_nothing and bad:
        raise InvalidStockRequest(
            f"{len(bad)} of {len(lines)} lines are not valid; nothing was applied.",
            details={"lines": {str(i): [code] for i, code in sorted(bad.items())}},
        )
    items: list[ItemState] = []
    returning = "RETURNING s.id, v.sku, s.variant_id, s.location_id, s.on_hand, s.reserved, s.reorder_point"
    with connection.cursor() as cursor:
        if updates:
            cursor.execute(
                f"""UPDATE stock_stockitem s SET on_hand = w.on_hand, updated_at = now()
                    FROM unnest(%s::bigint[], %s::int[]) AS w(id, on_hand), catalog_variant v
                    WHERE s.id = w.id AND v.id = s.variant_id AND w.on_hand >= s.reserved {returning}""",
                [[u[0] for u in updates], [u[1] for u in updates]],
            )
            items += [ItemState(*row) for row in cursor.fetchall()]
        if inserts:
            cursor.execute(
                """WITH s AS (
                        INSERT INTO stock_stockitem (variant_id, location_id, on_hand, reserved, damaged, returned,
                               in_transit, reorder_point, reorder_quantity, version, updated_at)
                        SELECT w.variant_id, w.location_id, w.on_hand, 0, 0, 0, 0, 0, 0, 1, now()
                        FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS w(variant_id, location_id, on_hand)
                        ON CONFLICT (variant_id, location_id) DO NOTHING
                        RETURNING id, variant_id, location_id, on_hand, reserved, reorder_point)
                    SELECT s.id, v.sku, s.variant_id, s.location_id, s.on_hand, s.reserved, s.reorder_point
                    FROM s JOIN catalog_variant v ON v.id = s.variant_id""",
                [[i[0] for i in inserts], [i[1] for i in inserts], [i[2] for i in inserts]],
            )
            new_items = [ItemState(*row) for row in cursor.fetchall()]
            items += new_items
            created = {(item.variant_id, item.location_id) for item in new_items}
            for variant_id, location_id, _on_hand, index in inserts:
                if (variant_id, location_id) not in created:  # a concurrent writer created the row first
                    results[index] = ("conflict", None)
    if all_or_nothing and any(r[0] == "conflict" for r in results.values()):
        raise StockRuleViolation("Stock rows changed while syncing; send the request again.")
    deltas = {pair: results[index][1] for pair, (index, _on_hand) in wanted.items()}
    batch = _Batch(reference=reference)
    for item in items:
        batch.items[item.id] = item
        batch.move(
            kind=Movement.Kind.ADJUSTMENT,
            reason=Movement.Reason.COUNT,
            variant_id=item.variant_id,
            location_id=item.location_id,
            note="partner sync",
            on_hand=deltas[(item.variant_id, item.location_id)] or 0,
        )
    batch.flush()
    return results
