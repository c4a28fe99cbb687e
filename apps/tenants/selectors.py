from django.conf import settings

from apps.tenants.models import Domain, Tenant


def tenant_list() -> "list[Tenant]":
    return list(Tenant.objects.filter(is_template=False).prefetch_related("domains"))


def tenant_schemas_active() -> list[str]:
    """Schemas of the tenants that scheduled jobs run for (active, not the base template)."""
    return list(
        Tenant.objects.filter(is_active=True, is_template=False)
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


def tenant_get_by_hostname(hostname: str) -> Tenant | None:
    domain = Domain.objects.select_related("tenant").filter(domain=hostname, tenant__is_template=False).first()
    return domain.tenant if domain else None
