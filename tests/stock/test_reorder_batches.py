"""The reorder job, set-based and batched: every batch size gives the suggestions the rules give
(checked against an exact re-statement of the rules in Python), stale suggestions go, rows edited
while the job runs are seen as they are when their batch runs, and an open batch never makes a
reservation of the same stock row wait."""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.catalog.models import Supplier, SupplierVariant
from apps.stock import services
from apps.stock.models import Movement, ReorderSuggestion, StockItem
from apps.tenants.models import Tenant
from tests import factories as f
from tests.conftest import TENANT_A

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(minutes=5)


@pytest.fixture
def in_a(tenant_a):
    with tenant_context(tenant_a):
        yield tenant_a


def _expected(now: dt.datetime) -> dict[int, tuple]:
    """The job's rules, restated with exact fractions (no 28-digit Decimal artefacts):
    velocity = sold / 28; cover = available / velocity rounded half-even to 0.1; needed =
    ceil(velocity * (lead + 14)) - available - in transit, at least the reorder quantity at or
    below the reorder point, rounded up to the minimum order; a row needing nothing gets none."""
    since = now - dt.timedelta(days=28)
    sold: dict[tuple[int, int], int] = {}
    for m in Movement.objects.filter(kind=Movement.Kind.SALE, created_at__gte=since):
        sold[(m.variant_id, m.location_id)] = sold.get((m.variant_id, m.location_id), 0) - m.on_hand_delta
    offers: dict[int, SupplierVariant] = {}
    for offer in SupplierVariant.objects.select_related("supplier").order_by("-is_preferred", "cost", "id"):
        offers.setdefault(offer.variant_id, offer)
    expected = {}
    for item in StockItem.objects.all():
        velocity = Fraction(sold.get((item.variant_id, item.location_id), 0), 28)
        available = item.on_hand - item.reserved
        offer = offers.get(item.variant_id)
        lead = offer.supplier.lead_time_days if offer else 7
        needed = math.ceil(velocity * (lead + 14)) - available - item.in_transit
        if item.reorder_point and available <= item.reorder_point:
            needed = max(needed, item.reorder_quantity)
        if needed <= 0:
            continue
        if offer and offer.minimum_order_quantity > 1:
            needed = math.ceil(Fraction(needed, offer.minimum_order_quantity)) * offer.minimum_order_quantity
        cover = None
        if velocity > 0:
            rounded = round(available / velocity, 1)
            cover = (Decimal(rounded.numerator) / Decimal(rounded.denominator)).quantize(Decimal("0.1"))
        v = round(velocity, 3)
        expected[item.pk] = (
            offer.supplier_id if offer else None,
            (Decimal(v.numerator) / Decimal(v.denominator)).quantize(Decimal("0.001")),
            cover,
            needed,
        )
    return expected


def _actual() -> dict[int, tuple]:
    return {
        s.stock_item_id: (s.supplier_id, s.daily_velocity, s.days_of_cover, s.suggested_quantity)
        for s in ReorderSuggestion.objects.all()
    }


def _sales(item: StockItem, units_per_sale: list[int], *, days_ago: float = 3) -> None:
    Movement.objects.bulk_create(
        [
            Movement(
                kind=Movement.Kind.SALE,
                variant_id=item.variant_id,
                location_id=item.location_id,
                on_hand_delta=-units,
                reference="test-sale",
            )
            for units in units_per_sale
        ]
    )
    Movement.objects.filter(reference="test-sale", created_at__gt=NOW - dt.timedelta(days=1)).update(
        created_at=NOW - dt.timedelta(days=days_ago)
    )


