"""Reviews of products and locations: screened on submit, moderated, aggregated per subject.

A review is about exactly one subject: a product (bought in a completed order) or a location (picked
up from). Its `status` says whether the public sees it (published) or a moderator must look at it
(held) or it was turned down (rejected); `is_deleted` is the author's own removal (hidden from the
public, kept for the trail). Edits keep the previous text as `ReviewRevision`s; every decision on the
status (screening, a moderator, reports) is a `ReviewDecision`. `ReviewAggregate` keeps count,
rating sum, distribution and verified count of the published, not deleted reviews of one subject,
changed in the same transaction as the review (apps.reviews.services).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models
from django.db.models import F, Q

from apps.catalog.models import Product
from apps.stock.models import Location


class ReviewStatus(models.TextChoices):
    PUBLISHED = "published", "Published"
    HELD = "held", "Held for a moderator"
    REJECTED = "rejected", "Rejected"


def photo_upload_to(instance: ReviewPhoto, filename: str) -> str:
    """Files of one tenant stay under its own folder; names are never the client's."""
    schema = getattr(connection, "schema_name", "public")
    return f"reviews/{schema}/{instance.review_id}/{uuid.uuid4().hex}.jpg"


class Review(models.Model):
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="reviews")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    title = models.CharField(max_length=120, blank=True)
    body = models.TextField(max_length=5000, blank=True)
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, db_index=True)
    is_deleted = models.BooleanField(default=False, help_text="Deleted by its author: hidden from the public.")
    verified_purchase = models.BooleanField(default=False)
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The completed order that verified the purchase (or the pickup).",
    )
    sentiment = models.FloatField(default=0.0, help_text="VADER compound score, -1 (negative) to 1 (positive).")
    screening = models.JSONField(default=dict, blank=True, help_text="The last screening: decision and reasons.")
    body_fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    moderation_note = models.CharField(max_length=500, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    report_count = models.PositiveIntegerField(default=0)
    open_report_count = models.PositiveIntegerField(default=0, help_text="Reports since the last moderator decision.")
    helpful_count = models.PositiveIntegerField(default=0)
    photo_count = models.PositiveSmallIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(product__isnull=False) & Q(location__isnull=True))
                | (Q(product__isnull=True) & Q(location__isnull=False)),
                name="review_one_subject",
            ),
            models.CheckConstraint(condition=Q(rating__gte=1) & Q(rating__lte=5), name="review_rating_1_to_5"),
            models.UniqueConstraint(
                fields=["customer", "product"], condition=Q(product__isnull=False), name="one_review_per_product"
            ),
            models.UniqueConstraint(
                fields=["customer", "location"], condition=Q(location__isnull=False), name="one_review_per_location"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "status", "is_deleted", "published_at"], name="review_product_public"),
            models.Index(fields=["location", "status", "is_deleted", "published_at"], name="review_location_public"),
            models.Index(fields=["customer", "created_at"], name="review_customer_recent"),
        ]

    def __str__(self) -> str:
        return f"review {self.pk} ({self.rating}/5, {self.status})"

    @property
    def is_public(self) -> bool:
        return self.status == ReviewStatus.PUBLISHED and not self.is_deleted


class ReviewRevision(models.Model):
    """The text a review had before an edit (the history)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="revisions")
    rating = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=120, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=ReviewStatus.choices)
    screening = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"revision {self.pk} of review {self.review_id}"


class ReviewDecision(models.Model):
    """The trail of a review's status: who or what decided it, and why."""

    class Source(models.TextChoices):
        SCREENING = "screening", "Screening on submit or edit"
        MODERATOR = "moderator", "A moderator"
        REPORTS = "reports", "Customer reports"
        AUTHOR = "author", "The author (deleted)"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="decisions")
    source = models.CharField(max_length=16, choices=Source.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=500, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status} ({self.source})"


class ReviewPhoto(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=photo_upload_to, width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"photo {self.pk} of review {self.review_id}"


class ReviewReport(models.Model):
    class Reason(models.TextChoices):
        SPAM = "spam", "Spam or advertising"
        OFFENSIVE = "offensive", "Offensive"
        OFF_TOPIC = "off_topic", "Not about this product or store"
        FAKE = "fake", "Not a genuine experience"
        OTHER = "other", "Other"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="A moderator decided after this report.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["review", "reporter"], name="one_report_per_customer")]

    def __str__(self) -> str:
        return f"report of review {self.review_id}: {self.reason}"


ReportReason = ReviewReport.Reason  # for the OpenAPI enum name (config/settings/drf.py)


class ReviewVote(models.Model):
    """A customer found the review helpful (one vote per customer and review)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="votes")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "customer"], name="one_vote_per_customer")]

    def __str__(self) -> str:
        return f"helpful: review {self.review_id}"


class ReviewReply(models.Model):
    """The business's answer, shown under the review."""

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="reply")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "review replies"

    def __str__(self) -> str:
        return f"reply to review {self.review_id}"


class ReviewAggregate(models.Model):
    """Published, not deleted reviews of one subject: count, rating sum, 1-5 distribution, verified."""

    product = models.OneToOneField(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="review_aggregate"
    )
    location = models.OneToOneField(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="review_aggregate"
    )
    count = models.IntegerField(default=0)
    rating_sum = models.IntegerField(default=0)
    rating_1 = models.IntegerField(default=0)
    rating_2 = models.IntegerField(default=0)
    rating_3 = models.IntegerField(default=0)
    rating_4 = models.IntegerField(default=0)
    rating_5 = models.IntegerField(default=0)
    verified_count = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(product__isnull=False) & Q(location__isnull=True))
                | (Q(product__isnull=True) & Q(location__isnull=False)),
                name="review_aggregate_one_subject",
            ),
            models.CheckConstraint(
                condition=Q(count__gte=0)
                & Q(rating_1__gte=0)
                & Q(rating_2__gte=0)
                & Q(rating_3__gte=0)
                & Q(rating_4__gte=0)
                & Q(rating_5__gte=0)
                & Q(verified_count__gte=0)
                & Q(verified_count__lte=F("count"))
                & Q(count=F("rating_1") + F("rating_2") + F("rating_3") + F("rating_4") + F("rating_5"))
                & Q(
                    rating_sum=F("rating_1")
                    + 2 * F("rating_2")
                    + 3 * F("rating_3")
                    + 4 * F("rating_4")
                    + 5 * F("rating_5")
                ),
                name="review_aggregate_consistent",
            ),
        ]

    def __str__(self) -> str:
        subject = f"product {self.product_id}" if self.product_id else f"location {self.location_id}"
        return f"{self.count} reviews of {subject}"
