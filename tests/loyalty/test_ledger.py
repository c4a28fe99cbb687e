"""Earning, approval, reversal with debt, expiry oldest first, and the balance = ledger invariant."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from apps.loyalty import services
from apps.loyalty.models import Account
from tests.loyalty.conftest import account, assert_invariant, customer, entries, order, paid_order

NOW = timezone.now()


def test_a_paid_order_earns_pending_points_for_the_net_amount_rounded_down(programme):
    user = customer()
    row = order(user, "0")
    row.subtotal, row.discount, row.tax, row.delivery_fee = Decimal("50.99"), Decimal("10.00"), Decimal("3.00"), 5
    row.save()
    entry = services.points_earn_for_order(order=row)
    # 50.99 - 10.00 discount = 40.99; tax and delivery do not earn; x1 rounded down.
    assert (entry.kind, entry.state, entry.points) == ("earned", "pending", 40)
    acc = Account.objects.get(user=user)
    assert (acc.balance, acc.pending) == (0, 40)
    assert_invariant(acc)


def test_tax_inside_prices_does_not_earn(programme):
    user = customer()
    row = order(user, "0")
    row.subtotal, row.tax, row.prices_include_tax = Decimal("120.00"), Decimal("20.00"), True
    row.save()
    assert services.points_earn_for_order(order=row).points == 100


def test_the_tier_multiplier_applies_when_earning(programme):
    user = customer()
    acc = account(user)
    Account.objects.filter(pk=acc.pk).update(tier="gold")
    assert paid_order(user, "10.00") and entries(acc, kind="earned")[0].points == 15  # x1.5


def test_an_order_earns_once_even_when_told_twice(programme):
    user = customer()
    row = paid_order(user, "20.00")
    services.points_earn_for_order(order=row)
    acc = Account.objects.get(user=user)
    assert len(entries(acc, kind="earned")) == 1 and acc.pending == 20


def test_guests_and_staff_have_no_account_and_earn_nothing(programme):
    guest = customer(kind="guest")
    assert services.points_earn_for_order(order=order(guest, "10")) is None
    assert not Account.objects.filter(user=guest).exists()


def test_pending_points_are_approved_only_after_the_return_window(programme):
    user = customer()
    paid_order(user, "30.00", paid_at=NOW - dt.timedelta(days=29))
    acc = Account.objects.get(user=user)
    services.step_approve(NOW)
    acc.refresh_from_db()
    assert (acc.balance, acc.pending) == (0, 30)
    services.step_approve(NOW + dt.timedelta(days=1, minutes=1))
    acc.refresh_from_db()
    assert (acc.balance, acc.pending) == (30, 0)
    (earned,) = entries(acc, kind="earned")
    # The batch's expiry clock starts at approval: 12 months.
    assert earned.state == "posted" and dt.timedelta(days=364) < earned.expires_at - NOW < dt.timedelta(days=368)
    assert_invariant(acc)


def test_a_partial_refund_of_a_pending_order_reverses_its_share_before_approval(programme):
    user = customer()
    row = paid_order(user, "100.00", paid_at=NOW - dt.timedelta(days=40))
    services.points_release_for_order(order=row, share=Decimal("0.25"))
    services.points_release_for_order(order=row, share=Decimal("0.25"))  # the same refund told twice
    acc = Account.objects.get(user=user)
    assert acc.pending == 75
    services.step_approve(NOW)
    acc.refresh_from_db()
    assert (acc.balance, acc.pending) == (75, 0)
    assert_invariant(acc)


def test_a_refund_after_approval_takes_points_back_and_a_shortfall_becomes_debt(programme):
    user = customer()
    row = paid_order(user, "500.00", paid_at=NOW - dt.timedelta(days=40))
    services.step_approve(NOW)
    acc = Account.objects.get(user=user)
    services.redemption_apply(order=order(user, "1000.00", status="placed"), points=400)
    acc.refresh_from_db()
    assert acc.balance == 100

    services.points_release_for_order(order=row)  # refunded in full: 500 to take back, 100 there
    acc.refresh_from_db()
    assert (acc.balance, acc.debt) == (0, 400)
    (reversal,) = entries(acc, kind="reversed", source="refund")
    assert (reversal.points, reversal.qualifying, reversal.debt_change) == (-100, -500, 400)
    assert_invariant(acc)

    # Later earnings pay the debt first.
    paid_order(user, "300.00", paid_at=NOW - dt.timedelta(days=40))
    services.step_approve(NOW + dt.timedelta(minutes=1))
    acc.refresh_from_db()
    assert (acc.balance, acc.debt) == (0, 100)
    paid_order(user, "250.00", paid_at=NOW - dt.timedelta(days=40))
    services.step_approve(NOW + dt.timedelta(minutes=2))
    acc.refresh_from_db()
    assert (acc.balance, acc.debt) == (150, 0)
    assert_invariant(acc)


def test_a_bonus_also_pays_the_debt_first(programme):
    user = customer()
    acc = account(user)
    row = paid_order(user, "100.00", paid_at=NOW - dt.timedelta(days=40))
    services.step_approve(NOW)
    services.points_adjust(account=acc, points=-100, reason="test")
    services.points_release_for_order(order=row)
    acc.refresh_from_db()
    assert acc.debt == 100
    services.points_adjust(account=acc, points=60, reason="goodwill")
    acc.refresh_from_db()
    assert (acc.balance, acc.debt) == (0, 40)
    assert_invariant(acc)


def _credit_at(acc, points, when):
    services._insert_entry(account_id=acc.pk, kind="bonus", points=points, t=when, expires=True)
    Account.objects.filter(pk=acc.pk).update(balance=acc.balance + points)
    acc.refresh_from_db()


def test_points_expire_by_batch_oldest_first_and_a_second_run_expires_nothing(programme):
    acc = account()
    _credit_at(acc, 100, NOW - dt.timedelta(days=400))  # expired batch
    _credit_at(acc, 50, NOW - dt.timedelta(days=300))  # still valid
    # Spending 30 takes them from the oldest batch: 70 of it is left to expire.
    services.redemption_apply(order=order(acc.user, "100.00", status="placed"), points=30)
    assert services.step_expire(NOW) == 1
    acc.refresh_from_db()
    assert acc.balance == 50
    (expired,) = entries(acc, kind="expired")
    assert expired.points == -70
    assert services.step_expire(NOW) == 0
    # The second batch expires in its turn, nothing more.
    services.step_expire(NOW + dt.timedelta(days=70))
    acc.refresh_from_db()
    assert acc.balance == 0
    assert_invariant(acc)


def test_points_spent_beyond_the_oldest_batch_leave_nothing_of_it_to_expire(programme):
    acc = account()
    _credit_at(acc, 100, NOW - dt.timedelta(days=400))
    _credit_at(acc, 100, NOW - dt.timedelta(days=10))
    services.redemption_apply(order=order(acc.user, "1000.00", status="placed"), points=150)
    assert services.step_expire(NOW) == 0
    acc.refresh_from_db()
    assert acc.balance == 50


def test_cancelling_an_order_gives_back_the_points_spent_on_it(programme):
    acc = account()
    _credit_at(acc, 500, NOW)
    row = order(acc.user, "20.00", status="placed")
    services.redemption_apply(order=row, points=500)  # capped at 50% of 20.00 = 10.00 = 1000 pts
    row.refresh_from_db()
    assert (row.points_redeemed, row.points_value, row.total) == (500, Decimal("5.00"), Decimal("15.00"))
    services.points_release_for_order(order=row)
    services.points_release_for_order(order=row)
    acc.refresh_from_db()
    assert acc.balance == 500
    assert_invariant(acc)


def test_a_manual_adjustment_needs_a_reason_and_never_goes_below_zero(programme):
    import pytest

    from apps.loyalty.errors import InsufficientPoints, InvalidAdjustment

    acc = account()
    with pytest.raises(InvalidAdjustment):
        services.points_adjust(account=acc, points=10, reason=" ")
    services.points_adjust(account=acc, points=10, reason="sorry for the wait")
    with pytest.raises(InsufficientPoints):
        services.points_adjust(account=acc, points=-11, reason="typo")
    entry = services.points_adjust(account=acc, points=-10, reason="typo")
    assert (entry.kind, entry.source, entry.reason) == ("reversed", "manual", "typo")
    assert_invariant(acc)


def test_points_given_back_from_a_batch_that_expired_meanwhile_expire_at_once(programme):
    acc = account()
    _credit_at(acc, 100, NOW - dt.timedelta(days=370))  # its batch expired 5 days ago...
    row = order(acc.user, "1000.00", status="placed")
    services.redemption_apply(order=row, points=100)  # ...but was spent before tonight's run
    assert services.step_expire(NOW) == 0  # nothing left in the batch to expire
    acc.refresh_from_db()
    assert acc.balance == 0
    services.points_release_for_order(order=row)  # cancelled after the batch expired
    acc.refresh_from_db()
    assert acc.balance == 0 and [e.points for e in entries(acc, kind="expired")] == [-100]
    assert_invariant(acc)


def test_the_nightly_expiry_looks_only_at_batches_expired_since_the_last_finished_run(programme):
    from apps.loyalty.models import NightlyRun

    acc = account()
    _credit_at(acc, 40, NOW - dt.timedelta(days=400))
    NightlyRun.objects.create(run_date=NOW.date(), as_of=NOW, finished_at=NOW)  # expired 35 days before it
    assert services.step_expire(NOW + dt.timedelta(days=1)) == 0  # already handled by earlier runs
    _credit_at(acc, 25, NOW - dt.timedelta(days=365) + dt.timedelta(hours=12))
    assert services.step_expire(NOW + dt.timedelta(days=1)) == 1
    acc.refresh_from_db()
    # The formula is exact whatever the window: both batches are gone once one run looks.
    assert acc.balance == 0
