"""Placing orders and moving them through their lifecycle.

Placement prices every line with the catalog's price selector, computes Decimal totals (lines
rounded half-up to the currency, tax inclusive or exclusive per tenant), reserves the stock
(first-expiry-first-out lots) in the same transaction, and records the `placed` event and an
`order.placed` outbox event. Nothing is stored if any line cannot be reserved.

Allocation (delivery and shipping without a chosen location; apps.orders.allocation): one location
that has every line in full (nearest to the delivery address, then most stock), else the fewest
locations that cover the order (greedy), a line split across locations only when none of them has
all of it; `allow_split=False` answers 409 `split_refused` instead. Each line records its location,
and the reservation holds each line's units there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.catalog.models import Product, Variant
from apps.core.audit import atomic_service, current_actor
from apps.core.bulk import insert_together, insert_unless_conflict
from apps.core.errors import InvalidInput
from apps.core.services import events_record
from apps.core.versioning import bump_locked
from apps.orders.errors import FulfilmentUnavailable, InvalidTransition, WholesaleNotApproved
from apps.orders.models import (
    DeliveryRoute,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    ReturnLine,
    ReturnRequest,
    RouteStop,
)
from apps.stock import services as stock
from apps.stock.errors import InsufficientStock, ReservationClosed
from apps.stock.models import Location, StockItem

S = OrderStatus

# Allowed transitions. Anything else answers 409 `invalid_transition`.
TRANSITIONS: dict[str, set[str]] = {
    S.PLACED: {S.CONFIRMED, S.PAID, S.CANCELLED},
    S.ON_HOLD: {S.CONFIRMED, S.CANCELLED},  # on account during a credit hold: staff release or cancel
    S.CONFIRMED: {S.PAID, S.PREPARING, S.CANCELLED},
    S.PAID: {S.PREPARING, S.CANCELLED, S.REFUNDED},
    S.PREPARING: {S.READY, S.OUT_FOR_DELIVERY, S.SHIPPED, S.CANCELLED},
    S.READY: {S.COMPLETED, S.CANCELLED},
    S.OUT_FOR_DELIVERY: {S.COMPLETED},
    S.SHIPPED: {S.COMPLETED},
    S.COMPLETED: {S.REFUNDED},
    S.CANCELLED: set(),
    S.REFUNDED: set(),
}
# The status that ends "preparing" for each fulfilment method.
HANDOFF = {"pickup": S.READY, "curbside": S.READY, "delivery": S.OUT_FOR_DELIVERY, "shipping": S.SHIPPED}
# When the goods leave the business, the reservation becomes a sale in the ledger: picked up
# (completed) for pickup and curbside, on the road for delivery, handed to the carrier for shipping.
SALE_AT = {"pickup": S.COMPLETED, "curbside": S.COMPLETED, "delivery": S.OUT_FOR_DELIVERY, "shipping": S.SHIPPED}
# Once paid (or confirmed on account) the stock is held until fulfilment, not just the payment window.
FULFILMENT_HOLD = dt.timedelta(days=60)


@dataclass(frozen=True)
class LineRequest:
    variant: Variant
    quantity: int


def _tenant() -> object:
    return getattr(connection, "tenant", None)


def _precision() -> int:
    return getattr(_tenant(), "currency_precision", 2)


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-_precision()), rounding=ROUND_HALF_UP)


_LINE_NAME_MAX = OrderLine._meta.get_field("name").max_length


def line_name(variant: Variant) -> str:
    """What a receipt line says: the product's name and the variant's label as the customer saw
    them when ordering ("Mango Habanero Hot Sauce — 250 ml"). Stored on the line, so renaming the
    product or the variant later leaves placed orders as they were; the SKU has its own column."""
    product = variant.product.name.strip()
    label = (variant.name or variant.size or "").strip()
    if label and product and label.casefold() != product.casefold():
        text = f"{product} — {label}"
    else:
        text = product or label or variant.sku
    return text[:_LINE_NAME_MAX]


def _with_products(variants: Sequence[Variant]) -> None:
    """Give the variants read without their product (select_related) their product, in one query
    for all of them; none when the caller already loaded them (order placement does)."""
    missing = {v.product_id for v in variants if not Variant.product.is_cached(v)}
    if not missing:
        return
    products = Product.objects.in_bulk(missing)
    for variant in variants:
        if not Variant.product.is_cached(variant):
            variant.product = products[variant.product_id]


def _priced_lines(
    lines: Sequence[LineRequest],
    customer: object | None,
    *,
    channel: str,
    fulfilment: str,
    delivery_fee: Decimal = Decimal("0"),
    codes: Sequence[str] = (),
    caller: str | None = None,
    redeemed_by_order: Sequence[int] = (),
) -> tuple[list[OrderLine], list[LineRequest], object]:
    """Order lines (not yet saved) priced by the promotions' pricing function: base prices from the
    catalog's price selector, the best combination of live promotions and the entered coupons,
    each line's discounts with their reasons; plus the free-gift lines to reserve, and the priced
    cart (apps.promotions.services.PricedCart)."""
    from apps.promotions.services import cart_price

    _with_products([line.variant for line in lines])  # the pricing reuses them: no query of its own
    priced = cart_price(
        lines=[(line.variant, line.quantity) for line in lines],
        customer=customer,
        channel=channel,
        fulfilment=fulfilment,
        delivery_fee=delivery_fee,
        codes=codes,
        caller=caller,
        redeemed_by_order=redeemed_by_order,
    )
    order_lines, gifts = [], []
    gift_variants = Variant.objects.select_related("product").in_bulk(
        [p.variant_id for p in priced.quote.lines if p.gift]
    )
    for index, line in enumerate(priced.quote.lines):
        variant = lines[index].variant if not line.gift else gift_variants[line.variant_id]
        if line.gift:
            gifts.append(LineRequest(variant, line.quantity))
        order_lines.append(
            OrderLine(
                variant=variant,
                sku=variant.sku,
                name=line_name(variant),
                quantity=line.quantity,
                unit_price=line.unit_price,
                line_total=line.line_total,
                discount=line.discount,
                discounts=line.discounts,
            )
        )
    return order_lines, gifts, priced


def _is_gift(line: OrderLine) -> bool:
    return any(d.get("gift") for d in line.discounts or [])


def _tax_and_total(
    subtotal: Decimal, *, discount: Decimal, delivery_fee: Decimal, inclusive: bool
) -> tuple[Decimal, Decimal]:
    """Tax at the tenant's rate on subtotal - discount (the share already inside tax-inclusive
    prices, or added on top), rounded once; and the total to pay."""
    rate = Decimal(getattr(_tenant(), "tax_rate", 0) or 0)
    taxable = subtotal - discount
    if inclusive:
        return _money(taxable - taxable / (1 + rate)), taxable + delivery_fee
    tax = _money(taxable * rate)
    return tax, taxable + tax + delivery_fee


def _number() -> str:
    return f"{timezone.now():%y%m}-{secrets.token_hex(3).upper()}"


def allocate(
    lines: Sequence[LineRequest],
    *,
    fulfilment: str,
    allow_split: bool = True,
    near: tuple[object, object] | None = None,
) -> list[list[tuple[Location, int]]]:
    """Each line's (location, quantity) parts (see apps.orders.allocation): one statement reads the
    units available at every active location that offers `fulfilment` (a delivery: locations with
    `delivery_enabled`; shipping: any) with the locations themselves (and their coordinates, for
    the distance to `near`, the delivery address's latitude and longitude). When no active
    location offers it at all, 400 `fulfilment_unavailable` instead of `insufficient_stock`."""
    from apps.orders import allocation
    from apps.stock.locator import OFFERS

    flag = OFFERS.get(fulfilment)  # shipping has no flag
    offering = {f"location__{flag}": True} if flag else {}
    rows = (
        StockItem.objects.filter(
            variant_id__in={line.variant.pk for line in lines},
            location__is_active=True,
            on_hand__gt=F("reserved"),
            **offering,
        )
        .select_related("location")
        .order_by("location_id", "variant_id")
    )
    candidates: dict[int, allocation.Candidate] = {}
    for row in rows:
        candidate = candidates.get(row.location_id)
        if candidate is None:
            distance = allocation.distance_to(row.location, *near) if near else None
            candidate = candidates[row.location_id] = allocation.Candidate(row.location, {}, distance)
        candidate.available[row.variant_id] = row.on_hand - row.reserved
    where = f"all locations that offer {fulfilment}" if flag else "all locations"
    try:
        return allocation.plan(lines, list(candidates.values()), allow_split=allow_split, where=where)
    except InsufficientStock:
        # Only on the way out (one more statement): short of stock, or no location offers it at all?
        if flag and not Location.objects.filter(is_active=True, **{flag: True}).exists():
            raise FulfilmentUnavailable(
                f"No location offers {fulfilment}.", details={"fulfilment": [f"No location offers {fulfilment}."]}
            ) from None
        raise


def _lines_at(order_lines: list[OrderLine], plan: Sequence[Sequence[tuple[Location, int]]]) -> list[OrderLine]:
    """The priced lines at their locations: a line in several parts becomes one line per location,
    its total, discount and each discount's amount shared by quantity (to the currency's precision,
    the shares adding up exactly)."""
    from apps.orders.allocation import split_amounts

    quantum = Decimal(1).scaleb(-_precision())
    placed: list[OrderLine] = []
    for line, parts in zip(order_lines, plan, strict=True):
        if len(parts) == 1:
            line.location = parts[0][0]
            placed.append(line)
            continue
        quantities = [qty for _, qty in parts]
        totals = split_amounts(line.line_total, quantities, quantum)
        discounts = split_amounts(line.discount, quantities, quantum)
        reasons = [split_amounts(Decimal(d.get("amount", "0")), quantities, quantum) for d in line.discounts or []]
        for n, (location, qty) in enumerate(parts):
            placed.append(
                OrderLine(
                    variant=line.variant,
                    sku=line.sku,
                    name=line.name,
                    quantity=qty,
                    unit_price=line.unit_price,
                    line_total=totals[n],
                    discount=discounts[n],
                    discounts=[{**d, "amount": str(r[n])} for d, r in zip(line.discounts or [], reasons, strict=True)],
                    location=location,
                )
            )
    return placed


def _kept_locations(
    lines: Sequence[LineRequest], held: dict[int, list[tuple[Location, int]]], *, default: Location
) -> list[list[tuple[Location, int]]]:
    """Changed lines keep where their units were allocated: each variant fills its locations up to
    what they held, in order; more units come from its first location, a new variant's from
    `default` (the order's location)."""
    from apps.orders.allocation import assign

    needs: dict[int, int] = {}
    for line in lines:
        needs[line.variant.pk] = needs.get(line.variant.pk, 0) + line.quantity
    parts: dict[int, list[tuple[Location, int]]] = {}
    for variant_id, need in needs.items():
        places = held.get(variant_id) or [(default, 0)]
        mine, left = [], need
        for location, qty in places:
            take = min(qty, left)
            if take:
                mine.append((location, take))
                left -= take
        if left:
            mine.append((places[0][0], left))
        parts[variant_id] = mine
    return assign(lines, parts)


def _primary_location(order_lines: Sequence[OrderLine]) -> Location:
    """The order's `location` when it ships from several: the one sending the most units."""
    units: dict[int, int] = {}
    for line in order_lines:
        units[line.location.pk] = units.get(line.location.pk, 0) + line.quantity
    best = max(units, key=lambda pk: (units[pk], -list(units).index(pk)))
    return next(line.location for line in order_lines if line.location.pk == best)


def _check_fulfilment(fulfilment: str, location: Location | None) -> None:
    if fulfilment in {"pickup", "curbside"}:
        if location is None:
            raise FulfilmentUnavailable("Choose the store for pickup.", details={"location_id": ["Required."]})
        if fulfilment == "pickup" and not location.pickup_enabled:
            raise FulfilmentUnavailable(details={"fulfilment": [f"{location.name} does not offer pickup."]})
        if fulfilment == "curbside" and not location.curbside_enabled:
            raise FulfilmentUnavailable(details={"fulfilment": [f"{location.name} does not offer curbside."]})


@atomic_service  # inside the idempotent request's transaction: no savepoint of its own (2 round trips)
def order_place(
    *,
    customer: object | None,
    channel: str,
    fulfilment: str,
    lines: Sequence[LineRequest],
    location: Location | None = None,
    on_account: bool = False,
    delivery_fee: Decimal = Decimal("0"),
    note: str = "",
    placed_by_key: object | None = None,
    delivery: dict | None = None,
    redeem_points: int = 0,
    coupon_codes: Sequence[str] = (),
    allow_split: bool = True,
) -> Order:
    if not lines:
        raise InvalidInput("An order needs at least one line.", code="validation_error", details={"lines": ["Empty."]})
    bad = {str(i): ["Unavailable."] for i, line in enumerate(lines) if line.variant.is_archived}
    bad |= {str(i): ["At least 1."] for i, line in enumerate(lines) if line.quantity <= 0}
    if bad:
        raise InvalidInput("Some lines cannot be ordered.", code="validation_error", details={"lines": bad})
    is_wholesale = getattr(customer, "kind", None) == "wholesale"
    account = None
    if is_wholesale:
        if on_account and customer.wholesale_account_id:
            # Credit terms: the account row stays locked to the end of this transaction, so two orders
            # on account of one business are checked against the limit one after the other.
            from apps.accounts.credit import credit_account_lock

            account = credit_account_lock(account_id=customer.wholesale_account_id)
        else:
            account = customer.wholesale_account
        if account is None or not account.is_approved:
            raise WholesaleNotApproved()
    elif on_account:
        raise InvalidInput(
            "Only approved wholesale accounts order on account.",
            code="validation_error",
            details={"on_account": ["Wholesale accounts only."]},
        )
    _check_fulfilment(fulfilment, location)
    delivery = delivery or {}
    if fulfilment == "delivery" and (delivery.get("latitude") is None or delivery.get("longitude") is None):
        raise InvalidInput(
            "A delivery needs the address with its coordinates.",
            code="validation_error",
            details={"delivery": ["address, latitude and longitude are required."]},
        )

    tenant = _tenant()
    inclusive = bool(getattr(tenant, "prices_include_tax", False))
    caller = f"user{customer.pk}" if getattr(customer, "pk", None) else None
    if caller is None and placed_by_key is not None:
        caller = f"key{placed_by_key.pk}"
    order_lines, gifts, priced = _priced_lines(
        lines,
        customer,
        channel=channel,
        fulfilment=fulfilment,
        delivery_fee=delivery_fee,
        codes=coupon_codes,
        caller=caller,
    )
    priced.raise_for_codes()  # a wrong, used-up or inapplicable code stops the order, saying which
    subtotal = sum((line.line_total for line in order_lines), Decimal("0"))
    discount = priced.quote.discount
    delivery_fee = priced.quote.delivery_fee  # after a free-delivery offer (recorded in discounts)
    tax, total = _tax_and_total(subtotal, discount=discount, delivery_fee=delivery_fee, inclusive=inclusive)
    lines = [*lines, *gifts]

    if location is not None:  # pickup, curbside, or staff naming the location: everything from there
        plan = [[(location, line.quantity)] for line in lines]
    else:
        near = (delivery.get("latitude"), delivery.get("longitude"))
        plan = allocate(lines, fulfilment=fulfilment, allow_split=allow_split, near=near if None not in near else None)
    order_lines = _lines_at(order_lines, plan)
    now = timezone.now()
    window = FULFILMENT_HOLD if on_account else dt.timedelta(minutes=settings.ORDER_PAYMENT_WINDOW_MINUTES)
    held = bool(on_account and account.credit_hold)  # an invoice is overdue: staff release the order
    fields = {
        "customer": customer if getattr(customer, "pk", None) else None,
        "channel": channel,
        "fulfilment": fulfilment,
        "location": location or _primary_location(order_lines),
        "currency": getattr(tenant, "currency", "USD"),
        "subtotal": subtotal,
        "discount": discount,
        "discounts": priced.quote.order_discounts,
        "tax": tax,
        "delivery_fee": delivery_fee,
        "total": total,
        "prices_include_tax": inclusive,
        "on_account": on_account,
        "payment_due_at": now + window,
        "note": note[:500],
        "placed_by_key": placed_by_key,
        "delivery_address": (delivery.get("address") or "")[:300],
        "delivery_latitude": delivery.get("latitude"),
        "delivery_longitude": delivery.get("longitude"),
        "delivery_window_start": delivery.get("window_start"),
        "delivery_window_end": delivery.get("window_end"),
        "status": S.ON_HOLD if held else S.CONFIRMED if on_account else S.PLACED,
        "confirmed_at": now if on_account and not held else None,
        "on_hold_at": now if held else None,
    }
    # The reservation row first (no stock row is touched yet), so the order is inserted with it; the
    # stock rows themselves are locked last, just before the transaction commits (reservation_hold).
    number = _number()
    reservation = stock.reservation_open(reference=f"order-{number}", ttl=window + dt.timedelta(minutes=5))
    order = None
    for _attempt in range(5):  # order numbers are random: retry the rare collision (no savepoint)
        candidate = Order(number=number, reservation=reservation, **fields)
        if insert_unless_conflict(candidate, on=["number"]):
            order = candidate
            break
        number = _number()
        reservation.reference = f"order-{number}"
        reservation.save(update_fields=["reference"])
    if order is None:
        raise InvalidInput("Could not number the order; try again.", code="order_numbering")
    for line in order_lines:
        line.order = order
    # The lines and the trail's first event in one statement. The event is audited as create()
    # audits it; the lines, as with bulk_create, not.
    event = _event(order, "", order.status, "placed", save=False)
    insert_together([(OrderLine, order_lines), (OrderEvent, [event])], returning_all=True, signals_for=[OrderEvent])
    if priced.codes:  # coupon uses counted in this transaction (a race for the last use: one wins)
        from apps.promotions.services import redemptions_record

        redemptions_record(order=order, priced=priced, customer=customer)
    if redeem_points:  # loyalty points pay part of the total, like a payment
        from apps.loyalty.services import redemption_apply

        redemption_apply(order=order, points=redeem_points)
    if on_account:  # within the credit limit (also while on hold), invoiced once confirmed
        from apps.accounts.credit import credit_check
        from apps.payments.invoices import invoice_issue

        credit_check(account=account, amount=order.total)
        if not held:
            invoice_issue(order=order, account=account)
    events_record([("order.placed", {"number": order.number, "total": str(order.total), "status": order.status})])
    stock.reservation_hold(  # each line's units at its own location
        reservation=reservation,
        lines=[stock.ReserveLine(line.variant, line.location, line.quantity) for line in order_lines],
    )
    # The caller gets the order with its lines and trail as stored, without reading them back.
    _as_prefetched(order, lines=order_lines, events=[event])
    return order


def _as_prefetched(order: Order, **related: list) -> None:
    """Attach related rows already in memory as if prefetched (what prefetch_related stores), so
    serializing the order reads nothing back and `order.lines.filter(...)` still queries."""
    cache = {}
    for name, rows in related.items():
        queryset = getattr(order, name).get_queryset()
        queryset._result_cache, queryset._prefetch_done = rows, True
        cache[name] = queryset
    order._prefetched_objects_cache = cache


def _event(order: Order, from_status: str, to_status: str, reason: str = "", *, save: bool = True) -> OrderEvent:
    """A row of the order's trail, by the current actor; `save=False`: not yet inserted."""
    actor = current_actor()
    event = OrderEvent(
        order=order,
        from_status=from_status,
        to_status=to_status,
        actor=(actor.label if actor else "")[:150],
        reason=reason[:500],
    )
    if save:
        event.save(force_insert=True)
    return event


@transaction.atomic
def order_transition(*, order: Order, to: str, reason: str = "", expected_version: int | None = None) -> Order:
    """Move the order along its state machine; stamps the status time, keeps the trail, and moves
    the stock: cancellation releases it, the hand-off to the customer sells it. `expected_version`
    (the client's If-Match): the move applies only to that version of the order (else 412)."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    versioned = bump_locked(locked, expected_version=expected_version)
    if to not in TRANSITIONS.get(locked.status, set()):
        raise InvalidTransition(
            f"An order that is {locked.get_status_display().lower()} cannot become {to}.",
            details={"from": locked.status, "to": to, "allowed": sorted(TRANSITIONS.get(locked.status, set()))},
        )
    if to == S.SHIPPED and not (locked.carrier and locked.tracking_number):
        raise InvalidTransition(
            "Ship the order with its carrier and tracking number (POST /ship).",
            details={"from": locked.status, "to": to},
        )
    if to in {S.READY, S.OUT_FOR_DELIVERY, S.SHIPPED} and HANDOFF[locked.fulfilment] != to:
        raise InvalidTransition(
            f"A {locked.fulfilment} order becomes {HANDOFF[locked.fulfilment]}, not {to}.",
            details={"from": locked.status, "to": to},
        )
    if to == S.PREPARING and locked.status == S.CONFIRMED and not locked.on_account:
        raise InvalidTransition(
            "The order must be paid before it is prepared.", details={"from": locked.status, "to": to}
        )
    if to == S.PAID and locked.on_account:
        _refuse_paid_on_account(locked)
    now = timezone.now()
    if locked.on_account:
        _invoice_on_transition(locked, to)
    if to in {S.CANCELLED, S.REFUNDED} and locked.reservation_id:
        with contextlib.suppress(ReservationClosed):  # expired or already released
            stock.reservation_release(reservation=locked.reservation)
    if to == SALE_AT[locked.fulfilment] and locked.reservation_id:
        stock.reservation_commit(reservation=locked.reservation)  # the sale enters the ledger
    if to == S.PAID and locked.reservation_id:
        stock.reservation_extend(reservation=locked.reservation, until=now + FULFILMENT_HOLD)
    previous = locked.status
    locked.status = to
    setattr(locked, f"{to}_at", now)
    fields = ["status", f"{to}_at", *versioned]
    if to == S.PAID:
        locked.payment_due_at = None
        fields.append("payment_due_at")
    locked.save(update_fields=fields)
    _loyalty_on_transition(locked, to)
    if to == S.CANCELLED and previous in {S.PLACED, S.ON_HOLD, S.CONFIRMED}:  # unpaid: coupon uses given back
        from apps.promotions.services import redemptions_release

        redemptions_release(order=locked)
    _event(locked, previous, to, reason)
    events_record([(f"order.{to}", {"number": locked.number, "status": to})])
    return locked


def _refuse_paid_on_account(order: Order) -> None:
    """An order on account is paid through its invoice (staff record the money received, with its
    method and reference), never by moving the order: else the invoice stayed open and the open
    balance counted money already received."""
    from apps.payments import invoices

    invoice = invoices.invoice_of_order(order=order)
    raise InvalidTransition(
        "An order on account is paid through its invoice: record the payment against "
        + (f"invoice {invoice.number} (POST /invoices/{invoice.pk}/payments)." if invoice else "its invoice."),
        details={
            "from": order.status,
            "to": S.PAID,
            "invoice_id": invoice.pk if invoice else None,
            "invoice": invoice.number if invoice else None,
        },
    )


def _invoice_on_transition(order: Order, to: str) -> None:
    """Orders on account: released from a credit hold, the order is invoiced (the limit checked
    again); cancelled before its invoice is paid, the invoice is void; refunded, an unpaid invoice is
    void and the money received against it is a credit note to the account."""
    from apps.payments import invoices

    if to == S.CONFIRMED and order.status == S.ON_HOLD:
        invoices.invoice_issue_on_release(order=order)
    elif to == S.CANCELLED:
        invoices.invoice_void_for_order(order=order)
    elif to == S.REFUNDED:
        invoices.invoice_credit_for_refund(order=order)


def _loyalty_on_transition(order: Order, to: str) -> None:
    """Points: a paid order earns (pending until its return window passes; an order on account earns
    when it is completed, its invoice being due then); a cancelled or refunded one gives back the
    points spent on it and reverses what it earned."""
    from apps.loyalty import services as loyalty

    if to == S.PAID or (to == S.COMPLETED and order.on_account):
        loyalty.points_earn_for_order(order=order)
    elif to in {S.CANCELLED, S.REFUNDED}:
        loyalty.points_release_for_order(order=order)


@transaction.atomic
def order_cancel_by_customer(*, order: Order, expected_version: int | None = None) -> Order:
    """A customer may cancel until the order is paid; after that the store refunds it."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status not in {S.PLACED, S.ON_HOLD, S.CONFIRMED}:
        raise InvalidTransition(
            "Only an order not yet paid can be cancelled here; contact the store.",
            details={"from": locked.status, "to": "cancelled"},
        )
    return order_transition(
        order=locked, to=S.CANCELLED, reason="cancelled by the customer", expected_version=expected_version
    )


def orders_expire_unpaid(*, now: dt.datetime | None = None) -> int:
    """Cancel placed orders whose payment window passed; their stock is released."""
    due = Order.objects.filter(status=S.PLACED, payment_due_at__lte=now or timezone.now()).order_by("payment_due_at")
    count = 0
    for order in due[:500]:
        try:
            order_transition(order=order, to=S.CANCELLED, reason="payment window expired")
            count += 1
        except InvalidTransition:
            continue  # paid meanwhile
    return count


CARRIER_TRACKING_URLS = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={}",
}


