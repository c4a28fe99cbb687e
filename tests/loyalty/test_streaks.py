"""Weekly streaks with grace: Monday 00:00 to Sunday 23:59:59.999 in the tenant's timezone
(tenant A: America/Chicago), derived from the set of qualifying weeks."""

import datetime as dt
import zoneinfo

from apps.loyalty import selectors, services
from apps.loyalty.models import Account, StreakBonus
from apps.loyalty.services import derive_streak, week_of
from tests.loyalty.conftest import account, customer, order

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
W0 = dt.date(2026, 1, 5)  # a Monday


def wk(n: int) -> dt.date:
    return W0 + dt.timedelta(weeks=n)


def local(y, m, d, h=12, mi=0, s=0, us=0):
    return dt.datetime(y, m, d, h, mi, s, us, tzinfo=CHICAGO)


def test_sunday_23_59_59_999_is_the_old_week_and_monday_00_00_the_new_one(in_tenant):
    sunday = local(2026, 1, 11, 23, 59, 59, 999000)
    monday = local(2026, 1, 12, 0, 0, 0)
    assert week_of(sunday.astimezone(dt.UTC)) == dt.date(2026, 1, 5)
    assert week_of(monday.astimezone(dt.UTC)) == dt.date(2026, 1, 12)


def test_a_week_across_the_daylight_saving_change_is_one_week(in_tenant):
    # US clocks go back on Sunday 1 November 2026: that week lasts 7 days and 1 hour.
    start = local(2026, 10, 26, 0, 0)  # CDT, UTC-5
    end = local(2026, 11, 1, 23, 59, 59, 999000)  # CST, UTC-6
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) > dt.timedelta(days=7)
    assert week_of(start.astimezone(dt.UTC)) == week_of(end.astimezone(dt.UTC)) == dt.date(2026, 10, 26)
    assert week_of(local(2026, 11, 2, 0, 0).astimezone(dt.UTC)) == dt.date(2026, 11, 2)
    state = derive_streak([dt.date(2026, 10, 19), dt.date(2026, 10, 26), dt.date(2026, 11, 2)], dt.date(2026, 11, 2))
    assert state.current == 3 and state.grace_available


def test_consecutive_weeks_count_and_the_current_week_is_at_risk_not_missed():
    state = derive_streak([wk(0), wk(1), wk(2)], wk(3))
    assert (state.current, state.at_risk, state.grace_available) == (3, True, True)
    state = derive_streak([wk(0), wk(1), wk(2), wk(3)], wk(3))
    assert (state.current, state.at_risk) == (4, False)


def test_one_missed_week_uses_the_grace_and_the_streak_goes_on():
    state = derive_streak([wk(0), wk(1), wk(3)], wk(3))
    assert (state.current, state.grace_available, state.grace_used_week) == (3, False, wk(2))


def test_a_missed_week_just_closed_uses_the_grace_while_this_week_is_at_risk():
    state = derive_streak([wk(0), wk(1)], wk(3))
    assert (state.current, state.at_risk, state.grace_available) == (2, True, False)


def test_two_single_misses_less_than_4_weeks_apart_break_the_streak():
    # weeks 0 1 _ 3 4 _ 6: the second miss finds no grace; the streak restarts at week 6.
    state = derive_streak([wk(0), wk(1), wk(3), wk(4), wk(6)], wk(6))
    assert state.current == 1 and state.best == 4 and not state.grace_available
    assert state.streaks == ((wk(0), 4), (wk(6), 1))


def test_the_grace_is_earned_back_after_4_qualifying_weeks_in_a_row():
    # miss week 2 (grace used), then weeks 3-6 in a row earn it back, so missing week 7 is forgiven.
    weeks = [wk(0), wk(1), wk(3), wk(4), wk(5), wk(6), wk(8)]
    state = derive_streak(weeks, wk(8))
    assert state.current == 7 and state.grace_used_week == wk(7)
    # With only 3 in a row after the first miss, the second miss ends it.
    state = derive_streak([wk(0), wk(1), wk(3), wk(4), wk(5), wk(7)], wk(7))
    assert state.current == 1


def test_two_missed_weeks_end_the_streak_even_with_the_grace():
    state = derive_streak([wk(0), wk(1)], wk(4))
    assert state.current == 0 and state.best == 2


def _paid(user, week: int, day: int = 2):
    return order(user, "10.00", paid_at=local(*(wk(week) + dt.timedelta(days=day)).timetuple()[:3]))


def test_a_refund_removing_a_weeks_only_order_corrects_the_streak_and_its_bonus(programme):
    user = customer()
    acc = account(user)
    rows = [_paid(user, n) for n in range(4)]
    now = local(*(wk(3) + dt.timedelta(days=4)).timetuple()[:3]).astimezone(dt.UTC)
    services.customer_evaluate(account=acc, now=now)
    acc.refresh_from_db()
    assert acc.streak_current == 4
    bonus = StreakBonus.objects.get(account=acc, milestone=4)
    assert bonus.reversed_at is None and acc.balance >= bonus.points

    rows[1].status = "refunded"
    rows[1].save()
    services.customer_evaluate(account=acc, now=now)
    acc.refresh_from_db()
    assert (acc.streak_current, acc.streak_grace_available) == (3, False)  # week 1 missed: grace used
    bonus.refresh_from_db()
    assert bonus.reversed_at is not None


def test_milestone_bonuses_are_paid_once_per_streak(programme):
    user = customer()
    acc = account(user)
    for n in range(5):
        _paid(user, n)
    now = local(*(wk(4) + dt.timedelta(days=4)).timetuple()[:3]).astimezone(dt.UTC)
    services.customer_evaluate(account=acc, now=now)
    services.customer_evaluate(account=acc, now=now)
    assert StreakBonus.objects.filter(account=acc).count() == 1
    acc.refresh_from_db()
    # The 4-week streak bonus, and the first_order, order_count 5 and weekly_streak 4 achievement levels.
    assert acc.balance == 40 + 50 + 50 + 50


def test_the_week_close_uses_the_grace_once_then_ends_the_streak(programme):
    user = customer()
    acc = account(user)
    for n in range(3):
        _paid(user, n)
    services.customer_evaluate(account=acc, now=local(2026, 1, 21).astimezone(dt.UTC))  # in week 2
    # Monday of week 4: week 3 was missed -> the grace is used, the streak goes on (at risk).
    monday4 = local(*wk(4).timetuple()[:3], 3, 0).astimezone(dt.UTC)
    assert services.step_streaks(monday4) == 1
    assert services.step_streaks(monday4) == 0  # idempotent
    acc.refresh_from_db()
    assert (acc.streak_current, acc.streak_grace_available) == (3, False)
    # It matches what the derivation says.
    assert derive_streak([wk(0), wk(1), wk(2)], wk(4)).current == 3
    # Monday of week 5: a second missed week ends it.
    services.step_streaks(local(*wk(5).timetuple()[:3], 3, 0).astimezone(dt.UTC))
    acc.refresh_from_db()
    assert acc.streak_current == 0 and acc.streak_best == 3
    summary = selectors.streak_summary(Account.objects.get(pk=acc.pk))
    assert summary["current"] == 0 and summary["at_risk"] is False
