"""Tiers: upgrade on approval (skipping tiers), hold for 12 months, anniversary downgrade by one
tier, the 30-day warning, threshold changes, and the benefits other apps read."""

import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from apps.loyalty import selectors, services
from apps.loyalty.models import Account, Achievement
from tests.loyalty.conftest import account, customer, paid_order

NOW = timezone.now()


def _earn_approved(user, net, at):
    paid_order(user, net, paid_at=at - dt.timedelta(days=31))
    services.step_approve(at)
    services.step_tiers(at)


def test_approved_points_upgrade_at_once_skipping_tiers(programme):
    user = customer()
    _earn_approved(user, "6000.00", NOW)
    acc = Account.objects.get(user=user)
    assert acc.tier == "gold"  # straight from scoops past silver
    assert acc.tier_reached_at == NOW and acc.tier_hold_until == NOW + relativedelta(months=12)
    levels = set(Achievement.objects.filter(account=acc, category="tier_reached").values_list("level", flat=True))
    assert levels == {"silver", "gold"}  # the skipped tier counts as reached, each level once
    services.step_tiers(NOW)
    assert Achievement.objects.filter(account=acc, category="tier_reached").count() == 2


def test_pending_points_do_not_count_for_the_tier(programme):
    user = customer()
    paid_order(user, "2000.00", paid_at=NOW)
    services.step_approve(NOW)
    services.step_tiers(NOW)
    assert Account.objects.get(user=user).tier == "scoops"


def test_redeeming_does_not_lower_the_qualifying_points_but_a_reversal_does(programme):
    user = customer()
    row = paid_order(user, "1200.00", paid_at=NOW - dt.timedelta(days=40))
    services.step_approve(NOW)
    acc = Account.objects.get(user=user)
    services.points_adjust(account=acc, points=-1000, reason="spent elsewhere")
    assert selectors.qualifying_points(acc, NOW + dt.timedelta(seconds=1)) == 1200
    services.points_release_for_order(order=row, share=Decimal("0.5"))
    assert selectors.qualifying_points(acc, NOW + dt.timedelta(seconds=1)) == 600


def test_a_reached_tier_is_held_until_its_anniversary_even_without_points(programme):
    user = customer()
    _earn_approved(user, "1500.00", NOW - relativedelta(months=13))  # outside the window now
    acc = Account.objects.get(user=user)
    assert acc.tier == "silver"
    services.step_anniversaries(NOW - relativedelta(months=12) - dt.timedelta(days=1))
    acc.refresh_from_db()
    assert acc.tier == "silver"


def test_at_the_anniversary_an_account_that_no_longer_qualifies_drops_one_tier(programme):
    user = customer()
    reached = NOW - relativedelta(months=12) - dt.timedelta(days=1)
    _earn_approved(user, "16000.00", reached)
    acc = Account.objects.get(user=user)
    assert acc.tier == "diamond"
    assert services.step_anniversaries(NOW) == 1
    acc.refresh_from_db()
    assert acc.tier == "gold"  # one tier, even though it qualifies for nothing
    assert acc.tier_hold_until > NOW and acc.tier_warned_at is None
    assert services.step_anniversaries(NOW) == 0  # idempotent


def test_at_the_anniversary_an_account_that_still_qualifies_keeps_its_tier_another_period(programme):
    user = customer()
    reached = NOW - relativedelta(months=12) - dt.timedelta(days=1)
    _earn_approved(user, "1100.00", reached)
    _earn_approved(user, "1200.00", NOW - relativedelta(months=2))
    acc = Account.objects.get(user=user)
    hold = acc.tier_hold_until
    services.step_anniversaries(NOW)
    acc.refresh_from_db()
    assert acc.tier == "silver" and acc.tier_hold_until == hold + relativedelta(months=12)


def test_thirty_days_before_the_anniversary_an_account_that_would_drop_is_warned_once(programme):
    user = customer()
    _earn_approved(user, "1000.00", NOW - relativedelta(months=12) + dt.timedelta(days=5))
    acc = Account.objects.get(user=user)
    Account.objects.filter(pk=acc.pk).update(tier_hold_until=NOW + dt.timedelta(days=31))
    assert services.step_warnings(NOW) == 0  # 31 days before: not yet
    Account.objects.filter(pk=acc.pk).update(tier_hold_until=NOW + dt.timedelta(days=29))
    # Its points (approved 12 months - 5 days ago) still count, so it is not warned...
    assert services.step_warnings(NOW) == 0
    # ...until they leave the window; then once.
    assert services.step_warnings(NOW + dt.timedelta(days=6)) == 1
    assert services.step_warnings(NOW + dt.timedelta(days=7)) == 0
    acc.refresh_from_db()
    assert acc.tier_warned_at is not None and selectors.account_summary(acc)["tier_warning"] is True


def test_an_account_that_keeps_qualifying_is_not_warned(programme):
    user = customer()
    _earn_approved(user, "1000.00", NOW - dt.timedelta(days=2))
    acc = Account.objects.get(user=user)
    Account.objects.filter(pk=acc.pk).update(tier_hold_until=NOW + dt.timedelta(days=10))
    assert services.step_warnings(NOW) == 0


def test_raising_the_thresholds_never_downgrades_an_unexpired_tier(programme):
    user = customer()
    _earn_approved(user, "1500.00", NOW - dt.timedelta(days=1))
    programme.silver_threshold, programme.gold_threshold, programme.diamond_threshold = 3000, 6000, 20000
    programme.save()
    services.step_tiers(NOW)
    services.step_anniversaries(NOW)
    assert Account.objects.get(user=user).tier == "silver"
    # At the anniversary the new threshold decides: 2,000 in the window kept silver before, not now.
    _earn_approved(user, "2000.00", NOW + relativedelta(months=6))
    services.step_anniversaries(NOW + relativedelta(months=12))
    assert Account.objects.get(user=user).tier == "scoops"


def test_lowering_the_thresholds_upgrades_at_the_next_approval(programme):
    user = customer()
    _earn_approved(user, "800.00", NOW - dt.timedelta(days=1))
    assert Account.objects.get(user=user).tier == "scoops"
    programme.silver_threshold = 500
    programme.save()
    _earn_approved(user, "10.00", NOW)
    assert Account.objects.get(user=user).tier == "silver"


def test_customer_tier_and_benefits_for_promotions(programme):
    user = customer()
    assert selectors.customer_tier(user=user) is None
    assert selectors.tier_benefits(user=user) is None
    acc = account(user)
    Account.objects.filter(pk=acc.pk).update(tier="diamond")
    user = type(user).objects.get(pk=user.pk)
    assert selectors.customer_tier(user=user) == "diamond"
    benefits = selectors.tier_benefits(user=user)
    assert benefits["earn_multiplier"] == Decimal("2.00") and benefits["free_delivery_over"] == Decimal("0.00")
    assert benefits["perks"]
