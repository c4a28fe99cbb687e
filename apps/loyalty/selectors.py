"""Reads of the loyalty programme, for the API, the admin and other apps (promotions read tiers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.utils import timezone

from apps.loyalty.models import TIERS, Account, Achievement, LedgerEntry, Referral
from apps.loyalty.services import derive_streak, programme, week_of


def _account_of(user: object) -> Account | None:
    if user is None or getattr(user, "pk", None) is None:
        return None
    cached = getattr(user, "_loyalty_account", None)
    if cached is None:
        cached = Account.objects.filter(user_id=user.pk).first() or False
        user._loyalty_account = cached
    return cached or None


def customer_tier(*, user: object) -> str | None:
    """'scoops' | 'silver' | 'gold' | 'diamond', or None when the user has no loyalty account."""
    account = _account_of(user)
    return account.tier if account else None


def tier_benefits(*, user: object) -> dict | None:
    """What the customer's tier gives: earn multiplier, free-delivery threshold (None: none), perks.
    None when the user has no account."""
    account = _account_of(user)
    if account is None:
        return None
    return benefits_of(account.tier)


def benefits_of(tier: str) -> dict:
    s = programme()
    return {
        "tier": tier,
        "earn_multiplier": getattr(s, f"{tier}_multiplier"),
        "free_delivery_over": getattr(s, f"{tier}_free_delivery_over"),
        "perks": getattr(s, f"{tier}_perks"),
    }


def qualifying_points(account: Account, now: dt.datetime | None = None) -> int:
    from dateutil.relativedelta import relativedelta

    now = now or timezone.now()
    since = now - relativedelta(months=programme().qualifying_months)
    total = LedgerEntry.objects.filter(account=account, state="posted", posted_at__gt=since).aggregate(
        s=Sum("qualifying")
    )["s"]
    return int(total or 0)


def account_summary(account: Account) -> dict:
    """Balance, pending, debt, tier, progress to the next tier, hold and warning."""
    s = programme()
    q = qualifying_points(account)
    index = TIERS.index(account.tier)
    next_tier = TIERS[index + 1] if index + 1 < len(TIERS) else None
    next_threshold = s.threshold(next_tier) if next_tier else None
    keep = s.threshold(account.tier)
    return {
        "balance": account.balance,
        "pending": account.pending,
        "debt": account.debt,
        "value": (Decimal(account.balance) / Decimal(s.redeem_points_per_unit)).quantize(Decimal("0.01")),
        "tier": account.tier,
        "benefits": benefits_of(account.tier),
        "qualifying_points": q,
        "next_tier": next_tier,
        "next_tier_threshold": next_threshold,
        "points_to_next_tier": max(next_threshold - q, 0) if next_threshold is not None else None,
        "tier_reached_at": account.tier_reached_at,
        "tier_expires_at": account.tier_hold_until,
        "points_to_keep_tier": max(keep - q, 0),
        "tier_warning": account.tier_warned_at is not None,
        "tier_warned_at": account.tier_warned_at,
        "share_token": account.share_token,
    }


def ledger_list(*, account: Account) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(account=account).select_related("order").order_by("-created_at", "-id")


def streak_summary(account: Account, now: dt.datetime | None = None) -> dict:
    """The streak as of now, derived from the stored qualifying-week state (kept by every order
    event and the week close)."""
    now = now or timezone.now()
    current = week_of(now)
    at_risk = bool(account.streak_current) and account.streak_last_week != current
    return {
        "current": account.streak_current,
        "best": account.streak_best,
        "grace_available": account.streak_grace_available,
        "grace_used_week": account.streak_grace_used_week,
        "last_qualifying_week": account.streak_last_week,
        "current_week": current,
        "at_risk": at_risk,
        "at_risk_week": current if at_risk else None,
    }


def achievements_summary(account: Account) -> dict:
    """Earned levels with dates, and the next level of each category with progress."""
    from apps.loyalty.services import _counted_orders, _qualifying_levels

    s = programme()
    earned = list(Achievement.objects.filter(account=account, reversed_at__isnull=True).order_by("awarded_at", "id"))
    held = {(a.category, a.level) for a in earned}
    orders = _counted_orders(account.user_id)
    now = timezone.now()
    streak = derive_streak([week_of(o["at"]) for o in orders], week_of(now))
    progress_values = {
        "first_order": len(orders),
        "order_count": len(orders),
        "lifetime_spend": sum((o["net"] for o in orders), Decimal("0")),
        "weekly_streak": streak.best,
        "referrer": Referral.objects.filter(referrer=account, status="rewarded").count(),
        "tier_reached": TIERS.index(account.tier),
    }
    qualifying = _qualifying_levels(account, orders, streak, now) if orders else {}
    progress_values["category_diversity"] = len(qualifying.get("category_diversity", {}))
    categories = []
    for category, label in Achievement.Category.choices:
        levels = s.achievement_levels(category)
        nxt = next(((lv, p) for lv, p in levels if (category, lv) not in held), None)
        value = progress_values.get(category)
        if category == "product_explorer" and orders:
            from apps.orders.models import OrderLine

            value = (
                OrderLine.objects.filter(order_id__in=[o["id"] for o in orders])
                .values("variant__product_id")
                .distinct()
                .count()
            )
        target = nxt[0] if nxt else None
        if category == "tier_reached" and nxt:
            target = TIERS.index(nxt[0])
        categories.append(
            {
                "category": category,
                "name": label,
                "next_level": nxt[0] if nxt else None,
                "next_points": nxt[1] if nxt else None,
                "progress": str(value) if value is not None else None,
                "target": str(target) if target is not None else None,
            }
        )
    return {
        "earned": [
            {"category": a.category, "level": a.level, "points": a.points, "awarded_at": a.awarded_at} for a in earned
        ],
        "categories": categories,
    }


def referral_list(*, account: Account) -> QuerySet[Referral]:
    return Referral.objects.filter(referrer=account).select_related("friend__user").order_by("-created_at", "-id")


def account_list() -> QuerySet[Account]:
    return Account.objects.select_related("user").order_by("-id")