def _mixed_catalogue() -> list[StockItem]:
    """3 locations x 8 variants with every case: preferred offer, cheapest of two, equal costs,
    minimum orders, no offer; sales in and out of the window, receipts in the window (not sales),
    reorder points, units in transit and reserved."""
    slow = Supplier.objects.create(name="Slow Farm", lead_time_days=21)
    fast = Supplier.objects.create(name="Fast Bottler", lead_time_days=3)
    third = Supplier.objects.create(name="Third", lead_time_days=10)
    variants = [f.variant() for _ in range(8)]
    SupplierVariant.objects.create(supplier=slow, variant=variants[0], cost="1.00", is_preferred=True)
    SupplierVariant.objects.create(supplier=fast, variant=variants[0], cost="0.50", minimum_order_quantity=50)
    SupplierVariant.objects.create(supplier=slow, variant=variants[1], cost="2.00", minimum_order_quantity=12)
    SupplierVariant.objects.create(supplier=fast, variant=variants[1], cost="1.90", minimum_order_quantity=6)
    SupplierVariant.objects.create(supplier=third, variant=variants[2], cost="3.00", minimum_order_quantity=5)
    SupplierVariant.objects.create(supplier=fast, variant=variants[2], cost="3.00")  # same cost, newer offer
    SupplierVariant.objects.create(supplier=third, variant=variants[3], cost="1.00", minimum_order_quantity=1)
    # variants 4..7: no offer (7-day lead, no minimum)
    locations = [f.location() for _ in range(3)]
    items = []
    for li, loc in enumerate(locations):
        for vi, var in enumerate(variants):
            k = li * 8 + vi
            items.append(
                StockItem(
                    variant=var,
                    location=loc,
                    on_hand=(k * 7) % 40,
                    reserved=((k * 7) % 40) // 5,
                    in_transit=(k * 3) % 11 if k % 4 == 0 else 0,
                    reorder_point=(k * 5) % 17 if k % 3 else 0,
                    reorder_quantity=(k * 11) % 30,
                )
            )
    items = StockItem.objects.bulk_create(items)
    for k, item in enumerate(items):
        if k % 5 == 4:
            continue  # no sales at all
        _sales(item, [1 + (k * j * 13) % 23 for j in range(1 + k % 4)])
        if k % 3 == 0:
            _sales(item, [50], days_ago=40)  # outside the 28-day window
    # 4 units sold, 7-day lead: 4 x 21 / 28 = 3 exactly (a 28-digit Decimal velocity gave 4)
    exact = StockItem.objects.create(
        variant=variants[4], location=f.location(), on_hand=0, reorder_point=0, reorder_quantity=0
    )
    _sales(exact, [4])
    # a receipt in the window is not a sale
    Movement.objects.create(kind=Movement.Kind.RECEIPT, variant=variants[5], location=locations[0], on_hand_delta=90)
    return [*items, exact]


def test_every_batch_size_gives_the_suggestions_of_the_rules(in_a):
    _mixed_catalogue()
    expected = _expected(NOW)
    # the fixture exercises rows that get a suggestion and rows that do not, with and without a supplier
    assert 8 <= len(expected) < StockItem.objects.count()
    assert None in {row[0] for row in expected.values()} and len({row[0] for row in expected.values()}) > 2
    written = services.reorder_suggestions_compute(now=NOW)
    assert written == len(expected)
    assert _actual() == expected
    for size in (1, 2, 7, 24):
        ReorderSuggestion.objects.all().delete()
        assert services.reorder_suggestions_compute(now=NOW, batch_size=size) == len(expected)
        assert _actual() == expected, f"batch size {size}"


def test_sales_whose_velocity_times_lead_is_whole_are_not_rounded_up(in_a):
    loc, var = f.location(), f.variant()
    item = StockItem.objects.create(variant=var, location=loc, on_hand=0)
    _sales(item, [4])  # 4 / 28 a day x (7 + 14) days = exactly 3 units
    assert services.reorder_suggestions_compute(now=NOW) == 1
    assert ReorderSuggestion.objects.get().suggested_quantity == 3


def test_cover_is_rounded_half_even_like_the_decimal_quantize(in_a):
    loc = f.location()
    # 1 available, 112 sold: cover 1 x 28 / 112 = 0.25 -> 0.2 (half-even; half-up would say 0.3)
    # 3 available, 80 sold: 3 x 28 / 80 = 1.05 -> 1.0; 1 available, 80 sold: 0.35 -> 0.4
    cases = [(1, 112, Decimal("0.2")), (3, 80, Decimal("1.0")), (1, 80, Decimal("0.4"))]
    items = []
    for available, sold, _ in cases:
        item = StockItem.objects.create(variant=f.variant(), location=loc, on_hand=available)
        _sales(item, [sold])
        items.append(item)
    services.reorder_suggestions_compute(now=NOW)
    covers = dict(ReorderSuggestion.objects.values_list("stock_item_id", "days_of_cover"))
    assert [covers[item.pk] for item in items] == [cover for _, _, cover in cases]


def test_batches_of_two_over_five_rows_give_the_one_batch_result_in_three_batches(in_a, monkeypatch):
    loc = f.location()
    items = [
        StockItem.objects.create(variant=f.variant(), location=loc, on_hand=n, reorder_point=10, reorder_quantity=20)
        for n in (0, 3, 12, 5, 9)
    ]
    services.reorder_suggestions_compute(now=NOW)
    one_batch = _actual()
    assert set(one_batch) == {items[0].pk, items[1].pk, items[3].pk, items[4].pk}  # 12 > reorder point
    calls = []
    real = services._reorder_batch

    def spy(**kwargs):
        result = real(**kwargs)
        calls.append((kwargs["after"], result))
        return result

    monkeypatch.setattr(services, "_reorder_batch", spy)
    ReorderSuggestion.objects.all().delete()
    assert services.reorder_suggestions_compute(now=NOW, batch_size=2) == 4
    assert _actual() == one_batch
    ids = [item.pk for item in items]
    assert calls == [(0, (ids[1], 2, 0)), (ids[1], (ids[3], 1, 0)), (ids[3], (ids[4], 1, 0)), (ids[4], (None, 0, 0))]


