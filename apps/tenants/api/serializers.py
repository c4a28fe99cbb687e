from rest_framework import serializers

from apps.tenants.models import Tenant


class TenantProfileSerializer(serializers.ModelSerializer):
    currency_precision = serializers.IntegerField(
        read_only=True, help_text="Digits after the decimal point for the tenant's currency."
    )

    class Meta:
        model = Tenant
        fields = ["name", "plan", "currency", "currency_precision", "timezone", "require_if_match"]
        read_only_fields = fields
