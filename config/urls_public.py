"""URLs of the platform's own hostname: the operators' admin (tenants), health and metrics."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from apps.core.views import health_live, health_ready, metrics

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("health/live", health_live, name="health-live"),
    path("health/ready", health_ready, name="health-ready"),
    path("metrics", metrics, name="metrics"),
]

handler400 = "apps.core.views.error_400"
handler403 = "apps.core.views.error_403"
handler404 = "apps.core.views.error_404"
handler500 = "apps.core.views.error_500"
