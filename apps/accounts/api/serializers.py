from rest_framework import serializers

from apps.accounts.models import ApiKey, AuthSession, User, UserKind, WholesaleAccount
from apps.accounts.policy import API_KEY_SCOPES


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Bearer token for `Authorization`; short-lived.")
    refresh = serializers.CharField(help_text="Exchange at /auth/refresh for a new pair; 30 days; single use.")
    access_expires_at = serializers.DateTimeField()
    refresh_expires_at = serializers.DateTimeField()
    session_id = serializers.CharField()
    session_type = serializers.ChoiceField(choices=UserKind.choices)


class ProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "kind", "email", "full_name", "phone", "birthday", "marketing_consent", "date_joined"]
        read_only_fields = ["id", "kind", "email", "date_joined"]


class SignInSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, max_length=256)
    device_name = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, max_length=256)
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    birthday = serializers.DateField(required=False, allow_null=True, default=None)
    marketing_consent = serializers.BooleanField(required=False, default=False)
    device_name = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")
    referral_token = serializers.CharField(
        required=False, allow_blank=True, max_length=64, default="", help_text="A friend's loyalty share token."
    )


class GuestStartSerializer(serializers.Serializer):
    device_id = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default="", help_text="A label only; not kept."
    )
    device_name = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")


class GuestUpgradeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, max_length=256)
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    device_name = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")
    referral_token = serializers.CharField(
        required=False, allow_blank=True, max_length=64, default="", help_text="A friend's loyalty share token."
    )


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class SignedInSerializer(serializers.Serializer):
    user = ProfileSerializer()
    tokens = TokenPairSerializer()


class AuthSessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="True for the session making this request.")

    class Meta:
        model = AuthSession
        fields = [
            "id",
            "session_type",
            "device_name",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "revoked_reason",
            "current",
        ]

    def get_current(self, obj: AuthSession) -> bool:
        return obj.pk == self.context.get("current_session_id")


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "rate_limit",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=API_KEY_SCOPES), allow_empty=False, max_length=len(API_KEY_SCOPES)
    )
    rate_limit = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The key itself. Shown once: store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class WholesaleAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = WholesaleAccount
        fields = ["id", "name", "tax_id", "billing_address", "price_list_group", "is_approved", "approved_at"]
        read_only_fields = ["id", "price_list_group", "is_approved", "approved_at"]


class WholesaleApplicationSerializer(serializers.Serializer):
    business_name = serializers.CharField(max_length=200)
    tax_id = serializers.CharField(max_length=64)
    billing_address = serializers.CharField(max_length=2000)
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, max_length=256)
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    device_name = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(trim_whitespace=False, max_length=256)
    new_password = serializers.CharField(trim_whitespace=False, max_length=256)


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(trim_whitespace=False, max_length=256)


class CreditSummarySerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    name = serializers.CharField()
    credit_limit = serializers.DecimalField(max_digits=12, decimal_places=2)
    payment_terms = serializers.IntegerField(help_text="Net days from invoice to due date: 15, 30 or 60.")
    open_balance = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What the open and overdue invoices still owe."
    )
    available_credit = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="credit_limit - open_balance (never below 0)."
    )
    credit_hold = serializers.BooleanField(help_text="An invoice is overdue: new orders on account wait on_hold.")
    credit_hold_at = serializers.DateTimeField(allow_null=True)
    open_invoices = serializers.IntegerField()
    overdue_invoices = serializers.IntegerField()
    overdue_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    next_due_date = serializers.DateField(allow_null=True, help_text="The earliest due date of an unpaid invoice.")
    account_credit = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="Credit notes not set against an invoice (returns or refunds of paid invoices): owed "
        "to the business, for staff to pay back or set off.",
    )
