from django.urls import path

from apps.orders.api import views

urlpatterns = [
    path("orders", views.OrderListView.as_view(), name="orders"),
    path("orders/<int:order_id>", views.OrderDetailView.as_view(), name="order"),
    path("orders/<int:order_id>/transitions", views.OrderTransitionView.as_view(), name="order-transition"),
    path("orders/<int:order_id>/cancel", views.OrderCancelView.as_view(), name="order-cancel"),
    path("orders/<int:order_id>/pick-lists", views.OrderPickListsView.as_view(), name="order-pick-lists"),
    path("orders/<int:order_id>/lines", views.OrderLinesView.as_view(), name="order-lines"),
    path("orders/<int:order_id>/ship", views.OrderShipView.as_view(), name="order-ship"),
    path("orders/<int:order_id>/tracking", views.OrderTrackingView.as_view(), name="order-tracking"),
    path("orders/<int:order_id>/returns", views.OrderReturnView.as_view(), name="order-returns"),
    path("orders/<int:order_id>/arrival", views.OrderArrivalView.as_view(), name="order-arrival"),
    path("orders/<int:order_id>/hand-over", views.OrderHandOverView.as_view(), name="order-hand-over"),
    path(
        "locations/<int:location_id>/curbside/stream",
        views.CurbsideStreamView.as_view(),
        name="location-curbside-stream",
    ),
    path("locations/<int:location_id>/routes", views.RouteBuildView.as_view(), name="location-routes"),
    path("routes/<int:route_id>", views.RouteDetailView.as_view(), name="route"),
    path(
        "routes/<int:route_id>/stops/<int:stop_id>/delivered",
        views.RouteStopDeliveredView.as_view(),
        name="route-stop-delivered",
    ),
    path("returns", views.ReturnListView.as_view(), name="returns"),
    path("returns/<int:return_id>/decision", views.ReturnDecisionView.as_view(), name="return-decision"),
    path("returns/<int:return_id>/receive", views.ReturnReceiveView.as_view(), name="return-receive"),
]
