"""Property: whatever sequence of stock operations runs (and whichever of them fail), every stock
row equals the sum of its ledger, no bucket is negative, nothing is reserved beyond on hand, and
lot rows add up to their stock row."""

import contextlib
import datetime as dt

from django.db.models import Sum
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.errors import ApplicationError
from apps.stock import services
from apps.stock.models import LotStock, Movement, Reservation, StockItem
from tests import factories as f

operation = st.one_of(
    st.tuples(st.just("receive"), st.integers(1, 20), st.sampled_from(["L1", "L2", "L3"]), st.integers(-2, 40)),
    st.tuples(st.just("reserve"), st.integers(1, 15)),
    st.tuples(st.just("release"), st.integers(0, 10)),
    st.tuples(st.just("commit"), st.integers(0, 10)),
    st.tuples(
        st.just("adjust"),
        st.sampled_from(["damaged", "lost", "found"]),
        st.integers(1, 10),
        st.sampled_from(["L1", "L2", "L3"]),
    ),
    st.tuples(st.just("count"), st.integers(0, 40), st.sampled_from(["L1", "L2", "L3"])),
)


def _lot(var, batch):
    return var.lots.filter(batch_number=batch).first()


def _apply(op, loc, var):
    kind = op[0]
    if kind == "receive":
        _, qty, batch, days = op
        expiry = dt.date.today() + dt.timedelta(days=days)
        existing = _lot(var, batch)
        if existing:
            expiry = existing.expiry_date
        services.stock_receive(location=loc, lines=[services.ReceiptLine(var, qty, batch, None, expiry)])
    elif kind == "reserve":
        services.reservation_create(
            reference="p", lines=[services.ReserveLine(var, loc, op[1])], ttl=dt.timedelta(minutes=5)
        )
    elif kind in {"release", "commit"}:
        active = list(Reservation.objects.filter(status="active").order_by("id"))
        if active:
            target = active[op[1] % len(active)]
            (services.reservation_release if kind == "release" else services.reservation_commit)(reservation=target)
    elif kind == "adjust":
        _, reason, qty, batch = op
        lot = _lot(var, batch)
        if lot is not None:
            services.stock_adjust(location=loc, variant=var, reason=reason, quantity=qty, lot=lot)
    elif kind == "count":
        _, counted, batch = op
        lot = _lot(var, batch)
        if lot is not None:
            services.stock_count(location=loc, variant=var, counted=counted, lot=lot)


def _check(loc, var):
    item = StockItem.objects.filter(variant=var, location=loc).first()
    if item is None:
        assert not Movement.objects.filter(variant=var).exists()
        return
    sums = Movement.objects.filter(variant=var, location=loc).aggregate(
        on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"), damaged=Sum("damaged_delta")
    )
    assert (item.on_hand, item.reserved, item.damaged) == (sums["on_hand"], sums["reserved"], sums["damaged"])
    assert item.on_hand >= 0 and 0 <= item.reserved <= item.on_hand and item.damaged >= 0
    lots = LotStock.objects.filter(location=loc, lot__variant=var).aggregate(o=Sum("on_hand"), r=Sum("reserved"))
    assert (lots["o"] or 0, lots["r"] or 0) == (item.on_hand, item.reserved)
    held = Reservation.objects.filter(status="active").aggregate(q=Sum("lines__quantity"))["q"] or 0
    assert held == item.reserved


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=25))
def test_the_ledger_explains_every_unit_after_any_sequence(tenant_a, operations):
    with tenant_context(tenant_a):
        Reservation.objects.all().delete()
        loc, var = f.location(), f.variant(tracks_lots=True)
        for op in operations:
            with contextlib.suppress(ApplicationError):  # a refused operation changes nothing
                _apply(op, loc, var)
            _check(loc, var)
