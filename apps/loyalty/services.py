"""Every write of the loyalty programme.

The ledger is append-only (an entry's amounts never change; a pending entry becomes posted once).
`Account.balance` is the sum of the posted entries and changes in the same statement or
transaction as the entries that explain it; a conditional `UPDATE ... WHERE balance >= n` spends
points, so two racing redemptions cannot both spend them. Expiry is first-in-first-out: the
points that expire by `t` are what the batches (credits) expiring by `t` brought, minus all that
was ever taken out (spent, reversed, expired); see docs/loyalty.md for worked examples.

Orders and payments call `points_earn_for_order`, `points_release_for_order` and
`redemption_apply` directly (no signals). Achievements and the streak are evaluated per customer
after the order's transaction commits (a Celery task), and set-based by the nightly job.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from apps.core.audit import current_actor
from apps.core.services import events_record
from apps.loyalty.errors import InsufficientPoints, InvalidAdjustment, NoLoyaltyAccount, RedemptionNotPossible
from apps.loyalty.models import (
    TIERS,
    Account,
    Achievement,
    Campaign,
    LedgerEntry,
    NightlyRun,
    ProgrammeSettings,
    Referral,
    StreakBonus,
)

K = LedgerEntry.Kind
CUSTOMER_KINDS = {"retail", "wholesale"}
COUNTED_EXCLUDED = ("cancelled", "refunded")
# Achievement categories derived from the customer's orders: a refund that undoes the qualifying
# order takes back a level whose points are still unspent.
ORDER_DERIVED = {
    "first_order",
    "order_count",
    "lifetime_spend",
    "big_basket",
    "category_diversity",
    "product_explorer",
    "weekly_streak",
    "birthday_order",
    "seasonal_campaign",
}


# ---------------------------------------------------------------------------------------------
# Small helpers


def programme() -> ProgrammeSettings:
    """The tenant's programme settings (the singleton row, created with the defaults)."""
    return ProgrammeSettings.objects.get_or_create(pk=1)[0]


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(getattr(getattr(connection, "tenant", None), "timezone", None) or "UTC")


def _precision() -> int:
    return getattr(getattr(connection, "tenant", None), "currency_precision", 2)


def _money_down(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-_precision()), rounding=ROUND_DOWN)


def _actor() -> str:
    actor = current_actor()
    return (actor.label if actor else "")[:150]


def week_of(moment: dt.datetime, tz: zoneinfo.ZoneInfo | None = None) -> dt.date:
    """The Monday (tenant-local date) of the week `moment` falls in."""
    local = moment.astimezone(tz or _tz()).date()
    return local - dt.timedelta(days=local.weekday())


def normalise_email(email: str) -> str:
    local, _, domain = (email or "").strip().lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in {"gmail.com", "googlemail.com"}:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if domain else local


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-9:] if len(digits) >= 7 else ""


ADDRESS_SQL = "lower(regexp_replace({}, '[^[:alnum:]]', '', 'g'))"


def _new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits, URL-safe


# ---------------------------------------------------------------------------------------------
# Accounts


def account_ensure(*, user: object) -> Account | None:
    """The customer's account, created on first use; None for guests, staff and anonymous."""
    if user is None or getattr(user, "pk", None) is None or getattr(user, "kind", None) not in CUSTOMER_KINDS:
        return None
    account = Account.objects.filter(user_id=user.pk).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(
                user_id=user.pk, share_token=_new_token(), share_token_created_at=timezone.now()
            )
    except IntegrityError:
        return Account.objects.get(user_id=user.pk)


@transaction.atomic
def share_token_rotate(*, account: Account) -> Account:
    """A new share token; the old one stops working at once."""
    account.share_token, account.share_token_created_at = _new_token(), timezone.now()
    account.save(update_fields=["share_token", "share_token_created_at"])
    return account


def _insert_entry(
    *,
    account_id: int,
    kind: str,
    points: int,
    t: dt.datetime,
    state: str = "posted",
    qualifying: int = 0,
    debt_change: int = 0,
    order_id: int | None = None,
    source: str = "",
    reference: str = "",
    reason: str = "",
    available_at: dt.datetime | None = None,
    expires: bool = False,
) -> LedgerEntry:
    expires_at = t + relativedelta(months=programme().expiry_months) if expires and state == "posted" else None
    return LedgerEntry.objects.create(
        account_id=account_id,
        kind=kind,
        state=state,
        points=points,
        qualifying=qualifying,
        debt_change=debt_change,
        order_id=order_id,
        source=source,
        reference=reference[:64],
        reason=reason[:300],
        created_by=_actor(),
        available_at=available_at,
        expires_at=expires_at,
        created_at=t,
        posted_at=t if state == "posted" else None,
    )


def _credit(*, account_id: int, points: int, source: str, reference: str, reason: str, t: dt.datetime) -> None:
    """A posted bonus (a new batch that expires), then any debt is paid from it first."""
    if points <= 0:
        return
    _insert_entry(
        account_id=account_id,
        kind=K.BONUS,
        points=points,
        t=t,
        source=source,
        reference=reference,
        reason=reason,
        expires=True,
    )
    Account.objects.filter(pk=account_id).update(balance=F("balance") + points)
    settle_debt(t=t, account_ids=[account_id])


