"""Tenants (businesses) and their domains. Shared schema: visible to the platform only."""

import zoneinfo

from babel.numbers import get_currency_precision, list_currencies
from django.core.exceptions import ValidationError
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


def validate_currency(value: str) -> None:
    if value not in list_currencies():
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code.", code="invalid_currency")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone.", code="invalid_timezone")


class Tenant(TenantMixin):
    class Plan(models.TextChoices):
        FREE = "free", "Free"
        STANDARD = "standard", "Standard"
        PREMIUM = "premium", "Premium"

    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=16, choices=Plan.choices, default=Plan.FREE)
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    tax_rate = models.DecimalField(
        max_digits=6, decimal_places=4, default=0, help_text="Sales tax as a fraction, e.g. 0.0875."
    )
    stripe_webhook_secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Signing secret of this tenant's Stripe webhook endpoint (its hostname); "
        "empty: DJSTRIPE_WEBHOOK_SECRET.",
    )
    prices_include_tax = models.BooleanField(
        default=False, help_text="Prices are tax-inclusive (EU style) rather than tax added on top (US style)."
    )
    is_active = models.BooleanField(
        default=True, help_text="A suspended tenant's API and admin answer 'tenant_suspended'; its data is kept."
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=500, blank=True)
    require_if_match = models.BooleanField(
        default=False,
        help_text="Staff and partner writes to versioned resources must send If-Match with the ETag they "
        "read (428 precondition_required without it).",
    )
    is_template = models.BooleanField(
        default=False,
        editable=False,
        help_text="The migrated base schema new tenants are cloned from; never routed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Schemas are created by cloning the base schema (see settings.TENANT_BASE_SCHEMA).
    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"

    def create_schema(self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1) -> bool:
        """Clone the migrated base schema (fast path); migrate from scratch only for the base itself."""
        from django.conf import settings
        from django_tenants.utils import schema_exists

        from apps.tenants.cloning import clone_schema

        base = settings.TENANT_BASE_SCHEMA
        if self.schema_name == base or not sync_schema or not schema_exists(base):
            return super().create_schema(check_if_exists, sync_schema, verbosity)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        clone_schema(base=base, new=self.schema_name)
        return True

    @property
    def currency_precision(self) -> int:
        return get_currency_precision(self.currency)


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain
