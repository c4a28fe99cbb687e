"""Property: over random sequences of earn, approve, redeem, expire, refund and adjust, the
balance always equals the ledger's sum (pending and debt too) and never goes below zero."""

import contextlib
import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.loyalty import services
from apps.loyalty.errors import InsufficientPoints, InvalidAdjustment, RedemptionNotPossible
from tests.loyalty.conftest import account, assert_invariant, order

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 3000)),
        st.tuples(st.just("approve"), st.integers(0, 60)),
        st.tuples(st.just("redeem"), st.integers(1, 5000)),
        st.tuples(st.just("expire"), st.integers(0, 800)),
        st.tuples(st.just("refund"), st.integers(1, 100)),
        st.tuples(st.just("adjust"), st.integers(-500, 500)),
    ),
    min_size=1,
    max_size=25,
)


class Rollback(Exception):
    pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_balance_equals_the_ledger_and_never_goes_negative(programme, actions):
    start = timezone.now()
    try:
        with transaction.atomic():
            acc = account()
            orders = []
            clock = start
            for action, n in actions:
                clock += dt.timedelta(minutes=1)
                if action == "earn":
                    row = order(acc.user, Decimal(n), paid_at=clock - dt.timedelta(days=40))
                    services.points_earn_for_order(order=row)
                    orders.append(row)
                elif action == "approve":
                    services.step_approve(clock + dt.timedelta(days=n))
                elif action == "redeem":
                    with contextlib.suppress(InsufficientPoints, RedemptionNotPossible):
                        services.redemption_apply(order=order(acc.user, "100.00", status="placed"), points=n)
                elif action == "expire":
                    services.step_expire(clock + relativedelta(months=12) + dt.timedelta(days=n))
                elif action == "refund" and orders:
                    target = orders[n % len(orders)]
                    services.points_release_for_order(order=target, share=Decimal(n) / 100)
                elif action == "adjust":
                    with contextlib.suppress(InsufficientPoints, InvalidAdjustment):
                        services.points_adjust(account=acc, points=n, reason="property")
                assert_invariant(acc)
            raise Rollback
    except Rollback:
        pass