def settle_debt(*, t: dt.datetime, account_ids: Iterable[int] | None = None) -> int:
    """Accounts owing points pay them from their balance (which only new credits can have raised
    since the shortfall): a `reversed` entry per account, in one statement."""
    only = "AND id = ANY(%(ids)s)" if account_ids is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH s AS (
                SELECT id, LEAST(debt, balance) AS r FROM loyalty_account WHERE debt > 0 AND balance > 0 {only}
            ), ins AS (
                INSERT INTO loyalty_ledgerentry (account_id, kind, state, points, qualifying, debt_change, source,
                    reference, reason, created_by, created_at, posted_at)
                SELECT id, 'reversed', 'posted', -r, 0, -r, 'debt', '', 'Debt repaid from new points', %(actor)s,
                    %(t)s, %(t)s FROM s
            )
            UPDATE loyalty_account a SET balance = a.balance - s.r, debt = a.debt - s.r FROM s WHERE a.id = s.id
            """,
            {"ids": list(account_ids or []), "t": t, "actor": _actor()},
        )
        return cursor.rowcount


# ---------------------------------------------------------------------------------------------
# Earning and reversing (called by the order and payment services)


def order_net_amount(order: object) -> Decimal:
    """What the customer paid for the goods: after discounts and points, before tax and delivery."""
    net = Decimal(order.subtotal) - Decimal(order.discount or 0)
    if order.prices_include_tax:
        net -= Decimal(order.tax or 0)
    net -= Decimal(order.points_value or 0)
    return max(net, Decimal("0"))


def _evaluate_later(account_id: int) -> None:
    from apps.loyalty.tasks import customer_evaluate_task

    # robust: a broker hiccup is logged, never turned into an error after the order committed.
    transaction.on_commit(lambda: customer_evaluate_task.delay(account_id), robust=True)


@transaction.atomic
def points_earn_for_order(*, order: object) -> LedgerEntry | None:
    """Pending points for a paid order (the tier's multiplier at payment time), approved by the
    nightly job once the order is past its return window. Once per order."""
    account = account_ensure(user=order.customer) if order.customer_id else None
    if account is None:
        return None
    s = programme()
    points = int(
        (order_net_amount(order) * s.earn_points_per_unit * s.multiplier(account.tier)).to_integral_value(
            rounding=ROUND_DOWN
        )
    )
    if points <= 0:
        _evaluate_later(account.pk)
        return None
    paid_at = order.paid_at or order.completed_at or timezone.now()
    try:
        with transaction.atomic():
            entry = _insert_entry(
                account_id=account.pk,
                kind=K.EARNED,
                state="pending",
                points=points,
                qualifying=points,
                t=timezone.now(),
                order_id=order.pk,
                source="order",
                reference=f"order:{order.number}",
                reason=f"Order {order.number}",
                available_at=paid_at + dt.timedelta(days=s.return_window_days),
            )
    except IntegrityError:
        return LedgerEntry.objects.get(order_id=order.pk, kind=K.EARNED)  # earned already
    Account.objects.filter(pk=account.pk).update(pending=F("pending") + points)
    _evaluate_later(account.pk)
    return entry


def _share_of(total: int, share: Decimal) -> int:
    if share >= 1:
        return total
    return int((Decimal(total) * share).to_integral_value(rounding=ROUND_DOWN))


@transaction.atomic
def points_release_for_order(*, order: object, share: Decimal = Decimal("1")) -> None:
    """The order was (partly) refunded or cancelled: `share` is the part refunded so far (1 for a
    cancellation or a full refund). Gives back that share of the points spent on it and reverses
    that share of the points earned; repeated calls with the same share change nothing.
    A reversal never takes the balance below zero: the shortfall becomes debt."""
    entries = list(
        LedgerEntry.objects.filter(order_id=order.pk).only(
            "account_id", "kind", "points", "qualifying", "state", "source", "available_at"
        )
    )
    if not entries:
        return
    account_id = entries[0].account_id
    account = Account.objects.select_for_update().get(pk=account_id)  # serialises with redemptions
    # Re-read under the lock (the nightly approval may have posted the earn meanwhile).
    entries = list(LedgerEntry.objects.filter(order_id=order.pk))
    t = timezone.now()
    share = min(max(Decimal(share), Decimal("0")), Decimal("1"))

    spent = -sum(e.points for e in entries if e.kind == K.REDEEMED and e.points < 0)
    returned = sum(e.points for e in entries if e.kind == K.REDEEMED and e.points > 0)
    give_back = _share_of(spent, share) - returned
    if give_back > 0:
        _insert_entry(
            account_id=account_id,
            kind=K.REDEEMED,
            points=give_back,
            t=t,
            order_id=order.pk,
            source="redemption_return",
            reference=f"order:{order.number}",
            reason=f"Points given back: order {order.number} "
            + ("partly refunded" if share < 1 else "cancelled or refunded"),
        )
        Account.objects.filter(pk=account_id).update(balance=F("balance") + give_back)
        account.balance += give_back
        # Points given back from batches that expired meanwhile expire now (oldest first, as ever).
        if expire_points(t=t, account_ids=[account_id]):
            account.refresh_from_db(fields=["balance"])

    earned = next((e for e in entries if e.kind == K.EARNED), None)
    if earned is not None:
        already = -sum(e.qualifying for e in entries if e.kind == K.REVERSED and e.source == "refund")
        delta = _share_of(earned.points, share) - already
        if delta > 0:
            reason = f"Refund of order {order.number}" if share < 1 else f"Order {order.number} cancelled or refunded"
            if earned.state == "pending":
                _insert_entry(
                    account_id=account_id,
                    kind=K.REVERSED,
                    state="pending",
                    points=-delta,
                    qualifying=-delta,
                    t=t,
                    order_id=order.pk,
                    source="refund",
                    reference=f"order:{order.number}",
                    reason=reason,
                    available_at=earned.available_at,
                )
                Account.objects.filter(pk=account_id).update(pending=F("pending") - delta)
            else:
                taken = min(delta, account.balance)
                _insert_entry(
                    account_id=account_id,
                    kind=K.REVERSED,
                    points=-taken,
                    qualifying=-delta,
                    debt_change=delta - taken,
                    t=t,
                    order_id=order.pk,
                    source="refund",
                    reference=f"order:{order.number}",
                    reason=reason,
                )
                Account.objects.filter(pk=account_id).update(
                    balance=F("balance") - taken, debt=F("debt") + (delta - taken)
                )
    _evaluate_later(account_id)


# ---------------------------------------------------------------------------------------------
# Redemption at checkout


def points_value(points: int) -> Decimal:
    return _money_down(Decimal(points) / Decimal(programme().redeem_points_per_unit))


def redemption_quote(*, account: Account, order_total: Decimal | None = None, points: int | None = None) -> dict:
    """What `points` would pay, and the most that may be spent on an order of `order_total`."""
    s = programme()
    max_points = account.balance
    if order_total is not None:
        cap_value = _money_down(Decimal(order_total) * s.redeem_max_share)
        max_points = min(max_points, int(cap_value * s.redeem_points_per_unit))
    asked = account.balance if points is None else points
    usable = min(asked, max_points)
    return {
        "balance": account.balance,
        "points_per_unit": s.redeem_points_per_unit,
        "max_share": s.redeem_max_share,
        "max_points": max_points,
        "points": usable,
        "value": points_value(usable),
    }


@transaction.atomic
def redemption_apply(*, order: object, points: int) -> object:
    """Spend `points` on the order just placed: lowers its total like a payment (capped by the
    programme's share of the order). One conditional UPDATE: of two orders racing for the same
    points one wins, the other gets `insufficient_points`; the balance never goes negative."""
    if points <= 0:
        return order
    account = account_ensure(user=order.customer) if order.customer_id else None
    if account is None:
        raise RedemptionNotPossible("Only signed-in retail and wholesale customers spend points.")
    if order.points_redeemed:
        raise RedemptionNotPossible("Points were already spent on this order.")
    s = programme()
    cap_points = int(_money_down(Decimal(order.total) * s.redeem_max_share) * s.redeem_points_per_unit)
    points = min(points, cap_points)
    value = points_value(points)
    if points <= 0 or value <= 0:
        raise RedemptionNotPossible(
            "This order is too small to pay with points.", details={"max_points": max(cap_points, 0)}
        )
    t = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH u AS (
                UPDATE loyalty_account SET balance = balance - %(n)s WHERE id = %(id)s AND balance >= %(n)s
                RETURNING id
            )
            INSERT INTO loyalty_ledgerentry (account_id, kind, state, points, qualifying, debt_change, order_id,
                source, reference, reason, created_by, created_at, posted_at)
            SELECT id, 'redeemed', 'posted', -%(n)s, 0, 0, %(order)s, 'checkout', %(ref)s, %(reason)s, %(actor)s,
                %(t)s, %(t)s FROM u
            RETURNING id
            """,
            {
                "n": points,
                "id": account.pk,
                "order": order.pk,
                "ref": f"order:{order.number}",
                "reason": f"Spent on order {order.number}",
                "actor": _actor(),
                "t": t,
            },
        )
        if cursor.fetchone() is None:
            balance = Account.objects.filter(pk=account.pk).values_list("balance", flat=True).first()
            raise InsufficientPoints(details={"requested": points, "balance": balance})
    order.points_redeemed, order.points_value = points, value
    order.total = Decimal(order.total) - value
    type(order).objects.filter(pk=order.pk).update(points_redeemed=points, points_value=value, total=order.total)
    return order


# ---------------------------------------------------------------------------------------------
# Manual adjustments (staff)


@transaction.atomic
def points_adjust(*, account: Account, points: int, reason: str) -> LedgerEntry:
    """Staff add (a bonus) or remove (a reversal, never below zero) points, with a reason; the
    entry records who did it and the audit log keeps the change."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidAdjustment("Give a reason.", details={"reason": ["Required."]})
    if points == 0:
        raise InvalidAdjustment("The adjustment must add or remove points.", details={"points": ["Not 0."]})
    t = timezone.now()
    if points > 0:
        entry = _insert_entry(
            account_id=account.pk, kind=K.BONUS, points=points, t=t, source="manual", reason=reason, expires=True
        )
        Account.objects.filter(pk=account.pk).update(balance=F("balance") + points)
        settle_debt(t=t, account_ids=[account.pk])
        return entry
    updated = Account.objects.filter(pk=account.pk, balance__gte=-points).update(balance=F("balance") + points)
    if not updated:
        raise InsufficientPoints("The balance is smaller than the points to remove.")
    return _insert_entry(account_id=account.pk, kind=K.REVERSED, points=points, t=t, source="manual", reason=reason)


# ---------------------------------------------------------------------------------------------
# Set-based pieces shared by the nightly job and the per-customer evaluation


def _award(cursor: object, candidates_sql: str, params: dict, t: dt.datetime) -> list[tuple[int, str, str]]:
    """Award achievement levels (`candidates_sql` yields account_id, category, level, points) once
    each: a level already held is skipped, one taken back earlier is given again; each award is a
    posted bonus and the balances move in the same statement. Returns (account, category, level)."""
    months = programme().expiry_months
    cursor.execute(
        f"""
        WITH cand AS ({candidates_sql}),
        ins AS (
            INSERT INTO loyalty_achievement (account_id, category, level, points, awarded_at, reversed_at)
            SELECT account_id, category, level, points, %(t)s, NULL FROM cand
            ON CONFLICT (account_id, category, level) DO UPDATE
                SET reversed_at = NULL, awarded_at = EXCLUDED.awarded_at, points = EXCLUDED.points
                WHERE loyalty_achievement.reversed_at IS NOT NULL
            RETURNING id, account_id, category, level, points
        ), led AS (
            INSERT INTO loyalty_ledgerentry (account_id, kind, state, points, qualifying, debt_change, source,
                reference, reason, created_by, created_at, posted_at, expires_at)
            SELECT account_id, 'bonus', 'posted', points, 0, 0, 'achievement', 'achievement:' || id,
                'Achievement ' || category || ' ' || level, %(actor)s, %(t)s, %(t)s,
                %(t)s + make_interval(months => %(months)s)
            FROM ins WHERE points > 0
            RETURNING account_id, points
        ), per AS (
            SELECT account_id, sum(points) AS s FROM led GROUP BY account_id
        ), upd AS (
            UPDATE loyalty_account a SET balance = a.balance + per.s FROM per WHERE a.id = per.account_id
        )
        SELECT account_id, category, level FROM ins
        """,
        {**params, "t": t, "actor": _actor(), "months": months},
    )
    return [(row[0], row[1], row[2]) for row in cursor.fetchall()]


def _tier_case(column: str) -> str:
    return (
        f"CASE WHEN {column} >= %(diamond)s THEN 'diamond' WHEN {column} >= %(gold)s THEN 'gold' "
        f"WHEN {column} >= %(silver)s THEN 'silver' ELSE 'scoops' END"
    )


def _tier_params(s: ProgrammeSettings) -> dict:
    return {
        "silver": s.silver_threshold,
        "gold": s.gold_threshold,
        "diamond": s.diamond_threshold,
        "qmonths": s.qualifying_months,
        "hold": s.tier_hold_months,
        "tiers": list(TIERS),
    }


def _tier_achievements_sql() -> str:
    """Levels of `tier_reached` for every tier at or below each account's tier (a skipped tier
    counts as reached)."""
    return """
        SELECT a.id AS account_id, 'tier_reached'::text AS category, lv.level::text AS level, lv.points::int AS points
        FROM loyalty_account a
        JOIN unnest(%(tier_levels)s::text[], %(tier_points)s::int[]) AS lv(level, points)
          ON array_position(%(tiers)s::text[], lv.level) <= array_position(%(tiers)s::text[], a.tier)
        WHERE a.tier <> 'scoops' {only}
    """


def tiers_upgrade(
    *,
    t: dt.datetime,
    account_ids: Iterable[int] | None = None,
    posted_at: dt.datetime | None = None,
    approved: bool = False,
) -> int:
    """Upgrade (skipping tiers when earned) accounts whose qualifying points, approved in the last
    `qualifying_months`, reach a higher tier; the new tier is held `tier_hold_months`. Limited to
    the given accounts or to those with earned points posted at `posted_at`."""
    s = programme()
    params = _tier_params(s) | {"t": t}
    scope = ""
    if account_ids is not None:
        scope, params["ids"] = "AND e.account_id = ANY(%(ids)s)", list(account_ids)
    elif approved:  # the accounts step_approve just credited (its temporary table)
        scope = "AND e.account_id IN (SELECT account_id FROM loyalty_approved)"
    elif posted_at is not None:
        scope = (
            "AND e.account_id IN (SELECT account_id FROM loyalty_ledgerentry "
            "WHERE posted_at = %(posted_at)s AND kind = 'earned')"
        )
        params["posted_at"] = posted_at
    levels = s.achievement_levels("tier_reached")
    params["tier_levels"] = [level for level, _ in levels]
    params["tier_points"] = [points for _, points in levels]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH q AS (
                SELECT e.account_id, sum(e.qualifying) AS q FROM loyalty_ledgerentry e
                WHERE e.state = 'posted' AND e.posted_at > %(t)s - make_interval(months => %(qmonths)s)
                  AND e.qualifying <> 0 {scope}
                GROUP BY e.account_id
            ), n AS (SELECT account_id, {_tier_case("q")} AS tier FROM q)
            UPDATE loyalty_account a SET tier = n.tier, tier_reached_at = %(t)s,
                tier_hold_until = %(t)s + make_interval(months => %(hold)s), tier_warned_at = NULL
            FROM n WHERE a.id = n.account_id
              AND array_position(%(tiers)s::text[], n.tier) > array_position(%(tiers)s::text[], a.tier)
            RETURNING a.id
            """,
            params,
        )
        upgraded = [row[0] for row in cursor.fetchall()]
        if upgraded:
            params["only_ids"] = upgraded
            _award(cursor, _tier_achievements_sql().format(only="AND a.id = ANY(%(only_ids)s)"), params, t)
            events_record([("loyalty.tier_upgraded", {"account": pk}) for pk in upgraded[:1000]])
    if upgraded:
        settle_debt(t=t, account_ids=upgraded)
    return len(upgraded)


