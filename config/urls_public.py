"""URLs of the platform's own hostname: the operators' admin (tenants), health and metrics."""

from django.contrib import admin
from django.urls import path, re_path
from django.views.generic import RedirectView

from apps.core.views import api_not_found, health_live, health_ready, metrics

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("health/live", health_live, name="health-live"),
    path("health/ready", health_ready, name="health-ready"),
    path("metrics", metrics, name="metrics"),
    re_path(r"^api/.*$", api_not_found),  # the API lives on tenants' hostnames only
]

handler400 = "apps.core.views.error_400"
handler403 = "apps.core.views.error_403"
handler404 = "apps.core.views.error_404"
handler500 = "apps.core.views.error_500"
