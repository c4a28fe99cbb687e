"""Loyalty: one points account per customer, an append-only ledger, tiers, achievements, streaks
and referrals. Every write goes through apps.loyalty.services; the nightly job is set-based SQL.

Invariants (checked by tests and by the constraints below):
* `Account.balance` = sum of the account's *posted* ledger points, kept in the same transaction;
  never below zero.
* `Account.pending` = sum of its *pending* ledger points (earned, not yet past the return window).
* `Account.debt` = sum of the ledger's `debt_change` (a reversal that found too few points).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

TIERS = ("scoops", "silver", "gold", "diamond")


class Tier(models.TextChoices):
    SCOOPS = "scoops", "Scoops"
    SILVER = "silver", "Silver"
    GOLD = "gold", "Gold"
    DIAMOND = "diamond", "Diamond"


DEFAULT_ACHIEVEMENTS = {
    # category: {"levels": [...], "points": [...]} (one points value per level)
    "first_order": {"levels": [1], "points": [50]},
    "order_count": {"levels": [5, 10, 25, 50, 100], "points": [50, 100, 250, 500, 1000]},
    "lifetime_spend": {"levels": [100, 500, 1000, 5000], "points": [50, 150, 300, 1000]},
    "big_basket": {"levels": [1], "points": [100]},
    "category_diversity": {"levels": [3, 5], "points": [75, 150]},
    "product_explorer": {"levels": [5, 10, 25, 50], "points": [25, 50, 125, 250]},
    "weekly_streak": {"levels": [4, 8, 12, 26, 52], "points": [50, 100, 150, 400, 1000]},
    "birthday_order": {"levels": [1], "points": [100]},
    "referrer": {"levels": [1, 3, 10], "points": [50, 150, 500]},
    "referral_chain": {"levels": [2, 3], "points": [100, 250]},
    "tier_reached": {"levels": ["silver", "gold", "diamond"], "points": [100, 250, 500]},
    "seasonal_campaign": {"levels": [], "points": []},  # one level per campaign, its own points
}
DEFAULT_STREAK_BONUSES = {"4": 40, "8": 80, "12": 120, "26": 300, "52": 800}


def _default_achievements() -> dict:
    return {key: dict(value) for key, value in DEFAULT_ACHIEVEMENTS.items()}


def _default_streak_bonuses() -> dict:
    return dict(DEFAULT_STREAK_BONUSES)


class ProgrammeSettings(models.Model):
    """The tenant's programme (one row, pk=1). Changing thresholds never downgrades a held tier."""

    earn_points_per_unit = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(0)],
        help_text="Points per 1.00 of net amount paid (after discounts, before tax and delivery).",
    )
    return_window_days = models.PositiveSmallIntegerField(
        default=30, help_text="Earned points are pending this long after payment, then approved."
    )
    expiry_months = models.PositiveSmallIntegerField(default=12, validators=[MinValueValidator(1)])
    redeem_points_per_unit = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(1)], help_text="Points that pay 1.00 of an order."
    )
    redeem_max_share = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=[MinValueValidator(0), MaxValueValidator(Decimal("0.90"))],
        help_text="At most this share of an order's total is paid with points.",
    )
    silver_threshold = models.PositiveIntegerField(default=1_000)
    gold_threshold = models.PositiveIntegerField(default=5_000)
    diamond_threshold = models.PositiveIntegerField(default=15_000)
    qualifying_months = models.PositiveSmallIntegerField(default=12, validators=[MinValueValidator(1)])
    tier_hold_months = models.PositiveSmallIntegerField(default=12, validators=[MinValueValidator(1)])
    tier_warning_days = models.PositiveSmallIntegerField(default=30)
    scoops_multiplier = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal("1.00"))
    silver_multiplier = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal("1.25"))
    gold_multiplier = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal("1.50"))
    diamond_multiplier = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal("2.00"))
    scoops_free_delivery_over = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    silver_free_delivery_over = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, default=Decimal("75.00")
    )
    gold_free_delivery_over = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, default=Decimal("40.00")
    )
    diamond_free_delivery_over = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, default=Decimal("0.00")
    )
    scoops_perks = models.CharField(max_length=500, blank=True, default="Points on every order.")
    silver_perks = models.CharField(max_length=500, blank=True, default="1.25x points, free delivery over 75.")
    gold_perks = models.CharField(
        max_length=500, blank=True, default="1.5x points, free delivery over 40, early access."
    )
    diamond_perks = models.CharField(
        max_length=500, blank=True, default="2x points, free delivery, early access, birthday gift."
    )
    referral_welcome_points = models.PositiveIntegerField(default=200)
    referral_reward_points = models.PositiveIntegerField(default=500)
    referral_monthly_cap = models.PositiveSmallIntegerField(default=5)
    birthday_window_days = models.PositiveSmallIntegerField(default=7)
    big_basket_threshold = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("100.00"))
    category_diversity_days = models.PositiveSmallIntegerField(default=90)
    achievements = models.JSONField(
        default=_default_achievements, help_text="Levels and points per achievement category."
    )
    streak_bonuses = models.JSONField(
        default=_default_streak_bonuses, help_text="Weeks in a row -> bonus points, paid once per streak."
    )
    nightly_hour = models.PositiveSmallIntegerField(
        default=3, validators=[MaxValueValidator(23)], help_text="Local hour of the nightly recalculation."
    )

    class Meta:
        verbose_name = "programme settings"
        verbose_name_plural = "programme settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="loyalty_settings_singleton")]

    def __str__(self) -> str:
        return "Loyalty programme settings"

    def threshold(self, tier: str) -> int:
        return 0 if tier == Tier.SCOOPS else getattr(self, f"{tier}_threshold")

    def multiplier(self, tier: str) -> Decimal:
        return getattr(self, f"{tier}_multiplier")

    def achievement_levels(self, category: str) -> list[tuple[str, int]]:
        spec = {**DEFAULT_ACHIEVEMENTS, **(self.achievements or {})}.get(category) or {"levels": [], "points": []}
        return [(str(level), int(points)) for level, points in zip(spec["levels"], spec["points"], strict=False)]