# ---------------------------------------------------------------------------------------------
# The nightly recalculation: one local day's run, step by step, each step one transaction.


def _lock_accounts(cursor: object) -> None:
    # Writers of account rows (redemptions, refunds) wait for the step to commit, so a step's
    # aggregate over the ledger and its balance update see the same data. Readers are not blocked.
    cursor.execute("LOCK TABLE loyalty_account IN EXCLUSIVE MODE")


def step_approve(t: dt.datetime) -> int:
    """Pending entries past their return window become posted (credits start their expiry clock);
    balances and pending move by the same sums; debts are paid first; the accounts whose points
    were approved are upgraded at once (tiers skipped when earned)."""
    months = programme().expiry_months
    with connection.cursor() as cursor:
        _lock_accounts(cursor)
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS loyalty_approved (account_id bigint) ON COMMIT DROP")
        cursor.execute("TRUNCATE loyalty_approved")
        cursor.execute(
            """
            WITH due AS (
                UPDATE loyalty_ledgerentry SET state = 'posted', posted_at = %(t)s,
                    expires_at = CASE WHEN points > 0 THEN %(t)s + make_interval(months => %(months)s) END
                WHERE state = 'pending' AND available_at <= %(t)s
                RETURNING account_id, points
            ), per AS (SELECT account_id, sum(points) AS s FROM due GROUP BY account_id),
            upd AS (
                UPDATE loyalty_account a SET pending = a.pending - per.s, balance = a.balance + per.s
                FROM per WHERE a.id = per.account_id
                RETURNING a.id
            )
            INSERT INTO loyalty_approved SELECT id FROM upd
            """,
            {"t": t, "months": months},
        )
        count = cursor.rowcount
        cursor.execute("ANALYZE loyalty_approved")  # so the upgrade query knows how few they are
    settle_debt(t=t)
    if count:
        tiers_upgrade(t=t, approved=True)
    return count


