"""Stock rules: FEFO, expired lots, all-or-nothing restock, adjustments, counts, reservations,
alerts and events, the ledger explaining every unit."""

import datetime as dt

import pytest
from django.db.models import Sum
from django_tenants.utils import tenant_context

from apps.core.models import OutboxEvent
from apps.stock import services
from apps.stock.errors import InsufficientStock, InvalidStockRequest, ReservationClosed
from apps.stock.models import LotStock, Movement, Reservation, RestockAlert, StockItem
from tests import factories as f

TTL = dt.timedelta(minutes=15)


@pytest.fixture
def in_a(tenant_a):
    with tenant_context(tenant_a):
        yield tenant_a


def item(var, loc) -> StockItem:
    return StockItem.objects.get(variant=var, location=loc)


def assert_ledger_matches(var, loc):
    sums = Movement.objects.filter(variant=var, location=loc).aggregate(
        on_hand=Sum("on_hand_delta"),
        reserved=Sum("reserved_delta"),
        damaged=Sum("damaged_delta"),
        returned=Sum("returned_delta"),
        in_transit=Sum("in_transit_delta"),
    )
    row = item(var, loc)
    assert {k: v or 0 for k, v in sums.items()} == {
        "on_hand": row.on_hand,
        "reserved": row.reserved,
        "damaged": row.damaged,
        "returned": row.returned,
        "in_transit": row.in_transit,
    }


def test_receiving_creates_stock_and_explains_it_in_the_ledger(in_a):
    loc, var = f.location(), f.variant()
    f.receive(loc, var, 12, reference="PO-1")
    f.receive(loc, var, 3)
    assert (item(var, loc).on_hand, item(var, loc).available) == (15, 15)
    assert list(Movement.objects.filter(variant=var).values_list("kind", "on_hand_delta", "reference")) == [
        ("receipt", 3, "test"),
        ("receipt", 12, "PO-1"),
    ]
    assert_ledger_matches(var, loc)


def test_reservations_pick_lots_first_expiry_first_out(in_a):
    loc, var = f.location(), f.variant(tracks_lots=True)
    f.receive(loc, var, 5, batch="LATE", expires_in_days=10)
    f.receive(loc, var, 3, batch="SOON", expires_in_days=5)
    f.receive(loc, var, 10, batch="LATEST", expires_in_days=20)
    reservation = services.reservation_create(reference="order-1", lines=[services.ReserveLine(var, loc, 6)], ttl=TTL)
    picked = {line.lot.batch_number: line.quantity for line in reservation.lines.select_related("lot")}
    assert picked == {"SOON": 3, "LATE": 3}
    assert item(var, loc).reserved == 6
    assert dict(LotStock.objects.filter(location=loc).values_list("lot__batch_number", "reserved")) == {
        "SOON": 3,
        "LATE": 3,
        "LATEST": 0,
    }
    assert_ledger_matches(var, loc)


def test_expired_lots_are_never_sold(in_a):
    loc, var = f.location(), f.variant(tracks_lots=True)
    f.receive(loc, var, 10, batch="OLD", expires_in_days=30)
    f.receive(loc, var, 2, batch="FRESH", expires_in_days=30)
    # OLD expired yesterday (its units are still on hand until written off).
    from apps.stock.models import Lot

    # "Yesterday" in the tenant's time zone (the machine's date is a day ahead of it after midnight UTC).
    from apps.stock.services import _tenant_today

    Lot.objects.filter(batch_number="OLD").update(expiry_date=_tenant_today() - dt.timedelta(days=1))
    with pytest.raises(InsufficientStock) as raised:
        services.reservation_create(reference="o", lines=[services.ReserveLine(var, loc, 3)], ttl=TTL)
    assert raised.value.details["lines"][0]["available"] == 2
    assert item(var, loc).reserved == 0  # nothing held after the failure
    reservation = services.reservation_create(reference="o", lines=[services.ReserveLine(var, loc, 2)], ttl=TTL)
    assert [line.lot.batch_number for line in reservation.lines.select_related("lot")] == ["FRESH"]


def test_a_lot_expiring_today_is_still_sellable(in_a):
    loc, var = f.location(), f.variant(tracks_lots=True)
    f.receive(loc, var, 1, batch="TODAY", expires_in_days=0)
    services.reservation_create(reference="o", lines=[services.ReserveLine(var, loc, 1)], ttl=TTL)