@transaction.atomic
def order_ship(*, order: Order, carrier: str, tracking_number: str, expected_version: int | None = None) -> Order:
    """A shipping order leaves with its carrier and tracking number."""
    if carrier not in CARRIER_TRACKING_URLS or not tracking_number.strip():
        raise InvalidInput(
            "Give a known carrier and the tracking number.",
            code="validation_error",
            details={"carrier": [f"One of {', '.join(CARRIER_TRACKING_URLS)}."]},
        )
    Order.objects.filter(pk=order.pk).update(carrier=carrier, tracking_number=tracking_number.strip()[:64])
    return order_transition(
        order=order, to=S.SHIPPED, reason=f"{carrier} {tracking_number.strip()}", expected_version=expected_version
    )


def order_tracking(order: Order) -> dict:
    url = CARRIER_TRACKING_URLS.get(order.carrier, "").format(order.tracking_number) if order.carrier else None
    return {
        "number": order.number,
        "status": order.status,
        "carrier": order.carrier or None,
        "tracking_number": order.tracking_number or None,
        "tracking_url": url,
        "shipped_at": order.shipped_at,
    }


@dataclass(frozen=True)
class LineChange:
    variant: Variant
    quantity: int  # 0 removes the line


@transaction.atomic
def order_lines_update(*, order: Order, changes: Sequence[LineChange], expected_version: int | None = None) -> Order:
    """Add, change and remove many lines at once while the order is open (placed or confirmed).
    All or nothing: the old hold is released and the new line set reserved in one transaction, so a
    change that cannot be supplied rolls back and leaves the order exactly as it was. Lines keep
    the location they were allocated to; new lines come from the order's location."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    versioned = bump_locked(locked, expected_version=expected_version)
    payment = getattr(locked, "payment", None)
    if payment is not None and payment.payment_intent_id:
        raise InvalidTransition(
            "The payment has started for these lines; cancel and order again to change them.",
            details={"from": locked.status, "to": "lines changed"},
        )
    if locked.status not in {S.PLACED, S.CONFIRMED}:
        raise InvalidTransition(
            "Lines can only change before the order is paid.", details={"from": locked.status, "to": "lines changed"}
        )
    # free-gift lines come back from the repricing below, they are not the customer's lines
    own_lines = [line for line in locked.lines.select_related("variant", "location") if not _is_gift(line)]
    quantities: dict[int, int] = {}  # a line split across locations counts once, all its units
    held: dict[int, list[tuple[Location, int]]] = {}  # where each variant's units are picked now
    for line in own_lines:
        quantities[line.variant_id] = quantities.get(line.variant_id, 0) + line.quantity
        held.setdefault(line.variant_id, []).append((line.location or locked.location, line.quantity))
    variants = {line.variant_id: line.variant for line in own_lines}
    errors = {}
    for index, change in enumerate(changes):
        if change.quantity < 0:
            errors[str(index)] = {"quantity": ["0 (remove) or more."]}
        elif change.quantity > 0 and change.variant.is_archived:
            errors[str(index)] = {"sku": ["Unavailable."]}
        variants[change.variant.pk] = change.variant
        quantities[change.variant.pk] = change.quantity
    new_lines = [LineRequest(variants[vid], qty) for vid, qty in quantities.items() if qty > 0]
    if not new_lines:
        errors["lines"] = ["An order keeps at least one line; cancel it instead."]
    if errors:
        raise InvalidInput(
            "Some line changes are not valid; nothing was changed.", code="validation_error", details={"lines": errors}
        )
    old_reservation = locked.reservation
    from apps.promotions.services import redeemed_coupons, redemptions_release

    redeemed = redeemed_coupons(order=locked)  # the codes this order holds keep their use
    delivery_before = locked.delivery_fee + sum(
        (Decimal(d["amount"]) for d in locked.discounts or [] if d.get("level") == "delivery"), Decimal("0")
    )
    order_lines, gifts, priced = _priced_lines(
        new_lines,
        locked.customer,
        channel=locked.channel,
        fulfilment=locked.fulfilment,
        delivery_fee=delivery_before,
        codes=list(redeemed.values()),
        redeemed_by_order=list(redeemed),
    )
    still = {int(key.split(":")[1]) for key in priced.codes}
    if set(redeemed) - still:
        redemptions_release(order=locked, coupon_ids=set(redeemed) - still)
    new_lines = [*new_lines, *gifts]
    order_lines = _lines_at(order_lines, _kept_locations(new_lines, held, default=locked.location))
    if old_reservation is not None:
        stock.reservation_release(reservation=old_reservation)
    reservation = stock.reservation_create(
        reference=f"order-{locked.number}",
        lines=[stock.ReserveLine(line.variant, line.location, line.quantity) for line in order_lines],
        ttl=max(locked.payment_due_at - timezone.now(), dt.timedelta(minutes=1)) + dt.timedelta(minutes=5)
        if locked.payment_due_at
        else dt.timedelta(minutes=settings.ORDER_PAYMENT_WINDOW_MINUTES),
    )
    locked.lines.all().delete()
    for line in order_lines:
        line.order = locked
    OrderLine.objects.bulk_create(order_lines)
    subtotal = sum((line.line_total for line in order_lines), Decimal("0"))
    locked.discount, locked.discounts = priced.quote.discount, priced.quote.order_discounts
    locked.delivery_fee = priced.quote.delivery_fee
    tax, total = _tax_and_total(
        subtotal, discount=locked.discount, delivery_fee=locked.delivery_fee, inclusive=locked.prices_include_tax
    )
    total = max(total - locked.points_value, Decimal("0"))  # loyalty points spent still pay their value
    if locked.on_account:  # the invoice follows the new total; an increase must fit the credit limit
        from apps.payments.invoices import invoice_reprice_for_order

        invoice_reprice_for_order(order=locked, total=total)
    locked.reservation, locked.subtotal, locked.tax, locked.total = reservation, subtotal, tax, total
    locked.save(
        update_fields=["reservation", "subtotal", "discount", "discounts", "delivery_fee", "tax", "total", *versioned]
    )
    _event(locked, locked.status, locked.status, f"lines changed ({len(changes)})")
    return locked


@transaction.atomic
def return_request(*, order: Order, lines: Sequence[tuple[OrderLine, int]], reason: str = "") -> ReturnRequest:
    """Ask to return lines of a completed order (never more than was bought, counting earlier returns)."""
    # The order row stays locked to the commit: two return requests at once are checked one after
    # the other against what is still returnable (else both passed and the units were refunded twice).
    order = Order.objects.select_for_update(no_key=True).get(pk=order.pk)
    if order.status != S.COMPLETED:
        raise InvalidTransition("Only a completed order can be returned.", details={"from": order.status})
    errors = {}
    asked: dict[int, int] = {}  # units of each order line in this request (a SKU may be listed twice)
    for index, (line, quantity) in enumerate(lines):
        already = sum(r.quantity for r in line.return_lines.exclude(return_request__status="rejected"))
        asked[line.pk] = asked.get(line.pk, 0) + quantity
        if line.order_id != order.pk:
            errors[str(index)] = {"line": ["Not a line of this order."]}
        elif quantity <= 0 or asked[line.pk] + already > line.quantity:
            left = max(line.quantity - already - (asked[line.pk] - quantity), 0)
            errors[str(index)] = {"quantity": [f"Between 1 and {left}."]}
    if errors or not lines:
        raise InvalidInput(
            "Some return lines are not valid.", code="validation_error", details={"lines": errors or ["Empty."]}
        )
    request = ReturnRequest.objects.create(order=order, reason=reason[:500])
    ReturnLine.objects.bulk_create(
        [ReturnLine(return_request=request, order_line=line, quantity=quantity) for line, quantity in lines]
    )
    _event(order, order.status, order.status, f"return {request.pk} requested")
    return request


@transaction.atomic
def return_decide(*, request: ReturnRequest, approve: bool, note: str = "") -> ReturnRequest:
    locked = ReturnRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != ReturnRequest.Status.REQUESTED:
        raise InvalidTransition("This return was already decided.", details={"from": locked.status})
    locked.status = ReturnRequest.Status.APPROVED if approve else ReturnRequest.Status.REJECTED
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decided_at"])
    _event(
        locked.order, locked.order.status, locked.order.status, f"return {locked.pk} {locked.status} {note}".strip()
    )
    return locked


@transaction.atomic
def return_receive(*, request: ReturnRequest, received: dict[int, tuple[int, str]]) -> ReturnRequest:
    """Receive approved return lines ({return line id: (units, condition)}): each goes back to stock
    as chosen, and the refund owed is the lines' price (with their share of tax when added on top).
    On an order on account the refund is credited against its invoice (apps.payments.invoices)."""
    locked = ReturnRequest.objects.select_for_update().select_related("order").get(pk=request.pk)
    if locked.status != ReturnRequest.Status.APPROVED:
        raise InvalidTransition("Only an approved return can be received.", details={"from": locked.status})
    lines = {line.pk: line for line in locked.lines.select_related("order_line__variant", "order_line__location")}
    errors = {str(pk): ["Not a line of this return."] for pk in received if pk not in lines}
    errors |= {
        str(pk): ["Between 0 and the units announced."]
        for pk, (qty, _) in received.items()
        if pk in lines and not 0 <= qty <= lines[pk].quantity
    }
    errors |= {
        str(pk): ["resaleable, damaged or quarantine."]
        for pk, (_, condition) in received.items()
        if condition not in stock.RETURN_BUCKETS
    }
    if errors:
        raise InvalidInput("Some received lines are not valid.", code="validation_error", details={"lines": errors})
    order = locked.order
    sold_lots = {}
    if order.reservation_id:
        sold_lots = {
            (row.location_id, row.variant_id): row.lot for row in order.reservation.lines.select_related("lot")
        }
    refund = Decimal("0")
    for pk, (quantity, condition) in sorted(received.items()):
        line = lines[pk]
        if quantity:
            stock.stock_return(
                location=line.order_line.location or order.location,  # back where it was picked
                variant=line.order_line.variant,
                quantity=quantity,
                condition=condition,
                lot=sold_lots.get(((line.order_line.location_id or order.location_id), line.order_line.variant_id)),
                reference=f"return-{locked.pk}",
            )
        line.received_quantity, line.condition = quantity, condition
        line.save(update_fields=["received_quantity", "condition"])
        paid = line.order_line.line_total - line.order_line.discount  # the discounted price
        refund += paid * quantity / line.order_line.quantity
    if not order.prices_include_tax and order.subtotal - order.discount > 0:
        refund += refund * order.tax / (order.subtotal - order.discount)
    locked.refund_amount = _money(refund)
    locked.status, locked.received_at = ReturnRequest.Status.RECEIVED, timezone.now()
    locked.save(update_fields=["refund_amount", "status", "received_at"])
    note = ""
    if order.on_account:  # no card to refund: the refund is a credit note against the order's invoice
        from apps.payments.invoices import invoice_credit_for_return

        credited = invoice_credit_for_return(request=locked)
        note = f", credited {credited.amount} on the invoice" if credited else ""
    _event(order, order.status, order.status, f"return {locked.pk} received, refund due {locked.refund_amount}{note}")
    events_record(
        [
            (
                "order.return_received",
                {"number": order.number, "return": locked.pk, "refund_due": str(locked.refund_amount)},
            )
        ]
    )
    return locked


def _arrival_event(order: Order, kind: str) -> dict:
    return {
        "type": kind,
        "order_id": order.pk,
        "number": order.number,
        "bay": order.arrival_bay,
        "car": order.arrival_car,
        "arrived_at": order.arrived_at,
        "status": order.status,
    }


@transaction.atomic
def order_arrival_announce(*, order: Order, bay: str, car: str, expected_version: int | None = None) -> Order:
    """Curbside: the customer is here. Staff at the order's location see it on their live stream."""
    from apps.orders import curbside

    locked = Order.objects.select_for_update().get(pk=order.pk)
    versioned = bump_locked(locked, expected_version=expected_version)
    if locked.fulfilment != Order.Fulfilment.CURBSIDE or locked.status not in {S.PAID, S.PREPARING, S.READY}:
        raise InvalidTransition(
            "Only a paid curbside order can announce an arrival.",
            details={"from": locked.status, "fulfilment": locked.fulfilment},
        )
    locked.arrived_at, locked.arrival_bay, locked.arrival_car = timezone.now(), bay[:20], car[:120]
    locked.save(update_fields=["arrived_at", "arrival_bay", "arrival_car", *versioned])
    _event(locked, locked.status, locked.status, f"arrived: bay {locked.arrival_bay}")
    events_record([("curbside.arrived", curbside.payload(locked.location_id, _arrival_event(locked, "arrived")))])
    return locked