def test_a_rerun_updates_suggestions_in_place_and_removes_stale_ones(in_a):
    loc = f.location()
    keeps, recovers, starts = (
        StockItem.objects.create(variant=f.variant(), location=loc, on_hand=n, reorder_point=5, reorder_quantity=10)
        for n in (1, 2, 30)
    )
    assert services.reorder_suggestions_compute(now=NOW, batch_size=2) == 2
    kept = ReorderSuggestion.objects.get(stock_item=keeps)
    StockItem.objects.filter(pk=recovers.pk).update(on_hand=50)  # no longer needs units
    StockItem.objects.filter(pk=starts.pk).update(on_hand=4)  # now at its reorder point
    later = NOW + dt.timedelta(days=1)
    assert services.reorder_suggestions_compute(now=later, batch_size=2) == 2
    rows = {s.stock_item_id: s for s in ReorderSuggestion.objects.all()}
    assert set(rows) == {keeps.pk, starts.pk}
    assert rows[keeps.pk].pk == kept.pk and rows[keeps.pk].computed_at == later  # the same row, refreshed
    assert rows[starts.pk].suggested_quantity == 10


def test_a_row_edited_mid_run_is_seen_as_it_is_when_its_batch_runs(in_a, monkeypatch):
    loc = f.location()
    items = [
        StockItem.objects.create(variant=f.variant(), location=loc, on_hand=1, reorder_point=5, reorder_quantity=10)
        for _ in range(5)
    ]
    real = services._reorder_batch

    def edit_after_first_batch(**kwargs):
        result = real(**kwargs)
        if kwargs["after"] == 0:  # batch 1 (items 0, 1) is done; batch 3 (item 4) is not
            StockItem.objects.filter(pk__in=[items[0].pk, items[4].pk]).update(reorder_quantity=40)
        return result

    monkeypatch.setattr(services, "_reorder_batch", edit_after_first_batch)
    assert services.reorder_suggestions_compute(now=NOW, batch_size=2) == 5
    quantities = dict(ReorderSuggestion.objects.values_list("stock_item_id", "suggested_quantity"))
    assert [quantities[item.pk] for item in items] == [10, 10, 10, 10, 40]


def test_a_batch_size_below_one_is_refused(in_a):
    with pytest.raises(ValueError, match="batch_size"):
        services.reorder_suggestions_compute(batch_size=0)


@pytest.mark.slow
def test_an_open_batch_never_makes_a_reservation_of_its_rows_wait(committed_db):
    """The batch's transaction is held open after its statement (suggestions written for the very
    row being reserved); a reservation of that row from another connection, with a 2 s lock
    timeout, goes through at once. A job that locked stock rows (FOR UPDATE, or an immediate
    foreign-key check) would make it time out."""
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        loc, var = f.location(), f.variant()
        f.receive(loc, var, 10)
        StockItem.objects.filter(variant=var).update(reorder_point=20, reorder_quantity=30)
    outcome: dict[str, object] = {}
    statement_done, reservation_done = threading.Event(), threading.Event()

    def reserve() -> None:
        try:
            statement_done.wait(timeout=30)
            with tenant_context(tenant):
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '2s'")
                started = time.perf_counter()
                services.reservation_create(reference="during-job", lines=[services.ReserveLine(var, loc, 3)], ttl=TTL)
                outcome["seconds"] = time.perf_counter() - started
        except Exception as exc:  # reported by the assertion below
            outcome["error"] = repr(exc)
        finally:
            connection.close()
            reservation_done.set()

    thread = threading.Thread(target=reserve)
    thread.start()
    with tenant_context(tenant):
        with transaction.atomic():  # the batch's own transaction, kept open while the other connection reserves
            _last_id, written, _ = services._reorder_batch(
                after=0, size=5000, now=timezone.now(), since=timezone.now() - dt.timedelta(days=28)
            )
            statement_done.set()
            assert reservation_done.wait(timeout=30)
        thread.join(timeout=5)
        assert "error" not in outcome, outcome
        assert outcome["seconds"] < 1.0
        assert written == 1 and ReorderSuggestion.objects.get().suggested_quantity == 30
        assert StockItem.objects.get(variant=var).reserved == 3
