"""Reviews API: public lists and summaries; customers write, report and vote; staff reply and moderate."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.policy import CUSTOMERS, PUBLIC, Access, principal_of
from apps.catalog.models import Product
from apps.core.api.views import get_or_404, paginated
from apps.core.errors import InvalidInput, NotFound
from apps.core.throttling import _PlanThrottle
from apps.reviews import selectors, services
from apps.reviews.api import serializers as s
from apps.reviews.models import Review, ReviewPhoto, ReviewStatus
from apps.stock.models import Location

MODERATORS = Access(staff_roles=frozenset({"owner", "store_manager"}))
AUTHORS_AND_MODERATORS = Access(
    guest=True, retail=True, wholesale=True, staff_roles=frozenset({"owner", "store_manager"})
)
SORTS = {
    "newest": ("-published_at", "-id"),
    "oldest": ("published_at", "id"),
    "rating_high": ("-rating", "-published_at", "-id"),
    "rating_low": ("rating", "-published_at", "-id"),
    "helpful": ("-helpful_count", "-published_at", "-id"),
}


class ReviewSubmitThrottle(_PlanThrottle):
    """Review submissions per customer (REVIEW_SUBMIT_RATE_LIMIT), on top of the plan limits."""

    scope = "review_submit"

    def rate(self, request: Request, tenant: object) -> str | None:
        return settings.REVIEW_SUBMIT_RATE_LIMIT


class PublicReviewFilter(filters.FilterSet):
    rating = filters.TypedChoiceFilter(choices=[(n, str(n)) for n in range(1, 6)], coerce=int)
    verified = filters.BooleanFilter(field_name="verified_purchase")
    with_photos = filters.BooleanFilter(method="filter_with_photos")
    sort = filters.ChoiceFilter(
        choices=[(k, k) for k in SORTS],
        method="filter_sort",
        help_text="newest (default), oldest, rating_high, rating_low, helpful.",
    )

    class Meta:
        model = Review
        fields = ["rating", "verified", "with_photos", "sort"]

    def filter_with_photos(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(photo_count__gt=0) if value else queryset.filter(photo_count=0)

    def filter_sort(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.order_by(*SORTS[value])


class _SubjectReviewsView(GenericAPIView):
    """Shared by the product and location lists."""

    access_policy = {"GET": PUBLIC, "POST": CUSTOMERS}
    list_view = True
    serializer_class = s.ReviewSerializer
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = PublicReviewFilter
    queryset = Review.objects.none()  # for the schema

    def get_throttles(self) -> list:
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(ReviewSubmitThrottle())
        return throttles

    def _list(self, **subject: object) -> Response:
        reviews = selectors.review_list_public(**subject).order_by(*SORTS["newest"])
        return paginated(self, reviews, s.ReviewSerializer)

    def _create(self, request: Request, **subject: object) -> Response:
        data = s.ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_create(customer=request.user, **subject, **data.validated_data)
        fresh = selectors.review_list_visible(principal=principal_of(request), user=request.user).get(pk=review.pk)
        return Response(s.OwnReviewSerializer(fresh).data, status=status.HTTP_201_CREATED)


def _product(product_id: int) -> Product:
    return get_or_404(Product.objects.filter(is_archived=False), "No such product.", pk=product_id)


def _location(location_id: int) -> Location:
    return get_or_404(Location.objects.filter(is_active=True), "No such location.", pk=location_id)


class ProductReviewsView(_SubjectReviewsView):
    @extend_schema(
        operation_id="products_reviews_list",
        summary="Reviews of a product",
        description="Published reviews with photos and the business's reply. Filters: `rating` (1-5), "
        "`verified`, `with_photos`; `sort=newest|oldest|rating_high|rating_low|helpful`.",
        tags=["reviews"],
    )
    def get(self, request: Request, product_id: int) -> Response:
        return self._list(product=_product(product_id))

    @extend_schema(
        operation_id="products_reviews_create",
        summary="Review a product you bought",
        description="Needs a completed order with the product (403 `review_not_allowed` otherwise); one "
        "review per customer and product (409 `review_exists`). Screened at once: the answer's `status` "
        "is `published`, `held` (a moderator looks first) or `rejected`, and `screening.reasons` says why. "
        "Submissions are rate-limited per customer (REVIEW_SUBMIT_RATE_LIMIT, 429).",
        request=s.ReviewInputSerializer,
        responses={201: s.OwnReviewSerializer},
        tags=["reviews"],
    )
    def post(self, request: Request, product_id: int) -> Response:
        return self._create(request, product=_product(product_id))


class LocationReviewsView(_SubjectReviewsView):
    @extend_schema(
        operation_id="locations_reviews_list",
        summary="Reviews of a location",
        description="Published reviews of a store. Same filters and sorts as product reviews.",
        tags=["reviews"],
    )
    def get(self, request: Request, location_id: int) -> Response:
        return self._list(location=_location(location_id))

    @extend_schema(
        operation_id="locations_reviews_create",
        summary="Review a store you picked up from",
        description="Needs a completed pickup or curbside order collected there; otherwise as product reviews.",
        request=s.ReviewInputSerializer,
        responses={201: s.OwnReviewSerializer},
        tags=["reviews"],
    )
    def post(self, request: Request, location_id: int) -> Response:
        return self._create(request, location=_location(location_id))


class ProductReviewSummaryView(GenericAPIView):
    access_policy = PUBLIC
    serializer_class = s.SummarySerializer

    @extend_schema(
        operation_id="products_reviews_summary",
        summary="Rating summary of a product",
        description="Count, average, 1-5 distribution and share of verified purchases of the published "
        "reviews (kept current with every review change; served from Redis).",
        tags=["reviews"],
    )
    def get(self, request: Request, product_id: int) -> Response:
        return Response(selectors.review_summary(product=_product(product_id)))


class LocationReviewSummaryView(GenericAPIView):
    access_policy = PUBLIC
    serializer_class = s.SummarySerializer

    @extend_schema(
        operation_id="locations_reviews_summary",
        summary="Rating summary of a location",
        description="As for products.",
        tags=["reviews"],
    )
    def get(self, request: Request, location_id: int) -> Response:
        return Response(selectors.review_summary(location=_location(location_id)))


def _visible(request: Request) -> QuerySet[Review]:
    return selectors.review_list_visible(principal=principal_of(request), user=request.user)


def _own(request: Request, review_id: int) -> Review:
    """The caller's own review (others' answer 404)."""
    review = get_or_404(_visible(request), "No such review.", pk=review_id)
    if review.customer_id != request.user.pk:
        raise NotFound("No such review.")
    return review


def _moderated(request: Request, review_id: int) -> Review:
    reviews = selectors.review_list_moderated(principal=principal_of(request), user=request.user)
    return get_or_404(reviews, "No such review.", pk=review_id)


def _detail_serializer(request: Request, review: Review) -> type[s.ReviewSerializer]:
    principal = principal_of(request)
    if principal.kind == "staff" or review.customer_id == getattr(request.user, "pk", None):
        return s.OwnReviewSerializer
    return s.ReviewSerializer


class ReviewDetailView(GenericAPIView):
    access_policy = {"GET": PUBLIC, "PATCH": CUSTOMERS, "DELETE": CUSTOMERS}
    serializer_class = s.OwnReviewSerializer

    @extend_schema(
        operation_id="reviews_get",
        summary="A review",
        description="Public reviews for everyone; authors also see their own in any state (with status "
        "and screening reasons); moderators the reviews they moderate.",
        responses=s.OwnReviewSerializer,
        tags=["reviews"],
    )
    def get(self, request: Request, review_id: int) -> Response:
        review = get_or_404(_visible(request), "No such review.", pk=review_id)
        return Response(_detail_serializer(request, review)(review).data)

    @extend_schema(
        operation_id="reviews_update",
        summary="Edit my review",
        description="The previous text is kept (GET /reviews/{id}/history) and the new one is screened again.",
        request=s.ReviewUpdateSerializer,
        responses=s.OwnReviewSerializer,
        tags=["reviews"],
    )
    def patch(self, request: Request, review_id: int) -> Response:
        review = _own(request, review_id)
        data = s.ReviewUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.review_update(review=review, **data.validated_data)
        return Response(s.OwnReviewSerializer(_visible(request).get(pk=review.pk)).data)

    @extend_schema(
        operation_id="reviews_delete",
        summary="Delete my review",
        description="Hidden from everyone else and from the ratings; kept for the moderators' trail.",
        request=None,
        responses={204: None},
        tags=["reviews"],
    )
    def delete(self, request: Request, review_id: int) -> Response:
        services.review_delete(review=_own(request, review_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReviewHistoryView(GenericAPIView):
    access_policy = AUTHORS_AND_MODERATORS
    serializer_class = s.HistorySerializer

    @extend_schema(
        operation_id="reviews_history",
        summary="Edits and decisions of a review",
        description="Earlier versions of the text and every status decision (screening, moderators, "
        "reports) with its reasons. The author and the moderators only.",
        tags=["reviews"],
    )
    def get(self, request: Request, review_id: int) -> Response:
        staff = principal_of(request).kind == "staff"
        review = _moderated(request, review_id) if staff else _own(request, review_id)
        data = {"revisions": review.revisions.order_by("id"), "decisions": review.decisions.order_by("id")}
        return Response(s.HistorySerializer(data, context={"staff": staff}).data)


class ReviewModerationView(GenericAPIView):
    access_policy = MODERATORS
    serializer_class = s.ModerationSerializer

    @extend_schema(
        operation_id="reviews_moderate",
        summary="Moderate a review",
        description="Publish, hold or reject, with a note. Answers the open reports; audited. Store "
        "managers moderate the reviews of their locations.",
        responses=s.OwnReviewSerializer,
        tags=["reviews"],
    )
    def put(self, request: Request, review_id: int) -> Response:
        review = _moderated(request, review_id)
        data = s.ModerationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.review_moderate(review=review, **data.validated_data)
        return Response(s.OwnReviewSerializer(_visible(request).get(pk=review.pk)).data)


class QueueFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ReviewStatus.choices)
    reported = filters.BooleanFilter(method="filter_reported", help_text="Only reviews with open reports.")
    subject = filters.ChoiceFilter(choices=[("product", "product"), ("location", "location")], method="filter_subject")
    rating = filters.TypedChoiceFilter(choices=[(n, str(n)) for n in range(1, 6)], coerce=int)

    class Meta:
        model = Review
        fields = ["status", "reported", "subject", "rating"]

    def filter_reported(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(open_report_count__gt=0) if value else queryset.filter(open_report_count=0)

    def filter_subject(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(**{f"{value}__isnull": False})


class ModerationQueueView(GenericAPIView):
    access_policy = MODERATORS
    list_view = True
    serializer_class = s.QueueReviewSerializer
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = QueueFilter
    queryset = Review.objects.none()  # for the schema

    @extend_schema(
        operation_id="reviews_moderation_queue",
        summary="Moderation queue",
        description="Reviews waiting for a moderator (`status=held` unless another status is asked), "
        "oldest first, with the screening reasons and open reports. Filters: `status`, `reported`, "
        "`subject=product|location`, `rating`.",
        tags=["reviews"],
    )
    def get(self, request: Request) -> Response:
        reviews = selectors.moderation_queue(principal=principal_of(request), user=request.user)
        if "status" not in request.query_params:
            reviews = reviews.filter(status=ReviewStatus.HELD)
        return paginated(self, reviews.order_by("created_at", "id"), s.QueueReviewSerializer)


class MyReviewsView(GenericAPIView):
    access_policy = CUSTOMERS
    list_view = True
    serializer_class = s.OwnReviewSerializer
    filter_backends: list = []
    queryset = Review.objects.none()  # for the schema

    @extend_schema(
        operation_id="me_reviews",
        summary="My reviews",
        description="Every review I wrote, in any state, newest first.",
        tags=["reviews"],
    )
    def get(self, request: Request) -> Response:
        reviews = _visible(request).filter(customer=request.user).order_by("-created_at", "-id")
        return paginated(self, reviews, s.OwnReviewSerializer, filtered=False)


class ReviewReportView(GenericAPIView):
    access_policy = CUSTOMERS
    serializer_class = s.ReportInputSerializer

    @extend_schema(
        operation_id="reviews_report",
        summary="Report a review",
        description="Once per customer. After REVIEW_REPORTS_TO_HOLD open reports (3) the review is held "
        "for a moderator.",
        responses={201: s.ReportSerializer},
        tags=["reviews"],
    )
    def post(self, request: Request, review_id: int) -> Response:
        review = get_or_404(selectors.review_list_public_any(), "No such review.", pk=review_id)
        data = s.ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.review_report(review=review, reporter=request.user, **data.validated_data)
        return Response(s.ReportSerializer(report).data, status=status.HTTP_201_CREATED)


class ReviewHelpfulView(GenericAPIView):
    access_policy = CUSTOMERS
    serializer_class = s.ReviewSerializer

    @extend_schema(
        operation_id="reviews_helpful_vote",
        summary="Found this helpful",
        description="One vote per customer and review (voting again changes nothing); not for your own.",
        request=None,
        responses=s.ReviewSerializer,
        tags=["reviews"],
    )
    def post(self, request: Request, review_id: int) -> Response:
        review = get_or_404(selectors.review_list_public_any(), "No such review.", pk=review_id)
        services.review_vote_helpful(review=review, customer=request.user)
        return Response(s.ReviewSerializer(selectors.review_list_public_any().get(pk=review.pk)).data)

    @extend_schema(
        operation_id="reviews_helpful_withdraw",
        summary="Withdraw my helpful vote",
        description="Takes back your vote, if you gave one.",
        request=None,
        responses={200: s.ReviewSerializer},
        tags=["reviews"],
    )
    def delete(self, request: Request, review_id: int) -> Response:
        review = get_or_404(selectors.review_list_public_any(), "No such review.", pk=review_id)
        services.review_vote_withdraw(review=review, customer=request.user)
        return Response(s.ReviewSerializer(selectors.review_list_public_any().get(pk=review.pk)).data)


class ReviewReplyView(GenericAPIView):
    access_policy = MODERATORS
    serializer_class = s.ReplyInputSerializer

    @extend_schema(
        operation_id="reviews_reply_set",
        summary="Reply to a review",
        description="The business's answer, shown under the review (replaces an earlier one).",
        responses=s.OwnReviewSerializer,
        tags=["reviews"],
    )
    def put(self, request: Request, review_id: int) -> Response:
        review = _moderated(request, review_id)
        data = s.ReplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.review_reply_set(review=review, author=request.user, body=data.validated_data["body"])
        return Response(s.OwnReviewSerializer(_visible(request).get(pk=review.pk)).data)

    @extend_schema(
        operation_id="reviews_reply_delete",
        summary="Remove the reply",
        description="Deletes the business's answer.",
        request=None,
        responses={204: None},
        tags=["reviews"],
    )
    def delete(self, request: Request, review_id: int) -> Response:
        services.review_reply_delete(review=_moderated(request, review_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReviewPhotosView(GenericAPIView):
    access_policy = CUSTOMERS
    parser_classes = [MultiPartParser]
    serializer_class = s.PhotoUploadSerializer

    @extend_schema(
        operation_id="reviews_photos_add",
        summary="Add a photo to my review",
        description="Up to 5 photos. JPEG, PNG or WebP by content, at most 5 MB and 40 megapixels; stored "
        "re-encoded as JPEG, at most 1600 px a side, without EXIF. 400 `photo_invalid` with the reason.",
        request={"multipart/form-data": s.PhotoUploadSerializer},
        responses={201: s.PhotoSerializer},
        tags=["reviews"],
    )
    def post(self, request: Request, review_id: int) -> Response:
        review = _own(request, review_id)
        upload = request.FILES.get("image")
        if upload is None:
            raise InvalidInput(
                "Attach the photo as `image`.", code="validation_error", details={"image": ["Required."]}
            )
        photo = services.review_photo_add(review=review, upload=upload)
        return Response(s.PhotoSerializer(photo).data, status=status.HTTP_201_CREATED)


class ReviewPhotoView(GenericAPIView):
    access_policy = CUSTOMERS
    serializer_class = s.PhotoSerializer

    @extend_schema(
        operation_id="reviews_photos_delete",
        summary="Remove a photo from my review",
        description="The file is deleted too.",
        request=None,
        responses={204: None},
        tags=["reviews"],
    )
    def delete(self, request: Request, review_id: int, photo_id: int) -> Response:
        review = _own(request, review_id)
        photo = get_or_404(
            ReviewPhoto.objects.filter(review=review).select_related("review"), "No such photo.", pk=photo_id
        )
        services.review_photo_delete(photo=photo)
        return Response(status=status.HTTP_204_NO_CONTENT)
