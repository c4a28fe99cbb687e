"""Reviews in the admin: moderation in bulk (the actions call the same services as the API, so
every decision is recorded, audited and moves the aggregates), replies through the reply service."""

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html

from apps.catalog.models import Product
from apps.core.errors import ApplicationError
from apps.reviews import services
from apps.reviews.models import (
    Review,
    ReviewAggregate,
    ReviewDecision,
    ReviewPhoto,
    ReviewReply,
    ReviewReport,
    ReviewRevision,
    ReviewStatus,
)
from apps.stock.models import Location


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class PhotoInline(_ReadOnlyInline):
    model = ReviewPhoto
    fields = ["preview", "width", "height", "created_at"]
    readonly_fields = fields

    @admin.display(description="Photo")
    def preview(self, photo: ReviewPhoto) -> str:
        return format_html('<a href="{0}"><img src="{0}" style="max-height:80px"></a>', photo.image.url)


class DecisionInline(_ReadOnlyInline):
    model = ReviewDecision
    fields = ["created_at", "source", "from_status", "to_status", "actor", "note", "reasons"]
    readonly_fields = fields


class RevisionInline(_ReadOnlyInline):
    model = ReviewRevision
    fields = ["created_at", "rating", "title", "body", "status"]
    readonly_fields = fields


class ReportInline(_ReadOnlyInline):
    model = ReviewReport
    fields = ["created_at", "reporter", "reason", "note", "resolved_at"]
    readonly_fields = fields


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Reviews change through moderation (the actions), like through the API."""

    list_display = [
        "id",
        "subject",
        "rating",
        "status",
        "is_deleted",
        "verified_purchase",
        "open_report_count",
        "helpful_count",
        "reasons",
        "created_at",
    ]
    list_filter = ["status", "rating", "verified_purchase", "is_deleted", "location"]
    search_fields = ["title", "body", "customer__email", "product__name"]
    list_select_related = ["product", "location", "customer"]
    readonly_fields = [f.name for f in Review._meta.fields]
    inlines = [PhotoInline, ReportInline, DecisionInline, RevisionInline]
    actions = ["publish", "hold", "reject", "recount"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Subject")
    def subject(self, review: Review) -> str:
        return str(review.product or review.location)

    @admin.display(description="Screening")
    def reasons(self, review: Review) -> str:
        return "; ".join(r.get("rule", "") for r in (review.screening or {}).get("reasons", [])) or "-"

    def _moderate(self, request: HttpRequest, queryset, status: str) -> None:  # noqa: ANN001
        done = 0
        for review in queryset:
            try:
                services.review_moderate(review=review, status=status, note=f"admin: {request.user}")
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"review {review.pk}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} review(s) now {status}.")

    @admin.action(description="Publish", permissions=["change"])
    def publish(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        self._moderate(request, queryset, ReviewStatus.PUBLISHED)

    @admin.action(description="Hold for a moderator", permissions=["change"])
    def hold(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        self._moderate(request, queryset, ReviewStatus.HELD)

    @admin.action(description="Reject", permissions=["change"])
    def reject(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        self._moderate(request, queryset, ReviewStatus.REJECTED)

    @admin.action(description="Recount the ratings of their products and locations", permissions=["change"])
    def recount(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        subjects = set(queryset.values_list("product_id", "location_id"))
        for product_id, location_id in subjects:
            services.review_aggregate_recount(
                product=Product.objects.get(pk=product_id) if product_id else None,
                location=Location.objects.get(pk=location_id) if location_id else None,
            )
        self.message_user(request, f"Recounted {len(subjects)} rating summaries.")


@admin.register(ReviewReply)
class ReviewReplyAdmin(admin.ModelAdmin):
    """The business's answers; saved and deleted through the reply service."""

    list_display = ["review", "author", "updated_at"]
    list_select_related = ["review", "author"]
    raw_id_fields = ["review"]
    fields = ["review", "body"]

    def save_model(self, request: HttpRequest, obj: ReviewReply, form, change: bool) -> None:  # noqa: ANN001
        saved = services.review_reply_set(review=obj.review, author=request.user, body=obj.body)
        obj.pk, obj.author_id = saved.pk, saved.author_id

    def delete_model(self, request: HttpRequest, obj: ReviewReply) -> None:
        services.review_reply_delete(review=obj.review)


@admin.register(ReviewAggregate)
class ReviewAggregateAdmin(admin.ModelAdmin):
    list_display = ["__str__", "count", "rating_sum", "verified_count", "updated_at"]
    readonly_fields = [f.name for f in ReviewAggregate._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


from apps.stock.admin import _scope_to_managed_locations  # noqa: E402

_scope_to_managed_locations(ReviewAdmin, "location")
