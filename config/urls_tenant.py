"""URLs of a tenant's hostname: its staff admin, the API, health and metrics."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.catalog.media import variant_image_file
from apps.core.views import api_not_found, health_live, health_ready

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("apps.tenants.api.urls")),
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.catalog.api.urls")),
    path("", include("apps.stock.api.urls")),
    path("", include("apps.orders.api.urls")),
    path("", include("apps.payments.api.urls")),
    path("", include("apps.loyalty.api.urls")),
    path("", include("apps.integrations.api.urls")),
    path("", include("apps.reviews.api.urls")),
    path("", include("apps.promotions.api.urls")),
]

# Gallery files (content-addressed, served immutable: apps.catalog.media), unless MEDIA_URL is
# another host (a CDN or object storage serves them there).
media_files = (
    []
    if "://" in settings.MEDIA_URL
    else [
        path(
            f"{settings.MEDIA_URL.strip('/')}/variant-images/<str:schema>/<path:name>",
            variant_image_file,
            name="variant-image-file",
        )
    ]
)

# Last: any other /api/ path answers 404 in the error shape (also with DEBUG on).
api_fallback = [re_path(r"^api/.*$", api_not_found)]

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("dashboard/", include("apps.dashboards.urls")),
    path("api/v1/", include(api_v1)),
    path("health/live", health_live, name="health-live"),
    path("health/ready", health_ready, name="health-ready"),
    *media_files,
    *api_fallback,
]

handler400 = "apps.core.views.error_400"
handler403 = "apps.core.views.error_403"
handler404 = "apps.core.views.error_404"
handler500 = "apps.core.views.error_500"