def test_bulk_restock_is_all_or_nothing_and_reports_every_bad_line(in_a):
    loc = f.location()
    plain, lotted = f.variant(sku="PLAIN"), f.variant(sku="LOTTED", tracks_lots=True)
    f.variant(sku="OLD", is_archived=True)
    lines = [
        {"sku": "PLAIN", "quantity": 5},
        {"sku": "NOPE", "quantity": 1},
        {"sku": "LOTTED", "quantity": 2, "batch_number": "B1"},  # no expiry
        {"sku": "PLAIN", "quantity": 0},
        {"sku": "OLD", "quantity": 1},
        {"sku": "PLAIN", "quantity": "many"},
    ]
    with pytest.raises(InvalidStockRequest) as raised:
        services.stock_bulk_restock(location=loc, lines=lines)
    errors = raised.value.details["lines"]
    assert sorted(errors) == ["1", "2", "3", "4", "5"]
    assert "sku" in errors["1"] and "expiry_date" in errors["2"] and "quantity" in errors["3"]
    assert not StockItem.objects.exists() and not Movement.objects.exists()

    good = [
        {"sku": "PLAIN", "quantity": 5},
        {"sku": "LOTTED", "quantity": 2, "batch_number": "B1", "expiry_date": "2031-01-01"},
    ]
    services.stock_bulk_restock(location=loc, lines=good, reference="restock-7")
    assert item(plain, loc).on_hand == 5 and item(lotted, loc).on_hand == 2


def test_adjustments_move_units_between_buckets_and_never_take_reserved_ones(in_a):
    loc, var = f.location(), f.variant()
    f.receive(loc, var, 10)
    services.reservation_create(reference="o", lines=[services.ReserveLine(var, loc, 6)], ttl=TTL)
    services.stock_adjust(location=loc, variant=var, reason="damaged", quantity=3, note="dropped a case")
    row = item(var, loc)
    assert (row.on_hand, row.reserved, row.damaged) == (7, 6, 3)
    with pytest.raises(InsufficientStock):
        services.stock_adjust(location=loc, variant=var, reason="lost", quantity=2)  # only 1 unreserved
    services.stock_adjust(location=loc, variant=var, reason="found", quantity=4)
    assert item(var, loc).on_hand == 11
    with pytest.raises(InvalidStockRequest):
        services.stock_adjust(location=loc, variant=var, reason="stolen-by-aliens", quantity=1)
    assert_ledger_matches(var, loc)


def test_a_cycle_count_becomes_a_count_correction(in_a):
    loc, var = f.location(), f.variant()
    f.receive(loc, var, 10)
    services.stock_count(location=loc, variant=var, counted=8, note="shelf count")
    assert item(var, loc).on_hand == 8
    movement = Movement.objects.filter(reason="count_correction").get()
    assert movement.on_hand_delta == -2
    assert services.stock_count(location=loc, variant=var, counted=8) is None  # nothing to correct
    assert_ledger_matches(var, loc)


def test_commit_sells_release_returns_and_closed_reservations_stay_closed(in_a):
    loc, var = f.location(), f.variant(tracks_lots=True)
    f.receive(loc, var, 10)
    sold = services.reservation_create(reference="a", lines=[services.ReserveLine(var, loc, 4)], ttl=TTL)
    kept = services.reservation_create(reference="b", lines=[services.ReserveLine(var, loc, 3)], ttl=TTL)
    services.reservation_commit(reservation=sold)
    services.reservation_release(reservation=kept)
    row = item(var, loc)
    assert (row.on_hand, row.reserved) == (6, 0)
    assert LotStock.objects.get().on_hand == 6
    with pytest.raises(ReservationClosed):
        services.reservation_commit(reservation=kept)
    assert_ledger_matches(var, loc)


def test_a_multi_line_reservation_is_all_or_nothing(in_a):
    loc, a, b = f.location(), f.variant(), f.variant()
    f.receive(loc, a, 5)
    f.receive(loc, b, 1)
    with pytest.raises(InsufficientStock) as raised:
        services.reservation_create(
            reference="o", lines=[services.ReserveLine(a, loc, 2), services.ReserveLine(b, loc, 2)], ttl=TTL
        )
    assert raised.value.details["lines"][0]["sku"] == b.sku
    assert item(a, loc).reserved == 0 and not Reservation.objects.exists()


def test_expired_reservations_are_released_by_the_task_service(in_a):
    loc, var = f.location(), f.variant()
    f.receive(loc, var, 5)
    due = services.reservation_create(reference="o", lines=[services.ReserveLine(var, loc, 2)], ttl=TTL)
    Reservation.objects.filter(pk=due.pk).update(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    services.reservation_create(reference="p", lines=[services.ReserveLine(var, loc, 1)], ttl=TTL)
    assert services.reservations_expire_due() == 1
    assert Reservation.objects.get(pk=due.pk).status == "expired"
    assert item(var, loc).reserved == 1


def test_low_stock_opens_one_alert_and_restocking_closes_it(in_a):
    loc, var = f.location(), f.variant()
    f.receive(loc, var, 10)
    StockItem.objects.filter(variant=var).update(reorder_point=5)
    services.reservation_create(reference="o", lines=[services.ReserveLine(var, loc, 5)], ttl=TTL)
    services.reservation_create(reference="p", lines=[services.ReserveLine(var, loc, 2)], ttl=TTL)
    assert RestockAlert.objects.filter(closed_at__isnull=True).count() == 1
    assert OutboxEvent.objects.filter(topic="stock.low").count() == 1
    f.receive(loc, var, 10)
    assert not RestockAlert.objects.filter(closed_at__isnull=True).exists()
    assert OutboxEvent.objects.filter(topic="stock.restocked").count() == 1
    assert OutboxEvent.objects.filter(topic="stock.changed").count() == 4