def step_tiers(t: dt.datetime) -> int:
    """Upgrades for accounts with earnings posted at `t` (step_approve does this itself)."""
    return tiers_upgrade(t=t, posted_at=t)


def expire_points(*, t: dt.datetime, since: dt.datetime | None = None, account_ids: list[int] | None = None) -> int:
    """First-in-first-out expiry. What expires by `t` is what the batches expired by `t` brought
    minus everything ever taken out (spent net of give-backs, reversed, expired) — which, the
    balance being credits minus all that was taken out, equals

        balance - (posted credits whose batch expires after t)    when positive.

    Only accounts with a batch expiring in (since, t] can have something to expire (a give-back
    of spent points expires its account itself). Writing the `expired` entry makes a repeat
    find nothing."""
    params: dict = {"t": t}
    if since is None and account_ids is None:
        # Every account (the first run): one pass over the dated credits, grouped by account.
        due = """
            WITH per AS (
                SELECT account_id, coalesce(sum(points) FILTER (WHERE expires_at > %(t)s), 0) AS live,
                    bool_or(expires_at <= %(t)s) AS due
                FROM loyalty_ledgerentry WHERE expires_at IS NOT NULL AND state = 'posted'
                GROUP BY account_id
            ), e AS (
                SELECT a.id AS account_id, a.balance - per.live AS n
                FROM per JOIN loyalty_account a ON a.id = per.account_id
                WHERE per.due AND a.balance - per.live > 0
        """
    else:
        # The accounts with a batch expired in the window (an index range), then their live batches.
        scope = ""
        if since is not None:
            scope += " AND expires_at > %(since)s"
            params["since"] = since
        if account_ids is not None:
            scope += " AND account_id = ANY(%(ids)s)"
            params["ids"] = list(account_ids)
        due = f"""
            WITH cand AS (
                SELECT DISTINCT account_id FROM loyalty_ledgerentry WHERE expires_at <= %(t)s {scope}
            ), live AS (
                SELECT e.account_id, sum(e.points) AS s FROM loyalty_ledgerentry e
                WHERE e.expires_at > %(t)s AND e.state = 'posted' AND e.kind IN ('earned', 'bonus')
                  AND e.account_id IN (SELECT account_id FROM cand)
                GROUP BY e.account_id
            ), e AS (
                SELECT a.id AS account_id, a.balance - coalesce(live.s, 0) AS n
                FROM cand JOIN loyalty_account a ON a.id = cand.account_id
                LEFT JOIN live ON live.account_id = cand.account_id
                WHERE a.balance - coalesce(live.s, 0) > 0
        """
    with connection.cursor() as cursor:
        cursor.execute(
            due
            + """
            ), ins AS (
                INSERT INTO loyalty_ledgerentry (account_id, kind, state, points, qualifying, debt_change, source,
                    reference, reason, created_by, created_at, posted_at)
                SELECT account_id, 'expired', 'posted', -n, 0, 0, 'expiry', '', 'Points expired (oldest first)',
                    'nightly', %(t)s, %(t)s FROM e
            )
            UPDATE loyalty_account a SET balance = a.balance - e.n FROM e WHERE a.id = e.account_id
            """,
            params,
        )
        return cursor.rowcount