@transaction.atomic
def order_hand_over(*, order: Order, expected_version: int | None = None) -> Order:
    """Curbside: staff handed the order over at the car (completed; the sale enters the ledger)."""
    from apps.orders import curbside

    if order.fulfilment != Order.Fulfilment.CURBSIDE:
        raise InvalidTransition(
            "Only a curbside order is handed over at the curb.", details={"fulfilment": order.fulfilment}
        )
    done = order_transition(
        order=order, to=S.COMPLETED, reason="handed over at the curb", expected_version=expected_version
    )
    events_record([("curbside.handed_over", curbside.payload(done.location_id, _arrival_event(done, "handed_over")))])
    return done


def curbside_waiting(*, location_id: int) -> list[dict]:
    waiting = Order.objects.filter(
        location_id=location_id,
        fulfilment=Order.Fulfilment.CURBSIDE,
        arrived_at__isnull=False,
        status__in=[S.PAID, S.PREPARING, S.READY],
    )
    return [_arrival_event(order, "arrived") for order in waiting.order_by("arrived_at")]


@transaction.atomic
def delivery_route_build(*, location: Location, date: dt.date) -> DeliveryRoute:
    """The day's route from `location`: its paid or preparing delivery orders not yet on a route,
    sequenced to minimise driving (see apps.orders.routing)."""
    from zoneinfo import ZoneInfo

    from apps.orders import routing

    if location.latitude is None or location.longitude is None:
        raise InvalidInput(
            "The location needs coordinates to plan routes.",
            code="validation_error",
            details={"location": ["No coordinates."]},
        )
    tz = ZoneInfo(location.timezone or "UTC")
    start = routing.start_of(date, tz)
    orders = list(
        Order.objects.select_for_update()
        .filter(
            location=location,
            fulfilment=Order.Fulfilment.DELIVERY,
            status__in=[S.PAID, S.PREPARING],
            delivery_latitude__isnull=False,
            delivery_longitude__isnull=False,
        )
        .exclude(route_stops__delivered_at__isnull=True, route_stops__isnull=False)
        .order_by("id")
    )
    if not orders:
        raise InvalidInput("No delivery orders are waiting for a route here.", code="nothing_to_route")

    def window(order: Order) -> tuple[int, int] | None:
        if not (order.delivery_window_start and order.delivery_window_end):
            return None
        first = max(0, int((order.delivery_window_start - start).total_seconds() // 60))
        last = max(first, int((order.delivery_window_end - start).total_seconds() // 60))
        return first, last

    stops = [routing.Stop(o.pk, float(o.delivery_latitude), float(o.delivery_longitude), window(o)) for o in orders]
    ordered, metres, arrivals = routing.sequence((float(location.latitude), float(location.longitude)), stops)
    route = DeliveryRoute.objects.create(location=location, date=date, total_distance_m=metres)
    RouteStop.objects.bulk_create(
        [
            RouteStop(
                route=route,
                order_id=stop.key,
                sequence=n,
                planned_arrival=start + dt.timedelta(minutes=arrivals[n - 1]) if n <= len(arrivals) else None,
            )
            for n, stop in enumerate(ordered, start=1)
        ]
    )
    return route


@transaction.atomic
def route_stop_delivered(*, stop: RouteStop) -> RouteStop:
    """The driver delivered this stop: the order is completed (its sale entered the ledger when it
    left for delivery)."""
    locked = RouteStop.objects.select_for_update().select_related("order").get(pk=stop.pk)
    if locked.delivered_at is not None:
        return locked
    for step in {S.PAID: [S.PREPARING, S.OUT_FOR_DELIVERY], S.PREPARING: [S.OUT_FOR_DELIVERY]}.get(
        locked.order.status, []
    ):
        order_transition(order=locked.order, to=step, reason=f"route {locked.route_id}")
    order_transition(order=locked.order, to=S.COMPLETED, reason=f"delivered, route {locked.route_id}")
    locked.delivered_at = timezone.now()
    locked.save(update_fields=["delivered_at"])
    return locked
