from rest_framework import serializers

from apps.accounts.models import AuthSession, User, UserKind


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


class GuestStartSerializer(serializers.Serializer):
    device_id = serializers.CharField(min_length=8, max_length=128)
    device_name = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")


class GuestUpgradeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, max_length=256)
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    device_name = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class SignedInSerializer(serializers.Serializer):
    user = ProfileSerializer()
    tokens = TokenPairSerializer()


class AuthSessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="True for the session making this request.")

    class Meta:
        model = AuthSession
        fields = ["id", "session_type", "device_name", "created_at", "last_used_at", "expires_at", "current"]

    def get_current(self, obj: AuthSession) -> bool:
        return obj.pk == self.context.get("current_session_id")
