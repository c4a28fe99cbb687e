from django.urls import path

from apps.reviews.api import views

urlpatterns = [
    path("products/<int:product_id>/reviews", views.ProductReviewsView.as_view(), name="product-reviews"),
    path(
        "products/<int:product_id>/reviews/summary",
        views.ProductReviewSummaryView.as_view(),
        name="product-reviews-summary",
    ),
    path("locations/<int:location_id>/reviews", views.LocationReviewsView.as_view(), name="location-reviews"),
    path(
        "locations/<int:location_id>/reviews/summary",
        views.LocationReviewSummaryView.as_view(),
        name="location-reviews-summary",
    ),
    path("reviews/moderation-queue", views.ModerationQueueView.as_view(), name="reviews-moderation-queue"),
    path("reviews/<int:review_id>", views.ReviewDetailView.as_view(), name="review"),
    path("reviews/<int:review_id>/history", views.ReviewHistoryView.as_view(), name="review-history"),
    path("reviews/<int:review_id>/moderation", views.ReviewModerationView.as_view(), name="review-moderation"),
    path("reviews/<int:review_id>/reports", views.ReviewReportView.as_view(), name="review-reports"),
    path("reviews/<int:review_id>/helpful", views.ReviewHelpfulView.as_view(), name="review-helpful"),
    path("reviews/<int:review_id>/reply", views.ReviewReplyView.as_view(), name="review-reply"),
    path("reviews/<int:review_id>/photos", views.ReviewPhotosView.as_view(), name="review-photos"),
    path("reviews/<int:review_id>/photos/<int:photo_id>", views.ReviewPhotoView.as_view(), name="review-photo"),
    path("me/reviews", views.MyReviewsView.as_view(), name="me-reviews"),
]
