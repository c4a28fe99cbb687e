"""Provisioning and lifecycle of tenants. Runs in the public schema (commands, operators' admin)."""

from __future__ import annotations

import logging
import re
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_exists

from apps.tenants.errors import BaseSchemaMissing, InvalidTenant
from apps.tenants.models import Domain, Tenant

logger = logging.getLogger(__name__)

_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_RESERVED = {"public", "information_schema", "tenant_base"}


def _validate_schema_name(schema_name: str) -> None:
    if not _SCHEMA_NAME.match(schema_name) or schema_name.startswith("pg_"):
        raise InvalidTenant(
            "The schema name must be 2-40 characters: lowercase letters, digits and '_', starting with a letter.",
            details={"schema_name": ["Invalid schema name."]},
        )
    if schema_name in _RESERVED or schema_name == settings.TENANT_BASE_SCHEMA:
        raise InvalidTenant(f"{schema_name!r} is reserved.", details={"schema_name": ["Reserved name."]})


def tenant_validate(*, schema_name: str, domain: str) -> None:
    """The checks a new tenant must pass that a model form cannot see (reserved names, domains)."""
    _validate_schema_name(schema_name)
    if Domain.objects.filter(domain=domain.lower()).exists():
        raise InvalidTenant(f"The domain {domain!r} is already in use.", details={"domain": ["Already in use."]})


def default_domain_for(schema_name: str) -> str:
    return f"{schema_name.replace('_', '-')}.{settings.TENANT_DOMAIN_SUFFIX}"


def base_schema_ensure() -> Tenant:
    """Create the base (template) schema, migrated from scratch, if it does not exist.

    It is registered as a tenant row (flagged `is_template`, no domain) so that every
    `migrate_schemas` keeps it migrated along with the real tenants.
    """
    schema_name = settings.TENANT_BASE_SCHEMA
    template = Tenant.objects.filter(schema_name=schema_name).first()
    if template is not None and schema_exists(schema_name):
        return template
    if template is not None:  # row without schema (restored backup?): recreate the schema
        template.create_schema(check_if_exists=True)
        return template
    template = Tenant(
        schema_name=schema_name,
        name="Base schema (template for new tenants)",
        is_template=True,
        is_active=False,
    )
    started = time.monotonic()
    template.save()
    logger.info("Base schema %s migrated in %.1f s", schema_name, time.monotonic() - started)
    return template


def tenant_create(
    *,
    name: str,
    schema_name: str,
    domain: str | None = None,
    plan: str = Tenant.Plan.FREE,
    currency: str = "USD",
    timezone_name: str = "UTC",
) -> Tenant:
    """Create a tenant by cloning the migrated base schema, with its primary domain."""
    _validate_schema_name(schema_name)
    if not schema_exists(settings.TENANT_BASE_SCHEMA):
        raise BaseSchemaMissing()
    domain = (domain or default_domain_for(schema_name)).lower()
    tenant = Tenant(
        name=name,
        schema_name=schema_name,
        plan=plan,
        currency=currency.upper(),
        timezone=timezone_name,
    )
    try:
        tenant.full_clean()
        Domain(domain=domain, tenant=tenant, is_primary=True).full_clean(exclude=["tenant"])
    except ValidationError as exc:
        raise InvalidTenant("The tenant is not valid.", details=exc.message_dict) from exc
    if Domain.objects.filter(domain=domain).exists():
        raise InvalidTenant(f"The domain {domain!r} is already in use.", details={"domain": ["Already in use."]})
    with transaction.atomic():
        tenant.save()
        Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
    return tenant


def tenant_suspend(*, tenant: Tenant, reason: str = "") -> Tenant:
    """Block the tenant's API and admin. Nothing is deleted."""
    tenant.is_active = False
    tenant.suspended_at = timezone.now()
    tenant.suspension_reason = reason[:500]
    tenant.save(update_fields=["is_active", "suspended_at", "suspension_reason"])
    return tenant


def tenant_reactivate(*, tenant: Tenant) -> Tenant:
    tenant.is_active = True
    tenant.suspended_at = None
    tenant.suspension_reason = ""
    tenant.save(update_fields=["is_active", "suspended_at", "suspension_reason"])
    return tenant