class Account(models.Model):
    # A foreign key made unique by the constraint below rather than a one-to-one field: the audit
    # log diffs every reverse one-to-one of a saved user, which would query this tenant table
    # on each user save (and fail for platform operators in the public schema).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="loyalty_accounts", db_index=False
    )
    balance = models.BigIntegerField(default=0, help_text="Spendable points: the sum of the posted ledger.")
    pending = models.BigIntegerField(default=0, help_text="Earned, waiting for the orders' return windows.")
    debt = models.BigIntegerField(default=0, help_text="Points reversed beyond the balance; paid by later earnings.")
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.SCOOPS)
    tier_reached_at = models.DateTimeField(null=True, blank=True)
    tier_hold_until = models.DateTimeField(null=True, blank=True, help_text="The tier's anniversary.")
    tier_warned_at = models.DateTimeField(null=True, blank=True)
    share_token = models.CharField(max_length=64, unique=True)
    share_token_created_at = models.DateTimeField()
    streak_current = models.PositiveIntegerField(default=0)
    streak_best = models.PositiveIntegerField(default=0)
    streak_start_week = models.DateField(null=True, blank=True)
    streak_last_week = models.DateField(null=True, blank=True, help_text="Monday of the last qualifying week.")
    streak_grace_available = models.BooleanField(default=True)
    streak_grace_used_week = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user"], name="loyalty_one_account_per_user"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_balance_not_negative"),
            models.CheckConstraint(condition=Q(pending__gte=0), name="loyalty_pending_not_negative"),
            models.CheckConstraint(condition=Q(debt__gte=0), name="loyalty_debt_not_negative"),
        ]
        indexes = [models.Index(fields=["tier_hold_until"], name="loyalty_acct_hold_idx")]

    def __str__(self) -> str:
        return f"points of {self.user}"


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        EARNED = "earned", "Earned"
        BONUS = "bonus", "Bonus"
        REDEEMED = "redeemed", "Redeemed"
        EXPIRED = "expired", "Expired"
        REVERSED = "reversed", "Reversed"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        POSTED = "posted", "Posted"

    # Few indexes on purpose: every ledger write pays for each (the account's lookups use the
    # (account, created_at) index; the order's a partial one).
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.POSTED)
    points = models.BigIntegerField(help_text="Effect on the balance (pending entries: once approved).")
    qualifying = models.BigIntegerField(default=0, help_text="Effect on the tier's qualifying points.")
    debt_change = models.BigIntegerField(default=0)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    source = models.CharField(max_length=24, blank=True, help_text="order, refund, achievement, streak, ...")
    reference = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    available_at = models.DateTimeField(null=True, blank=True, help_text="Pending: approvable from then.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Credits: the batch expires then.")
    created_at = models.DateTimeField()
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["account", "created_at"], name="loyalty_entry_acct_idx"),
            models.Index(fields=["order"], condition=Q(order__isnull=False), name="loyalty_entry_order_idx"),
            models.Index(fields=["available_at"], condition=Q(state="pending"), name="loyalty_entry_pending_idx"),
            models.Index(
                fields=["expires_at"], condition=Q(expires_at__isnull=False), name="loyalty_entry_expiry_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(kind="earned"), name="loyalty_one_earn_per_order"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d} ({self.state})"


class Achievement(models.Model):
    class Category(models.TextChoices):
        FIRST_ORDER = "first_order", "First order"
        ORDER_COUNT = "order_count", "Order count"
        LIFETIME_SPEND = "lifetime_spend", "Lifetime spend"
        BIG_BASKET = "big_basket", "Big basket"
        CATEGORY_DIVERSITY = "category_diversity", "Category diversity"
        PRODUCT_EXPLORER = "product_explorer", "Product explorer"
        WEEKLY_STREAK = "weekly_streak", "Weekly streak"
        BIRTHDAY_ORDER = "birthday_order", "Birthday order"
        REFERRER = "referrer", "Referrer"
        REFERRAL_CHAIN = "referral_chain", "Referral chain"
        TIER_REACHED = "tier_reached", "Tier reached"
        SEASONAL_CAMPAIGN = "seasonal_campaign", "Seasonal campaign order"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="achievements")
    category = models.CharField(max_length=24, choices=Category.choices)
    level = models.CharField(max_length=32)
    points = models.PositiveIntegerField(default=0)
    awarded_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-awarded_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "category", "level"], name="loyalty_achievement_once")
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.level}"


