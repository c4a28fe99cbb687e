"""Redemption at checkout: the cap, the value, and two orders racing for the same points."""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.loyalty import services
from apps.loyalty.errors import InsufficientPoints, RedemptionNotPossible
from apps.loyalty.models import Account
from apps.tenants.models import Tenant
from tests.conftest import TENANT_A
from tests.loyalty.conftest import account, assert_invariant, customer, order


def _fund(acc, points):
    services.points_adjust(account=acc, points=points, reason="test funds")


def test_redeeming_lowers_the_total_by_the_points_value(programme):
    acc = account()
    _fund(acc, 1000)
    row = services.redemption_apply(order=order(acc.user, "40.00", status="placed"), points=750)
    assert (row.points_redeemed, row.points_value, row.total) == (750, Decimal("7.50"), Decimal("32.50"))
    acc.refresh_from_db()
    assert acc.balance == 250
    assert_invariant(acc)


def test_redemption_is_capped_at_the_programmes_share_of_the_order(programme):
    acc = account()
    _fund(acc, 5000)
    row = services.redemption_apply(order=order(acc.user, "30.00", status="placed"), points=5000)
    assert (row.points_redeemed, row.points_value, row.total) == (1500, Decimal("15.00"), Decimal("15.00"))


def test_redeeming_more_than_the_balance_is_refused_and_changes_nothing(programme):
    acc = account()
    _fund(acc, 100)
    with pytest.raises(InsufficientPoints):
        services.redemption_apply(order=order(acc.user, "40.00", status="placed"), points=200)
    acc.refresh_from_db()
    assert acc.balance == 100


def test_guests_cannot_redeem(programme):
    with pytest.raises(RedemptionNotPossible):
        services.redemption_apply(order=order(customer(kind="guest"), "40.00", status="placed"), points=10)


def test_the_quote_shows_what_points_would_pay_under_the_cap(programme):
    acc = account()
    _fund(acc, 2000)
    acc.refresh_from_db()
    quote = services.redemption_quote(account=acc, order_total=Decimal("25.00"), points=2000)
    assert (quote["max_points"], quote["points"], quote["value"]) == (1250, 1250, Decimal("12.50"))


def test_order_place_spends_points_through_the_checkout(programme):
    from apps.orders.services import LineRequest, order_place
    from tests import factories as f

    acc = account()
    _fund(acc, 300)
    loc, var = f.location(pickup_enabled=True), f.variant(price="10.00")
    f.receive(loc, var, 5)
    placed = order_place(
        customer=acc.user,
        channel="retail",
        fulfilment="pickup",
        location=loc,
        lines=[LineRequest(var, 2)],
        redeem_points=300,
    )
    placed.refresh_from_db()
    assert (placed.points_redeemed, placed.points_value, placed.total) == (300, Decimal("3.00"), Decimal("17.00"))
    from apps.orders.services import order_transition

    order_transition(order=placed, to="cancelled")
    acc.refresh_from_db()
    assert acc.balance == 300


@pytest.mark.slow
def test_two_orders_racing_to_spend_the_same_points_one_wins_and_the_balance_never_goes_negative(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        acc = account()
        _fund(acc, 1000)
        orders = [order(acc.user, "100.00", status="placed") for _ in range(8)]
    barrier = threading.Barrier(8)

    def spend(row):
        with tenant_context(tenant):
            try:
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=10)
                services.redemption_apply(order=row, points=1000 if row is orders[0] else 600)
                return "ok"
            except InsufficientPoints:
                return "refused"
            finally:
                connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(spend, orders))
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 7
    with tenant_context(tenant):
        acc.refresh_from_db()
        assert acc.balance in {0, 400}
        assert_invariant(acc)
        assert Account.objects.get(pk=acc.pk).balance >= 0
    assert timezone.now()
