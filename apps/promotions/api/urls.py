from django.urls import path

from apps.promotions.api import views

urlpatterns = [
    path("cart/quote", views.CartQuoteView.as_view(), name="cart-quote"),
    path("promotions", views.PromotionListView.as_view(), name="promotions"),
    path("promotions/preview", views.PreviewView.as_view(), name="promotions-preview"),
    path("promotions/<int:promotion_id>", views.PromotionDetailView.as_view(), name="promotion"),
    path("promotions/<int:promotion_id>/clone", views.PromotionCloneView.as_view(), name="promotion-clone"),
    path("promotions/<int:promotion_id>/pause", views.PromotionPauseView.as_view(), name="promotion-pause"),
    path("coupons", views.CouponListView.as_view(), name="coupons"),
    path("coupons/<int:coupon_id>", views.CouponDetailView.as_view(), name="coupon"),
    path("coupons/<int:coupon_id>/clone", views.CouponCloneView.as_view(), name="coupon-clone"),
    path("coupons/<int:coupon_id>/pause", views.CouponPauseView.as_view(), name="coupon-pause"),
    path("coupons/<int:coupon_id>/codes", views.CouponCodesView.as_view(), name="coupon-codes"),
    path("coupons/<int:coupon_id>/codes.csv", views.CouponCodesCsvView.as_view(), name="coupon-codes-csv"),
    path("coupons/<int:coupon_id>/usage", views.CouponUsageView.as_view(), name="coupon-usage"),
    path("coupons/<int:coupon_id>/redemptions", views.CouponRedemptionsView.as_view(), name="coupon-redemptions"),
]
