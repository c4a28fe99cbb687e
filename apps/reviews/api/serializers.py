from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.fields import StrictIntegerField
from apps.reviews.models import (
    Review,
    ReviewDecision,
    ReviewPhoto,
    ReviewReply,
    ReviewReport,
    ReviewRevision,
    ReviewStatus,
)


def author_name(user: object) -> str:
    """First name and last initial ("Rita R."), never the e-mail address."""
    parts = (getattr(user, "full_name", "") or "").split()
    if not parts:
        return "Customer"
    return parts[0] if len(parts) == 1 else f"{parts[0]} {parts[-1][0]}."


class PhotoSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ReviewPhoto
        fields = ["id", "url", "width", "height"]

    def get_url(self, photo: ReviewPhoto) -> str:
        return photo.image.url


class ReplySerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewReply
        fields = ["body", "created_at", "updated_at"]


class ReviewSerializer(serializers.ModelSerializer):
    """A review as the public sees it."""

    author = serializers.SerializerMethodField()
    photos = PhotoSerializer(many=True)
    reply = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "product_id",
            "location_id",
            "rating",
            "title",
            "body",
            "author",
            "verified_purchase",
            "helpful_count",
            "photos",
            "reply",
            "published_at",
            "edited_at",
        ]

    def get_author(self, review: Review) -> str:
        return author_name(review.customer)

    @extend_schema_field(ReplySerializer(allow_null=True))
    def get_reply(self, review: Review) -> dict | None:
        try:
            reply = review.reply
        except ReviewReply.DoesNotExist:
            return None
        return ReplySerializer(reply).data


class OwnReviewSerializer(ReviewSerializer):
    """The author's and the moderators' view: status, screening reasons, counts."""

    class Meta(ReviewSerializer.Meta):
        fields = [
            *ReviewSerializer.Meta.fields,
            "status",
            "is_deleted",
            "sentiment",
            "screening",
            "report_count",
            "open_report_count",
            "moderation_note",
            "created_at",
        ]


class ReviewInputSerializer(serializers.Serializer):
    rating = StrictIntegerField(min_value=1, max_value=5)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    body = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class ReviewUpdateSerializer(serializers.Serializer):
    rating = StrictIntegerField(min_value=1, max_value=5, required=False)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True)
    body = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class RevisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewRevision
        fields = ["rating", "title", "body", "status", "screening", "created_at"]


class DecisionSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField(help_text="Who decided; staff only (null for the author).")

    class Meta:
        model = ReviewDecision
        fields = ["source", "from_status", "to_status", "actor", "note", "reasons", "created_at"]

    def get_actor(self, decision: ReviewDecision) -> str | None:
        return decision.actor if self.context.get("staff") else None


class HistorySerializer(serializers.Serializer):
    revisions = RevisionSerializer(many=True)
    decisions = DecisionSerializer(many=True)


class ModerationSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReviewStatus.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class QueueReviewSerializer(OwnReviewSerializer):
    subject = serializers.SerializerMethodField()

    class Meta(OwnReviewSerializer.Meta):
        fields = [*OwnReviewSerializer.Meta.fields, "subject"]

    def get_subject(self, review: Review) -> str:
        return str(review.product or review.location)


class ReportInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ReviewReport.Reason.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewReport
        fields = ["id", "reason", "note", "created_at"]


class ReplyInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=2000)


class PhotoUploadSerializer(serializers.Serializer):
    image = serializers.ImageField(help_text="JPEG, PNG or WebP, at most 5 MB; stored re-encoded as JPEG.")


class SummarySerializer(serializers.Serializer):
    count = serializers.IntegerField()
    average = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True)
    distribution = serializers.DictField(child=serializers.IntegerField(), help_text='{"1": n, ..., "5": n}')
    verified_share = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True)
