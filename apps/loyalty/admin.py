"""Loyalty admin: the programme settings (one row per tenant), accounts with their ledger (read
only) and manual adjustments made through the service, achievements, referrals, campaigns."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from apps.core.errors import ApplicationError
from apps.loyalty import services
from apps.loyalty.models import (
    Account,
    Achievement,
    Campaign,
    LedgerEntry,
    NightlyRun,
    ProgrammeSettings,
    Referral,
    StreakBonus,
)


@admin.register(ProgrammeSettings)
class ProgrammeSettingsAdmin(admin.ModelAdmin):
    fieldsets = [
        ("Earning", {"fields": ["earn_points_per_unit", "return_window_days", "expiry_months"]}),
        ("Redemption", {"fields": ["redeem_points_per_unit", "redeem_max_share"]}),
        (
            "Tiers",
            {
                "fields": [
                    ("silver_threshold", "gold_threshold", "diamond_threshold"),
                    ("qualifying_months", "tier_hold_months", "tier_warning_days"),
                    ("scoops_multiplier", "silver_multiplier", "gold_multiplier", "diamond_multiplier"),
                    (
                        "scoops_free_delivery_over",
                        "silver_free_delivery_over",
                        "gold_free_delivery_over",
                        "diamond_free_delivery_over",
                    ),
                    "scoops_perks",
                    "silver_perks",
                    "gold_perks",
                    "diamond_perks",
                ]
            },
        ),
        ("Referrals", {"fields": ["referral_welcome_points", "referral_reward_points", "referral_monthly_cap"]}),
        (
            "Achievements and streaks",
            {
                "fields": [
                    "birthday_window_days",
                    "big_basket_threshold",
                    "category_diversity_days",
                    "achievements",
                    "streak_bonuses",
                ]
            },
        ),
        ("Nightly job", {"fields": ["nightly_hour"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ProgrammeSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class LedgerInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "state", "points", "qualifying", "debt_change", "source", "reason", "order"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AdjustmentForm(forms.ModelForm):
    adjust_points = forms.IntegerField(
        required=False, min_value=-1_000_000, max_value=1_000_000, help_text="Positive adds, negative removes."
    )
    adjust_reason = forms.CharField(required=False, max_length=300)

    class Meta:
        model = Account
        fields: list[str] = []

    def clean(self) -> dict:
        data = super().clean()
        if data.get("adjust_points") and not (data.get("adjust_reason") or "").strip():
            self.add_error("adjust_reason", "Give a reason for the adjustment.")
        return data


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """Accounts change only through the services: the adjustment fields call `points_adjust`."""

    form = AdjustmentForm
    list_display = ["user", "tier", "balance", "pending", "debt", "tier_hold_until", "streak_current"]
    list_filter = ["tier"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in Account._meta.fields if f.name != "id"]
    fieldsets = [
        (None, {"fields": readonly_fields}),
        ("Manual adjustment", {"fields": ["adjust_points", "adjust_reason"]}),
    ]
    inlines = [LedgerInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Account, form: AdjustmentForm, change: bool) -> None:
        points = form.cleaned_data.get("adjust_points")
        if not points:
            return
        try:
            services.points_adjust(account=obj, points=points, reason=form.cleaned_data["adjust_reason"])
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)


@admin.register(Achievement)
class AchievementAdmin(admin.ModelAdmin):
    list_display = ["account", "category", "level", "points", "awarded_at", "reversed_at"]
    list_filter = ["category"]
    search_fields = ["account__user__email"]
    readonly_fields = [f.name for f in Achievement._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(StreakBonus)
class StreakBonusAdmin(admin.ModelAdmin):
    list_display = ["account", "streak_start", "milestone", "points", "awarded_at", "reversed_at"]
    readonly_fields = [f.name for f in StreakBonus._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = ["referrer", "friend", "status", "refusal_reason", "created_at", "rewarded_at"]
    list_filter = ["status", "refusal_reason"]
    readonly_fields = [f.name for f in Referral._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "starts_on", "ends_on", "points", "is_active"]
    filter_horizontal = ["products", "categories"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(NightlyRun)
class NightlyRunAdmin(admin.ModelAdmin):
    list_display = ["run_date", "as_of", "steps_done", "finished_at"]
    readonly_fields = [f.name for f in NightlyRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
