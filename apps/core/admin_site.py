"""One admin site, two audiences: platform operators on the public hostname, each tenant's
staff on the tenant's hostname. A model is only reachable where its tables live: shared-only
models (tenants, beat schedules) never show on a tenant's admin (their tables are in the public
schema, which a tenant's search path also reaches), tenant-only models never on the public one.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.urls import URLPattern, URLResolver
from django_tenants.routers import TenantSyncRouter
from django_tenants.utils import get_public_schema_name


def _on_public() -> bool:
    return connection.schema_name == get_public_schema_name()


def _guard(method: Callable[..., bool], wanted_public: bool) -> Callable[..., bool]:
    def guarded(*args: Any, **kwargs: Any) -> bool:
        return _on_public() == wanted_public and method(*args, **kwargs)

    return guarded


class PlatformAdminSite(admin.AdminSite):
    site_header = "F&B platform"
    site_title = "F&B platform admin"
    index_title = "Administration"

    def each_context(self, request: Any) -> dict[str, Any]:
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None and not _on_public():
            context["site_header"] = f"{tenant.name} · admin"
        return context

    def get_urls(self) -> list[URLPattern | URLResolver]:
        router = TenantSyncRouter()
        for model, model_admin in self._registry.items():
            label = model._meta.app_label
            shared = router.app_in_list(label, settings.SHARED_APPS)
            tenant = router.app_in_list(label, settings.TENANT_APPS)
            if shared and tenant:
                continue
            for name in (
                "has_module_permission",
                "has_view_permission",
                "has_add_permission",
                "has_change_permission",
                "has_delete_permission",
            ):
                setattr(model_admin, name, _guard(getattr(model_admin, name), shared))
        return super().get_urls()
