from django.urls import path

from apps.catalog.api import gallery, views

urlpatterns = [
    path("products", views.ProductListView.as_view(), name="products"),
    path("products/<int:product_id>", views.ProductDetailView.as_view(), name="product"),
    path("products/<int:product_id>/image", views.ProductImageView.as_view(), name="product-image"),
    path("variants", views.VariantListView.as_view(), name="variants"),
    path("variants.csv", views.VariantCsvView.as_view(), name="variants-csv"),
    path("variants/<str:sku>", views.VariantDetailView.as_view(), name="variant"),
    path("variants/<str:sku>/price", views.VariantPriceView.as_view(), name="variant-price"),
    path("variants/<str:sku>/images", gallery.VariantImagesView.as_view(), name="variant-images"),
    path("variants/<str:sku>/images/order", gallery.VariantImageOrderView.as_view(), name="variant-images-order"),
    path("variants/<str:sku>/images/<int:image_id>", gallery.VariantImageView.as_view(), name="variant-image"),
]