def step_expire(t: dt.datetime) -> int:
    """Expiry since the last finished nightly run (all batches when there was none)."""
    since = (
        NightlyRun.objects.filter(finished_at__isnull=False, as_of__lt=t)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    with connection.cursor() as cursor:
        _lock_accounts(cursor)
    return expire_points(t=t, since=since)


def step_anniversaries(t: dt.datetime) -> int:
    """At a tier's anniversary: kept (held another period) if the account still qualifies, else
    down one tier (held a period from now on). Scoops has no anniversary."""
    s = programme()
    params = _tier_params(s) | {"t": t}
    with connection.cursor() as cursor:
        _lock_accounts(cursor)
        cursor.execute(
            """
            WITH due AS (
                SELECT id, tier FROM loyalty_account WHERE tier_hold_until <= %(t)s AND tier <> 'scoops'
            ), q AS (
                SELECT due.id, due.tier, coalesce(sum(e.qualifying), 0) AS q
                FROM due LEFT JOIN loyalty_ledgerentry e ON e.account_id = due.id AND e.state = 'posted'
                    AND e.qualifying <> 0 AND e.posted_at > %(t)s - make_interval(months => %(qmonths)s)
                GROUP BY due.id, due.tier
            ), d AS (
                SELECT id, CASE tier WHEN 'diamond' THEN q >= %(diamond)s WHEN 'gold' THEN q >= %(gold)s
                    ELSE q >= %(silver)s END AS keeps
                FROM q
            )
            UPDATE loyalty_account a SET
                tier = CASE WHEN d.keeps THEN a.tier
                    ELSE (%(tiers)s::text[])[array_position(%(tiers)s::text[], a.tier) - 1] END,
                tier_reached_at = CASE WHEN d.keeps THEN a.tier_reached_at ELSE %(t)s END,
                tier_hold_until = CASE
                    WHEN NOT d.keeps AND a.tier = 'silver' THEN NULL
                    ELSE greatest(a.tier_hold_until + make_interval(months => %(hold)s),
                                  %(t)s + interval '1 day') END,
                tier_warned_at = NULL
            FROM d WHERE a.id = d.id
            """,
            params,
        )
        return cursor.rowcount


def step_warnings(t: dt.datetime) -> int:
    """30 days (by default) before the anniversary, accounts that would drop are warned once."""
    s = programme()
    params = _tier_params(s) | {"t": t, "days": s.tier_warning_days}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH due AS (
                SELECT id, tier FROM loyalty_account
                WHERE tier <> 'scoops' AND tier_warned_at IS NULL AND tier_hold_until > %(t)s
                  AND tier_hold_until <= %(t)s + make_interval(days => %(days)s)
            ), q AS (
                SELECT due.id, due.tier, coalesce(sum(e.qualifying), 0) AS q
                FROM due LEFT JOIN loyalty_ledgerentry e ON e.account_id = due.id AND e.state = 'posted'
                    AND e.qualifying <> 0 AND e.posted_at > %(t)s - make_interval(months => %(qmonths)s)
                GROUP BY due.id, due.tier
            )
            UPDATE loyalty_account a SET tier_warned_at = %(t)s FROM q
            WHERE a.id = q.id AND q.q < CASE q.tier WHEN 'diamond' THEN %(diamond)s WHEN 'gold' THEN %(gold)s
                ELSE %(silver)s END
            RETURNING a.id, a.tier, a.tier_hold_until
            """,
            params,
        )
        warned = cursor.fetchall()
    events_record(
        [
            ("loyalty.tier_warning", {"account": pk, "tier": tier, "anniversary": hold.isoformat()})
            for pk, tier, hold in warned[:1000]
        ]
    )
    return len(warned)


def step_referrals(t: dt.datetime) -> int:
    """Referrals whose friend's first paid order is past its return window: rewarded (the
    referrer's bonus), or refused when that order was cancelled/refunded or went to one of the
    referrer's delivery addresses. Then the referrer and referral-chain achievements."""
    s = programme()
    addr_o, addr_r = ADDRESS_SQL.format("o.delivery_address"), ADDRESS_SQL.format("ro.delivery_address")
    months = s.expiry_months
    with connection.cursor() as cursor:
        _lock_accounts(cursor)
        cursor.execute(
            f"""
            WITH first AS (
                SELECT r.id, r.referrer_id, o.status, o.number, {addr_o} AS addr, ra.user_id AS referrer_user
                FROM loyalty_referral r
                JOIN loyalty_account f ON f.id = r.friend_id
                JOIN loyalty_account ra ON ra.id = r.referrer_id
                JOIN LATERAL (
                    SELECT status, number, delivery_address, paid_at FROM orders_order
                    WHERE customer_id = f.user_id AND paid_at IS NOT NULL ORDER BY paid_at, id LIMIT 1
                ) o ON true
                WHERE r.status = 'pending' AND o.paid_at + make_interval(days => %(window)s) <= %(t)s
            ), decided AS (
                SELECT first.*, CASE
                    WHEN status IN ('cancelled', 'refunded') THEN 'first_order_not_kept'
                    WHEN addr <> '' AND EXISTS (
                        SELECT 1 FROM orders_order ro WHERE ro.customer_id = first.referrer_user
                          AND {addr_r} = first.addr) THEN 'self_referral'
                    ELSE '' END AS refusal
                FROM first
            ), upd AS (
                UPDATE loyalty_referral r SET
                    status = CASE WHEN d.refusal = '' THEN 'rewarded' ELSE 'refused' END,
                    refusal_reason = d.refusal, decided_at = %(t)s,
                    rewarded_at = CASE WHEN d.refusal = '' THEN %(t)s END
                FROM decided d WHERE r.id = d.id
                RETURNING r.id, r.referrer_id, d.refusal, d.number
            ), led AS (
                INSERT INTO loyalty_ledgerentry (account_id, kind, state, points, qualifying, debt_change, source,
                    reference, reason, created_by, created_at, posted_at, expires_at)
                SELECT referrer_id, 'bonus', 'posted', %(points)s, 0, 0, 'referral', 'referral:' || id,
                    'A friend you referred ordered (' || number || ')', 'nightly', %(t)s, %(t)s,
                    %(t)s + make_interval(months => %(months)s)
                FROM upd WHERE refusal = '' AND %(points)s > 0
                RETURNING account_id, points
            ), per AS (SELECT account_id, sum(points) AS s FROM led GROUP BY account_id),
            bal AS (UPDATE loyalty_account a SET balance = a.balance + per.s FROM per WHERE a.id = per.account_id)
            SELECT count(*) FROM upd
            """,
            {"t": t, "window": s.return_window_days, "points": s.referral_reward_points, "months": months},
        )
        decided = cursor.fetchone()[0]
        referral_achievements(cursor=cursor, t=t)
    settle_debt(t=t)
    return decided


def referral_achievements(*, cursor: object, t: dt.datetime, account_ids: list[int] | None = None) -> None:
    """`referrer` by rewarded friends; `referral_chain` by depth of the chain below the account
    (2: a friend of yours referred someone), through accepted referrals at any depth."""
    s = programme()
    for category, sql in (
        (
            "referrer",
            """SELECT r.referrer_id AS account_id, count(*) AS n FROM loyalty_referral r
               WHERE r.status = 'rewarded' {only} GROUP BY r.referrer_id""",
        ),
        (
            "referral_chain",
            """WITH RECURSIVE chain(root, node, depth) AS (
                   SELECT r.referrer_id, r.friend_id, 1 FROM loyalty_referral r
                   WHERE r.status <> 'refused' AND r.referrer_id IS NOT NULL {only}
                   UNION ALL
                   SELECT c.root, r.friend_id, c.depth + 1 FROM chain c
                   JOIN loyalty_referral r ON r.referrer_id = c.node AND r.status <> 'refused'
                   WHERE c.depth < 10
               ) SELECT root AS account_id, max(depth) AS n FROM chain GROUP BY root""",
        ),
    ):
        levels = s.achievement_levels(category)
        if not levels:
            continue
        only = "AND r.referrer_id = ANY(%(ids)s)" if account_ids is not None else ""
        candidates = f"""
            SELECT m.account_id, '{category}'::text AS category, lv.level::text AS level, lv.points::int AS points
            FROM ({sql.format(only=only)}) m
            JOIN unnest(%(levels)s::text[], %(points)s::int[]) AS lv(level, points) ON m.n >= lv.level::int
        """
        _award(
            cursor,
            candidates,
            {"levels": [lv for lv, _ in levels], "points": [p for _, p in levels], "ids": account_ids or []},
            t,
        )


def step_streaks(t: dt.datetime) -> int:
    """Week close: a streak whose last qualifying week is two weeks back uses its grace (once for
    that missed week) or ends; three or more weeks back it ends. Mirrors `derive_streak`."""
    current = week_of(t)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE loyalty_account SET
                streak_grace_available = CASE WHEN streak_last_week = %(two)s AND streak_grace_available
                    THEN false ELSE streak_grace_available END,
                streak_grace_used_week = CASE WHEN streak_last_week = %(two)s AND streak_grace_available
                    THEN %(one)s ELSE streak_grace_used_week END,
                streak_current = CASE WHEN streak_last_week = %(two)s AND streak_grace_available THEN streak_current
                    ELSE 0 END
            WHERE streak_current > 0 AND (
                streak_last_week < %(two)s
                OR (streak_last_week = %(two)s AND streak_grace_used_week IS DISTINCT FROM %(one)s))
            """,
            {"one": current - dt.timedelta(days=7), "two": current - dt.timedelta(days=14)},
        )
        return cursor.rowcount


NIGHTLY_STEPS = [
    ("approve", step_approve),  # and the upgrades it brings
    ("expire", step_expire),
    ("anniversaries", step_anniversaries),
    ("warnings", step_warnings),
    ("referrals", step_referrals),
    ("streaks", step_streaks),
]


def storage_ensure() -> None:
    """Room on each account page (fillfactor 70) so the nightly balance and streak updates stay
    HOT. Set by the migration; a tenant schema cloned from the base one does not copy storage
    parameters, so the nightly job sets it on its first run (new pages follow it). Only outside a
    transaction (ALTER TABLE refuses while deferred key checks are pending)."""
    if connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce('fillfactor=70' = ANY(reloptions), false) FROM pg_class "
            "WHERE oid = 'loyalty_account'::regclass"
        )
        if not cursor.fetchone()[0]:
            cursor.execute("ALTER TABLE loyalty_account SET (fillfactor = 70)")


def _advisory_key() -> int:
    digest = hashlib.sha256(f"loyalty-nightly:{connection.schema_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def loyalty_nightly(*, now: dt.datetime | None = None, force: bool = False) -> NightlyRun | None:
    """The nightly recalculation for this tenant, if it is due: from `nightly_hour` (03:00) local
    time, once per local day. Each step commits with its mark in the run row; a repeat finds the
    run finished, a resumed run (after a crash) does the steps not yet marked, with the same
    clock (`as_of`) as the first attempt."""
    now = now or timezone.now()
    s = programme()
    local = now.astimezone(_tz())
    if local.hour < s.nightly_hour and not force:
        return None
    run, _ = NightlyRun.objects.get_or_create(run_date=local.date(), defaults={"as_of": now})
    if run.finished_at is not None:
        return None
    storage_ensure()
    for name, step in NIGHTLY_STEPS:
        if name in run.steps_done:
            continue
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_advisory_key()])
                # Whole-table aggregates hash 1M accounts in memory rather than spilling to disk.
                cursor.execute("SET LOCAL work_mem = '256MB'")
            run = NightlyRun.objects.select_for_update().get(pk=run.pk)
            if name in run.steps_done:
                continue
            count = step(run.as_of)
            run.steps_done = [*run.steps_done, name]
            run.counts = {**run.counts, name: count}
            run.save(update_fields=["steps_done", "counts"])
    NightlyRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(finished_at=timezone.now())
    run.refresh_from_db()
    return run


# ---------------------------------------------------------------------------------------------
# Streaks


@dataclass(frozen=True)
class StreakState:
    current: int
    best: int
    grace_available: bool
    grace_used_week: dt.date | None
    start_week: dt.date | None
    last_week: dt.date | None
    at_risk: bool
    streaks: tuple[tuple[dt.date, int], ...]  # every streak (first week, qualifying weeks)


def derive_streak(weeks: Iterable[dt.date], current_week: dt.date) -> StreakState:
    """The streak from the set of qualifying weeks (Mondays). Consecutive week: +1. One missed week
    with the grace available: the streak goes on and the grace is used. Otherwise a new streak
    starts at the next qualifying week. The grace comes back after 4 qualifying weeks in a row.
    The current week is never missed: without an order yet it is 'at risk'."""
    ordered = sorted({w for w in weeks if w <= current_week})
    streaks: list[tuple[dt.date, int]] = []
    grace, grace_week = True, None
    start, length, run, prev = None, 0, 0, None
    for week in ordered:
        if prev is None:
            start, length, run = week, 1, 1
        else:
            gap = (week - prev).days // 7
            if gap == 1:
                length, run = length + 1, run + 1
            elif gap == 2 and grace:
                grace, grace_week = False, prev + dt.timedelta(days=7)
                length, run = length + 1, 1
            else:
                streaks.append((start, length))
                start, length, run = week, 1, 1
        if not grace and run >= 4:
            grace = True
        prev = week
    if prev is None:
        return StreakState(0, 0, True, None, None, None, False, ())
    gap = (current_week - prev).days // 7
    alive = gap <= 1
    if gap == 2 and grace:
        grace, grace_week, alive = False, prev + dt.timedelta(days=7), True
    streaks.append((start, length))
    best = max(n for _, n in streaks)
    return StreakState(
        current=length if alive else 0,
        best=best,
        grace_available=grace,
        grace_used_week=grace_week,
        start_week=start if alive else None,
        last_week=prev,
        at_risk=alive and prev != current_week,
        streaks=tuple(streaks),
    )


# ---------------------------------------------------------------------------------------------
# Per-customer evaluation: achievements and the streak (after each paid order or refund)


def _counted_orders(user_id: int) -> list[dict]:
    from apps.orders.models import Order

    rows = (
        Order.objects.filter(customer_id=user_id)
        .exclude(status__in=COUNTED_EXCLUDED)
        .exclude(paid_at__isnull=True, completed_at__isnull=True)
        .exclude(paid_at__isnull=True, on_account=False)
        .values("id", "paid_at", "completed_at", "subtotal", "discount", "tax", "prices_include_tax", "points_value")
    )
    out = []
    for row in rows:
        net = row["subtotal"] - row["discount"] - (row["tax"] if row["prices_include_tax"] else 0)
        out.append(row | {"at": row["paid_at"] or row["completed_at"], "net": max(net - row["points_value"], 0)})
    return sorted(out, key=lambda r: (r["at"], r["id"]))


def _root_categories() -> dict[int, int]:
    from apps.catalog.models import Category

    parents = dict(Category.objects.values_list("id", "parent_id"))
    roots = {}
    for cid in parents:
        node, seen = cid, set()
        while parents.get(node) and node not in seen:
            seen.add(node)
            node = parents[node]
        roots[cid] = node
    return roots


def _birthday_levels(birthday: dt.date | None, order_dates: list[dt.date], window: int) -> set[str]:
    if birthday is None:
        return set()
    levels = set()
    for day in order_dates:
        for year in (day.year - 1, day.year, day.year + 1):
            try:
                bday = birthday.replace(year=year)
            except ValueError:  # 29 February in a common year
                bday = dt.date(year, 2, 28)
            if abs((day - bday).days) <= window:
                levels.add(str(year))
    return levels


def _qualifying_levels(
    account: Account, orders: list[dict], streak: StreakState, now: dt.datetime
) -> dict[str, dict[str, int]]:
    """{category: {level: points}} the customer's orders qualify for now."""
    from apps.orders.models import OrderLine

    s = programme()
    tz = _tz()
    result: dict[str, dict[str, int]] = {}

    def numeric(category: str, value: Decimal | int) -> None:
        result[category] = {lv: p for lv, p in s.achievement_levels(category) if Decimal(value) >= Decimal(lv)}

    count = len(orders)
    numeric("first_order", count)
    numeric("order_count", count)
    numeric("lifetime_spend", sum((o["net"] for o in orders), Decimal("0")))
    big = any(o["net"] > s.big_basket_threshold for o in orders)
    result["big_basket"] = {lv: p for lv, p in s.achievement_levels("big_basket")} if big else {}
    numeric("weekly_streak", streak.best)

    ids = [o["id"] for o in orders]
    recent_ids = [o["id"] for o in orders if o["at"] >= now - dt.timedelta(days=s.category_diversity_days)]
    lines = list(
        OrderLine.objects.filter(order_id__in=ids).values_list(
            "order_id", "variant__product_id", "variant__product__category_id"
        )
    )
    roots = _root_categories() if lines else {}
    recent = set(recent_ids)
    diversity = {roots.get(cat, cat) for oid, _, cat in lines if oid in recent and cat is not None}
    numeric("category_diversity", len(diversity))
    numeric("product_explorer", len({pid for _, pid, _ in lines}))

    points = dict(s.achievement_levels("birthday_order")).get("1", 0)
    user_birthday = account.user.birthday
    dates = [o["at"].astimezone(tz).date() for o in orders]
    result["birthday_order"] = {lv: points for lv in _birthday_levels(user_birthday, dates, s.birthday_window_days)}

    campaigns = {}
    if ids:
        order_day = {o["id"]: o["at"].astimezone(tz).date() for o in orders}
        for campaign in Campaign.objects.filter(is_active=True).prefetch_related("products", "categories"):
            products = {p.pk for p in campaign.products.all()}
            categories = {c.pk for c in campaign.categories.all()}
            for oid, pid, cat in lines:
                in_dates = campaign.starts_on <= order_day[oid] <= campaign.ends_on
                if in_dates and (pid in products or cat in categories or roots.get(cat) in categories):
                    campaigns[campaign.slug] = campaign.points
                    break
    result["seasonal_campaign"] = campaigns
    return result


@transaction.atomic
def customer_evaluate(*, account: Account, now: dt.datetime | None = None) -> dict:
    """Recompute the streak from the qualifying weeks and award / take back achievement levels and
    streak bonuses. The account row is locked, and each level is unique per account, so two
    paid-order events evaluating at once award every level exactly once."""
    now = now or timezone.now()
    account = Account.objects.select_for_update().select_related("user").get(pk=account.pk)
    tz = _tz()
    orders = _counted_orders(account.user_id)
    streak = derive_streak([week_of(o["at"], tz) for o in orders], week_of(now, tz))
    Account.objects.filter(pk=account.pk).update(
        streak_current=streak.current,
        streak_best=max(streak.best, 0),
        streak_start_week=streak.start_week,
        streak_last_week=streak.last_week,
        streak_grace_available=streak.grace_available,
        streak_grace_used_week=streak.grace_used_week,
    )
    awarded, taken = _streak_bonuses(account, streak, now)
    qualifying = _qualifying_levels(account, orders, streak, now)
    held = {(a.category, a.level): a for a in Achievement.objects.filter(account=account, reversed_at__isnull=True)}
    new = [
        (account.pk, category, level, points)
        for category, levels in qualifying.items()
        for level, points in levels.items()
        if (category, level) not in held
    ]
    if new:
        params, rows = {}, []
        for n, (account_id, category, level, points) in enumerate(new):
            params |= {f"a{n}": account_id, f"c{n}": category, f"l{n}": level, f"p{n}": points}
            rows.append(f"(%(a{n})s::bigint, %(c{n})s::text, %(l{n})s::text, %(p{n})s::int)")
        candidates = f"SELECT * FROM (VALUES {', '.join(rows)}) AS c(account_id, category, level, points)"
        with connection.cursor() as cursor:
            awarded += len(_award(cursor, candidates, params, now))
    for (category, level), achievement in held.items():
        if category in ORDER_DERIVED and level not in qualifying.get(category, {}):
            taken += _take_back(account, f"achievement:{achievement.pk}", achievement.points, now, achievement)
    settle_debt(t=now, account_ids=[account.pk])
    return {"awarded": awarded, "taken_back": taken, "streak": streak.current}


def _take_back(account: Account, reference: str, points: int, now: dt.datetime, row: object) -> int:
    """Reverse a level or bonus whose points are still unspent (balance covers them)."""
    if points > 0:
        updated = Account.objects.filter(pk=account.pk, balance__gte=points).update(balance=F("balance") - points)
        if not updated:
            return 0  # already spent: the level stays
        _insert_entry(
            account_id=account.pk,
            kind=K.REVERSED,
            points=-points,
            t=now,
            source="achievement",
            reference=reference,
            reason=f"Taken back: {row} no longer reached",
        )
    type(row).objects.filter(pk=row.pk).update(reversed_at=now)
    return 1


def _streak_bonuses(account: Account, streak: StreakState, now: dt.datetime) -> tuple[int, int]:
    bonuses = {int(k): int(v) for k, v in (programme().streak_bonuses or {}).items()}
    valid = {(start, m) for start, length in streak.streaks for m in bonuses if length >= m}
    held = {
        (b.streak_start, b.milestone): b for b in StreakBonus.objects.filter(account=account, reversed_at__isnull=True)
    }
    awarded = taken = 0
    for start, milestone in sorted(valid - set(held)):
        with connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO loyalty_streakbonus (account_id, streak_start, milestone, points, awarded_at)
                   VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (account_id, streak_start, milestone) DO UPDATE SET reversed_at = NULL,
                       awarded_at = EXCLUDED.awarded_at WHERE loyalty_streakbonus.reversed_at IS NOT NULL
                   RETURNING id""",
                [account.pk, start, milestone, bonuses[milestone], now],
            )
            row = cursor.fetchone()
        if row:
            _credit(
                account_id=account.pk,
                points=bonuses[milestone],
                source="streak",
                reference=f"streak:{row[0]}",
                reason=f"{milestone} weeks in a row (streak from {start})",
                t=now,
            )
            awarded += 1
    for key, bonus in held.items():
        if key not in valid:
            taken += _take_back(account, f"streak:{bonus.pk}", bonus.points, now, bonus)
    return awarded, taken


# ---------------------------------------------------------------------------------------------
# Referrals and sign-up


def _refuse(referrer: Account | None, friend: Account, reason: str, token: str, t: dt.datetime) -> Referral:
    return Referral.objects.create(
        referrer=referrer,
        friend=friend,
        status=Referral.Status.REFUSED,
        refusal_reason=reason,
        token_used=token[:64],
        created_at=t,
        decided_at=t,
    )


@transaction.atomic
def referral_register(*, user: object, token: str, already_customer: bool = False) -> Referral | None:
    """The new customer signed up with a share token: linked to the referrer with a welcome bonus,
    or refused (recorded with its reason): unknown token, self-referral (same normalised e-mail or
    phone), the referrer's monthly cap, or a friend who was already a customer."""
    friend = account_ensure(user=user)
    token = (token or "").strip()
    if friend is None or not token:
        return None
    t = timezone.now()
    referrer = Account.objects.select_related("user").filter(share_token=token).first()
    if referrer is None:
        return _refuse(None, friend, Referral.Refusal.UNKNOWN_TOKEN, token, t)
    Account.objects.select_for_update().filter(pk=referrer.pk).first()  # serialise the monthly cap
    ref_user = referrer.user
    same_email = normalise_email(ref_user.email or "") == normalise_email(user.email or "")
    phone = normalise_phone(user.phone)
    if referrer.pk == friend.pk or same_email or (phone and phone == normalise_phone(ref_user.phone)):
        return _refuse(referrer, friend, Referral.Refusal.SELF_REFERRAL, token, t)
    if already_customer or Referral.objects.filter(friend=friend).exclude(status=Referral.Status.REFUSED).exists():
        return _refuse(referrer, friend, Referral.Refusal.ALREADY_CUSTOMER, token, t)
    local = t.astimezone(_tz())
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    made = (
        Referral.objects.filter(referrer=referrer, created_at__gte=month_start)
        .exclude(status=Referral.Status.REFUSED)
        .count()
    )
    s = programme()
    if made >= s.referral_monthly_cap:
        return _refuse(referrer, friend, Referral.Refusal.MONTHLY_CAP, token, t)
    referral = Referral.objects.create(referrer=referrer, friend=friend, token_used=token[:64], created_at=t)
    _credit(
        account_id=friend.pk,
        points=s.referral_welcome_points,
        source="referral",
        reference=f"referral:{referral.pk}",
        reason="Welcome bonus: you were referred by a friend",
        t=t,
    )
    with connection.cursor() as cursor:  # the chain above may have grown a level
        ancestors = _ancestors(referrer.pk)
        referral_achievements(cursor=cursor, t=t, account_ids=ancestors)
    return referral


def _ancestors(account_id: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH RECURSIVE up(id, depth) AS (
                   SELECT %s::bigint, 0
                   UNION ALL
                   SELECT r.referrer_id, up.depth + 1 FROM up JOIN loyalty_referral r ON r.friend_id = up.id
                   WHERE r.status <> 'refused' AND r.referrer_id IS NOT NULL AND up.depth < 10
               ) SELECT id FROM up""",
            [account_id],
        )
        return [row[0] for row in cursor.fetchall()]


@transaction.atomic
def customer_registered(*, user: object, referral_token: str = "") -> Account | None:
    """A retail customer just signed up: their account, and the referral if they came with a token."""
    account = account_ensure(user=user)
    if referral_token:
        referral_register(user=user, token=referral_token)
    return account


@transaction.atomic
def guest_upgraded(*, user: object, referral_token: str = "") -> Account | None:
    """A guest became a retail customer: an account, whose earlier paid orders now earn (pending
    by their return window, like any order). A guest with paid orders was already a customer, so a
    share token is refused for them."""
    from apps.orders.models import Order

    account = account_ensure(user=user)
    if account is None:
        return None
    paid = list(
        Order.objects.filter(customer_id=user.pk, paid_at__isnull=False)
        .exclude(status__in=COUNTED_EXCLUDED)
        .order_by("paid_at")
    )
    for order in paid:
        points_earn_for_order(order=order)
    if referral_token:
        referral_register(user=user, token=referral_token, already_customer=bool(paid))
    _evaluate_later(account.pk)
    return account


def account_for_user_or_404(user: object) -> Account:
    account = account_ensure(user=user)
    if account is None:
        raise NoLoyaltyAccount()
    return account


def ledger_sums(account: Account) -> dict:
    """The ledger's own totals for an account (what the columns must equal)."""
    posted = LedgerEntry.objects.filter(account=account, state="posted").aggregate(s=Sum("points"))["s"] or 0
    pending = LedgerEntry.objects.filter(account=account, state="pending").aggregate(s=Sum("points"))["s"] or 0
    debt = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("debt_change"))["s"] or 0
    return {"balance": posted, "pending": pending, "debt": debt}