class StreakBonus(models.Model):
    """A streak milestone paid once per streak (a streak is named by its first week)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="streak_bonuses")
    streak_start = models.DateField()
    milestone = models.PositiveSmallIntegerField()
    points = models.PositiveIntegerField()
    awarded_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "streak_start", "milestone"], name="loyalty_streak_bonus_once")
        ]

    def __str__(self) -> str:
        return f"{self.milestone} weeks from {self.streak_start}"


class Referral(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the friend's first order"
        REWARDED = "rewarded", "Rewarded"
        REFUSED = "refused", "Refused"

    class Refusal(models.TextChoices):
        UNKNOWN_TOKEN = "unknown_token", "Unknown or revoked share token"
        SELF_REFERRAL = "self_referral", "Same person (e-mail, phone or address)"
        MONTHLY_CAP = "monthly_cap", "The referrer reached this month's cap"
        ALREADY_CUSTOMER = "already_customer", "The friend was already a customer"
        FIRST_ORDER_NOT_KEPT = "first_order_not_kept", "The friend's first order was cancelled or refunded"

    referrer = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals_made"
    )
    friend = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="referrals_received")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    refusal_reason = models.CharField(max_length=24, choices=Refusal.choices, blank=True)
    token_used = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    rewarded_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["referrer", "created_at"], name="loyalty_referral_referrer_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["friend"], condition=~Q(status="refused"), name="loyalty_one_referrer_per_friend"
            )
        ]

    def __str__(self) -> str:
        return f"referral {self.pk} ({self.status})"


class Campaign(models.Model):
    """A seasonal campaign: an order inside its dates (tenant time) with one of its products or
    categories earns its achievement level once."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=32, unique=True)
    starts_on = models.DateField()
    ends_on = models.DateField()
    points = models.PositiveIntegerField(default=100)
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="+")
    categories = models.ManyToManyField("catalog.Category", blank=True, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-starts_on"]

    def __str__(self) -> str:
        return self.name


class NightlyRun(models.Model):
    """The run marker of one local day's recalculation: its fixed clock (`as_of`) and the steps
    done, so a repeat does nothing and a resumed run continues where the crash left it."""

    run_date = models.DateField(unique=True)
    as_of = models.DateTimeField()
    steps_done = models.JSONField(default=list)
    counts = models.JSONField(default=dict)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-run_date"]

    def __str__(self) -> str:
        return f"nightly {self.run_date}"
