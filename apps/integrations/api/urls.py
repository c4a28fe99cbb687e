from django.urls import path

from apps.integrations.api import views

urlpatterns = [
    path("webhooks/event-types", views.EventTypeListView.as_view(), name="webhook-event-types"),
    path("webhooks/endpoints", views.EndpointListView.as_view(), name="webhook-endpoints"),
    path("webhooks/endpoints/<int:endpoint_id>", views.EndpointDetailView.as_view(), name="webhook-endpoint"),
    path(
        "webhooks/endpoints/<int:endpoint_id>/rotate-secret",
        views.EndpointRotateView.as_view(),
        name="webhook-endpoint-rotate",
    ),
    path("webhooks/endpoints/<int:endpoint_id>/ping", views.EndpointPingView.as_view(), name="webhook-endpoint-ping"),
    path(
        "webhooks/endpoints/<int:endpoint_id>/replay",
        views.EndpointReplayView.as_view(),
        name="webhook-endpoint-replay",
    ),
    path("webhooks/deliveries", views.DeliveryListView.as_view(), name="webhook-deliveries"),
    path("webhooks/deliveries/<int:delivery_id>", views.DeliveryDetailView.as_view(), name="webhook-delivery"),
    path(
        "webhooks/deliveries/<int:delivery_id>/replay",
        views.DeliveryReplayView.as_view(),
        name="webhook-delivery-replay",
    ),
    path("sync/stock", views.SyncStockView.as_view(), name="sync-stock"),
    path("sync/changes", views.SyncChangesView.as_view(), name="sync-changes"),
    path(
        "streams/locations/<int:location_id>/stock",
        views.LocationStockStreamView.as_view(),
        name="stream-location-stock",
    ),
    path(
        "streams/locations/<int:location_id>/curbside",
        views.LocationCurbsideStreamView.as_view(),
        name="stream-location-curbside",
    ),
    path("streams/orders/<int:order_id>", views.OrderStreamView.as_view(), name="stream-order"),
]
