from decimal import Decimal

from rest_framework import serializers

from apps.core.api.fields import StrictIntegerField
from apps.loyalty.models import Achievement, LedgerEntry, Referral, Tier


class BenefitsSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices)
    earn_multiplier = serializers.DecimalField(max_digits=4, decimal_places=2)
    free_delivery_over = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="Free delivery from this order total; null: none."
    )
    perks = serializers.CharField()


class AccountSerializer(serializers.Serializer):
    balance = serializers.IntegerField(help_text="Spendable points.")
    pending = serializers.IntegerField(help_text="Earned, approved once the orders' return windows pass.")
    debt = serializers.IntegerField(help_text="Points owed after a refund; later earnings pay it first.")
    value = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="What the balance pays.")
    tier = serializers.ChoiceField(choices=Tier.choices)
    benefits = BenefitsSerializer()
    qualifying_points = serializers.IntegerField(help_text="Approved in the qualifying window (12 months).")
    next_tier = serializers.ChoiceField(choices=Tier.choices, allow_null=True)
    next_tier_threshold = serializers.IntegerField(allow_null=True)
    points_to_next_tier = serializers.IntegerField(allow_null=True)
    tier_reached_at = serializers.DateTimeField(allow_null=True)
    tier_expires_at = serializers.DateTimeField(allow_null=True, help_text="The tier's anniversary.")
    points_to_keep_tier = serializers.IntegerField()
    tier_warning = serializers.BooleanField(help_text="Warned: the tier drops at its anniversary unless kept.")
    tier_warned_at = serializers.DateTimeField(allow_null=True)


class StaffAccountSerializer(AccountSerializer):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    email = serializers.EmailField(allow_null=True)


class AccountRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField(source="user_id")
    email = serializers.EmailField(source="user.email", allow_null=True)
    balance = serializers.IntegerField()
    pending = serializers.IntegerField()
    tier = serializers.ChoiceField(choices=Tier.choices)


class LedgerEntrySerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", allow_null=True, default=None)

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "kind",
            "state",
            "points",
            "source",
            "reason",
            "order",
            "created_at",
            "posted_at",
            "expires_at",
        ]


class EarnedAchievementSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Achievement.Category.choices)
    level = serializers.CharField()
    points = serializers.IntegerField()
    awarded_at = serializers.DateTimeField()


class CategoryProgressSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Achievement.Category.choices)
    name = serializers.CharField()
    next_level = serializers.CharField(allow_null=True)
    next_points = serializers.IntegerField(allow_null=True)
    progress = serializers.CharField(allow_null=True, help_text="Where the customer stands (count, amount, weeks).")
    target = serializers.CharField(allow_null=True)


class AchievementsSerializer(serializers.Serializer):
    earned = EarnedAchievementSerializer(many=True)
    categories = CategoryProgressSerializer(many=True)


class StreakSerializer(serializers.Serializer):
    current = serializers.IntegerField()
    best = serializers.IntegerField()
    grace_available = serializers.BooleanField()
    grace_used_week = serializers.DateField(allow_null=True)
    last_qualifying_week = serializers.DateField(allow_null=True)
    current_week = serializers.DateField(help_text="Monday of this week (tenant time).")
    at_risk = serializers.BooleanField(help_text="The streak goes on only with an order this week.")
    at_risk_week = serializers.DateField(allow_null=True)


class ReferralLinkSerializer(serializers.Serializer):
    token = serializers.CharField()
    link = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReferralSerializer(serializers.ModelSerializer):
    friend_first_name = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = ["id", "status", "refusal_reason", "friend_first_name", "created_at", "rewarded_at"]

    def get_friend_first_name(self, obj: Referral) -> str:
        return (obj.friend.user.full_name or "").split(" ")[0][:40]


class QuoteQuerySerializer(serializers.Serializer):
    points = StrictIntegerField(min_value=0, required=False, default=None, allow_null=True)
    order_total = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        max_value=Decimal("9999999999.99"),
        required=False,
        default=None,
        allow_null=True,
    )


class QuoteSerializer(serializers.Serializer):
    balance = serializers.IntegerField()
    points_per_unit = serializers.IntegerField(help_text="Points that pay 1.00.")
    max_share = serializers.DecimalField(max_digits=3, decimal_places=2)
    max_points = serializers.IntegerField(help_text="The most that can be spent (balance, and the order cap).")
    points = serializers.IntegerField(help_text="What would be spent of the points asked.")
    value = serializers.DecimalField(max_digits=12, decimal_places=2)


class LedgerQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LedgerEntry.Kind.choices, required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class PointsAdjustmentSerializer(serializers.Serializer):
    points = StrictIntegerField(
        min_value=-1_000_000, max_value=1_000_000, help_text="Positive adds, negative removes."
    )
    reason = serializers.CharField(max_length=300)
