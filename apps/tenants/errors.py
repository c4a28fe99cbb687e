from rest_framework import status

from apps.core.errors import ApplicationError


class TenantSuspended(ApplicationError):
    code = "tenant_suspended"
    status_code = status.HTTP_403_FORBIDDEN
    default_message = "This business's account is suspended. Its data is kept; contact support."


class BaseSchemaMissing(ApplicationError):
    code = "base_schema_missing"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_message = "The tenant base schema is missing. Run `manage.py release` first."


class InvalidTenant(ApplicationError):
    code = "invalid_tenant"
