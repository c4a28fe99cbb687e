from django.urls import path

from apps.stock.api import locator_views, procurement_views, views

urlpatterns = [
    path("stores", locator_views.StoreListView.as_view(), name="stores"),
    path("stores/<int:location_id>", locator_views.StoreDetailView.as_view(), name="store"),
    path("locations", views.LocationListView.as_view(), name="locations"),
    path("locations/<int:location_id>", views.LocationDetailView.as_view(), name="location"),
    path("locations/<int:location_id>/inventory", views.LocationInventoryView.as_view(), name="location-inventory"),
    path("locations/<int:location_id>/restock", views.RestockView.as_view(), name="location-restock"),
    path("locations/<int:location_id>/inventory.csv", views.InventoryCsvView.as_view(), name="location-inventory-csv"),
    path("locations/<int:location_id>/adjustments", views.AdjustmentView.as_view(), name="location-adjust"),
    path("locations/<int:location_id>/counts", views.CountView.as_view(), name="location-count"),
    path("inventory/<str:sku>", views.InventoryBySkuView.as_view(), name="inventory-sku"),
    path("stock-items/<int:item_id>", views.StockItemView.as_view(), name="stock-item"),
    path("reservations", views.ReservationCreateView.as_view(), name="reservations"),
    path(
        "reservations/<int:reservation_id>/release", views.ReservationReleaseView.as_view(), name="reservation-release"
    ),
    path("reservations/<int:reservation_id>/commit", views.ReservationCommitView.as_view(), name="reservation-commit"),
    path("movements", views.MovementListView.as_view(), name="movements"),
    path("lots", views.LotListView.as_view(), name="lots"),
    path("lots/<int:lot_id>/recall", views.LotRecallView.as_view(), name="lot-recall"),
    path("stock-alerts", views.AlertListView.as_view(), name="stock-alerts"),
    path("transfers", views.TransferListView.as_view(), name="transfers"),
    path("transfers/<int:transfer_id>", views.TransferDetailView.as_view(), name="transfer"),
    path("transfers/<int:transfer_id>/ship", views.TransferShipView.as_view(), name="transfer-ship"),
    path("transfers/<int:transfer_id>/receive", views.TransferReceiveView.as_view(), name="transfer-receive"),
    path("purchase-orders", views.PurchaseOrderListView.as_view(), name="purchase-orders"),
    path("purchase-orders/<int:order_id>", views.PurchaseOrderDetailView.as_view(), name="purchase-order"),
    path("purchase-orders/<int:order_id>/send", views.PurchaseOrderSendView.as_view(), name="purchase-order-send"),
    path(
        "purchase-orders/<int:order_id>/receive",
        views.PurchaseOrderReceiveView.as_view(),
        name="purchase-order-receive",
    ),
    path("reorder-suggestions", views.SuggestionListView.as_view(), name="reorder-suggestions"),
    path(
        "reorder-suggestions/draft-orders", views.SuggestionDraftOrdersView.as_view(), name="reorder-suggestions-draft"
    ),
    path("procurement/suppliers", procurement_views.SupplierReportView.as_view(), name="procurement-suppliers"),
    path("procurement/variants", procurement_views.VariantReportView.as_view(), name="procurement-variants"),
]
