from django.urls import path

from apps.tenants.api.views import TenantProfileView

urlpatterns = [
    path("tenant", TenantProfileView.as_view(), name="tenant-profile"),
]
