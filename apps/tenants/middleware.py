"""Routes each request to its tenant's schema by hostname (django-tenants), with our errors.

* Unknown hostname: 404 `tenant_not_found` in the error shape (health and metrics still answer,
  from the public schema, so a load balancer can probe any address).
* Suspended tenant: 403 `tenant_suspended` on its API and admin; its data is untouched.
* Tenant lookups are cached in-process for TENANT_LOOKUP_CACHE_SECONDS (one query saved per
  request); suspension and domain changes take effect within that time.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.postgresql_backend.base import FakeTenant

from apps.core.errors import error_response
from apps.tenants.errors import TenantSuspended
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_get_by_hostname

_ALWAYS_SERVED = ("/health/", "/metrics")
_cache: dict[str, tuple[float, Tenant | None]] = {}


def tenant_lookup_cache_clear() -> None:
    _cache.clear()


def _cached(hostname: str) -> Tenant | None:
    """The cached tenant of this hostname, or None when it is not cached (or not a tenant)."""
    if settings.TENANT_LOOKUP_CACHE_SECONDS <= 0:
        return None
    hit = _cache.get(hostname)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def _lookup(hostname: str) -> Tenant | None:
    """The tenant of this hostname, read in the public schema and cached; an unknown hostname is
    cached too (as None), so repeated requests for it cost no query."""
    ttl = settings.TENANT_LOOKUP_CACHE_SECONDS
    now = time.monotonic()
    if ttl > 0:
        hit = _cache.get(hostname)
        if hit is not None and hit[0] > now:
            return hit[1]
    tenant = tenant_get_by_hostname(hostname)
    if ttl > 0:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[hostname] = (now + ttl, tenant)
    return tenant


class TenantMiddleware(TenantMainMiddleware):
    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            hostname = self.hostname_from_request(request).lower()
        except Exception:  # DisallowedHost: not one of ALLOWED_HOSTS
            connection.set_schema_to_public()
            return error_response("bad_request", "This host name is not allowed.", 400)
        public_domain = settings.PUBLIC_DOMAIN
        tenant = _cached(hostname)
        if tenant is None:  # not cached: look it up in the public schema
            connection.set_schema_to_public()
            tenant = _lookup(hostname) if hostname and hostname != public_domain else None

        if tenant is None:
            if hostname == public_domain or request.path.startswith(_ALWAYS_SERVED):
                # (/metrics is only routed on the public URLs: never on a tenant's hostname.)
                request.tenant = FakeTenant(connection.schema_name)  # the public schema
                self.setup_url_routing(request, force_public=True)
                return None
            return error_response(
                "tenant_not_found",
                "No business is served at this address.",
                404,
                {"host": hostname},
            )

        if request.path == "/metrics":  # platform-wide numbers are not a tenant's business
            return error_response("not_found", "Not found.", 404, {"path": request.path})
        tenant.domain_url = hostname
        request.tenant = tenant
        if not tenant.is_active and not request.path.startswith(_ALWAYS_SERVED):
            error = TenantSuspended()
            return error_response(error.code, error.message, error.status_code)
        if connection.schema_name == tenant.schema_name and getattr(connection, "tenant", None) is not None:
            # The persistent connection is already in this tenant's schema (its last request was
            # this tenant's): keep its search_path instead of setting it again.
            connection.tenant = tenant
        else:
            connection.set_tenant(tenant)
        self.setup_url_routing(request)
        return None
