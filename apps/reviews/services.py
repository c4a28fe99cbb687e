"""Every review write: submit, edit, delete, moderate, report, vote, reply, photos, recount.

Each service locks the review row first (`SELECT ... FOR UPDATE`), so what it reads as the review's
previous state is what the database holds; then it changes the review and applies the difference
of the review's contribution (counted or not, its rating, verified or not) to its subject's
`ReviewAggregate` with one `INSERT ... ON CONFLICT DO UPDATE SET count = count + ...` in the same
transaction. Two transactions changing reviews of one subject serialize on the aggregate row and
each adds its own difference, so the aggregate always equals a recount of the published, not
deleted reviews. When the transaction commits, the subject's cached summary gets a new generation
(apps.reviews.selectors.review_summary), so no copy from before the change is served again.

Every status decision (screening, a moderator, reports, the author's deletion) is written as a
`ReviewDecision` with its reasons, and the review is saved through the ORM so django-auditlog
records the change with its actor. A review that becomes published writes a `review.published`
outbox event.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.catalog.models import Product
from apps.core.audit import current_actor
from apps.core.errors import InvalidInput, NotFound
from apps.core.services import events_record
from apps.reviews import screening, selectors
from apps.reviews.errors import (
    AlreadyReported,
    NotABuyer,
    OwnReview,
    ReviewExists,
    ReviewNotEditable,
    TooManyPhotos,
)
from apps.reviews.models import (
    Review,
    ReviewAggregate,
    ReviewDecision,
    ReviewPhoto,
    ReviewReply,
    ReviewReport,
    ReviewRevision,
    ReviewStatus,
    ReviewVote,
)
from apps.reviews.photos import photo_prepare
from apps.stock.models import Location

MAX_PHOTOS = 5
S = ReviewStatus


@dataclass(frozen=True)
class _Contribution:
    """What one review adds to its subject's aggregate (None: nothing, it is not public)."""

    product_id: int | None
    location_id: int | None
    rating: int
    verified: bool


def _contribution(review: Review) -> _Contribution | None:
    if not review.is_public:
        return None
    return _Contribution(review.product_id, review.location_id, review.rating, review.verified_purchase)


def _aggregate_apply(before: _Contribution | None, after: _Contribution | None) -> None:
    """Add the difference between a review's old and new contribution to its subject's aggregate."""
    if before == after:
        return
    ref = before or after
    delta = {"count": 0, "rating_sum": 0, "verified_count": 0, **{f"rating_{n}": 0 for n in range(1, 6)}}
    for part, sign in ((before, -1), (after, 1)):
        if part is None:
            continue
        delta["count"] += sign
        delta["rating_sum"] += sign * part.rating
        delta[f"rating_{part.rating}"] += sign
        delta["verified_count"] += sign * int(part.verified)
    columns = list(delta)
    target = "product_id" if ref.product_id else "location_id"
    table = ReviewAggregate._meta.db_table
    sets = ", ".join(f"{c} = {table}.{c} + %s" for c in columns)
    with connection.cursor() as cursor:
        # The row's lock serializes concurrent changes of one subject; each adds its own difference.
        cursor.execute(
            f"UPDATE {table} SET {sets}, updated_at = now() WHERE {target} = %s",
            [*delta.values(), ref.product_id or ref.location_id],
        )
        if cursor.rowcount == 0:  # the subject's first public review (PostgreSQL checks CHECK
            # constraints on the proposed row even when ON CONFLICT updates, so no negative rows here)
            excluded = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in columns)
            cursor.execute(
                f"INSERT INTO {table} (product_id, location_id, {', '.join(columns)}, updated_at) "
                f"VALUES (%s, %s, {', '.join(['%s'] * len(columns))}, now()) "
                f"ON CONFLICT ({target}) DO UPDATE SET {excluded}, updated_at = now()",
                [ref.product_id, ref.location_id, *delta.values()],
            )
    key = selectors.summary_cache_key(product_id=ref.product_id, location_id=ref.location_id)
    transaction.on_commit(lambda: selectors.summary_generation_bump(key))


def _actor_label() -> str:
    actor = current_actor()
    return (actor.label if actor else "")[:150]


def _decide(review: Review, *, source: str, previous: str, reasons: list | None = None, note: str = "") -> None:
    ReviewDecision.objects.create(
        review=review,
        source=source,
        from_status=previous,
        to_status=review.status,
        actor=_actor_label(),
        note=note[:500],
        reasons=reasons or [],
    )


def _published_event(review: Review) -> None:
    events_record(
        [
            (
                "review.published",
                {
                    "review_id": review.pk,
                    "subject": "product" if review.product_id else "location",
                    "product_id": review.product_id,
                    "location_id": review.location_id,
                    "rating": review.rating,
                    "verified_purchase": review.verified_purchase,
                },
            )
        ]
    )


def _lock(review: Review) -> Review:
    return Review.objects.select_for_update().get(pk=review.pk)


def _check_text(*, rating: int, title: str, body: str) -> None:
    errors = {}
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        errors["rating"] = ["A whole number from 1 to 5."]
    if len(title) > 120:
        errors["title"] = ["At most 120 characters."]
    if len(body) > 5000:
        errors["body"] = ["At most 5000 characters."]
    if not (title.strip() or body.strip()):
        errors["body"] = ["Write a title or a few words."]
    if errors:
        raise InvalidInput("The review is not valid.", code="validation_error", details=errors)


def _screen(*, review_id: int | None, customer: object, rating: int, title: str, body: str, burst: bool):  # noqa: ANN202
    recent = 0
    if burst:
        since = timezone.now() - screening.BURST_WINDOW
        recent = Review.objects.filter(customer=customer, created_at__gte=since).count()
    fingerprint = screening.fingerprint(f"{title}\n{body}")
    copied = None
    if fingerprint:
        copied = (
            Review.objects.filter(body_fingerprint=fingerprint)
            .exclude(pk=review_id)
            .order_by("id")
            .values_list("pk", flat=True)
            .first()
        )
    result = screening.screen(title=title, body=body, rating=rating, recent_submissions=recent, copied_from=copied)
    return result, fingerprint


@transaction.atomic
def review_create(
    *,
    customer: object,
    rating: int,
    title: str = "",
    body: str = "",
    product: Product | None = None,
    location: Location | None = None,
) -> Review:
    """A customer reviews a product they bought or a location they picked up from. Screened at once:
    published, held for a moderator or rejected, with the reasons stored."""
    if (product is None) == (location is None):
        raise InvalidInput("Review one product or one location.", code="validation_error")
    _check_text(rating=rating, title=title, body=body)
    order = selectors.verifying_order(customer=customer, product=product, location=location)
    if order is None and settings.REVIEW_REQUIRE_PURCHASE:
        raise NotABuyer()
    subject = {"product": product} if product is not None else {"location": location}
    if Review.objects.filter(customer=customer, **subject).exists():
        raise ReviewExists()
    result, fingerprint = _screen(review_id=None, customer=customer, rating=rating, title=title, body=body, burst=True)
    now = timezone.now()
    review = Review(
        customer=customer,
        rating=rating,
        title=title.strip(),
        body=body.strip(),
        status=result.decision,
        verified_purchase=order is not None,
        order=order,
        sentiment=result.sentiment,
        screening=result.as_json(),
        body_fingerprint=fingerprint,
        published_at=now if result.decision == S.PUBLISHED else None,
        **subject,
    )
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError as exc:  # a concurrent submission of the same customer won
        raise ReviewExists() from exc
    _decide(review, source=ReviewDecision.Source.SCREENING, previous="", reasons=result.as_json()["reasons"])
    _aggregate_apply(None, _contribution(review))
    if review.status == S.PUBLISHED:
        _published_event(review)
    return review


@transaction.atomic
def review_update(
    *, review: Review, rating: int | None = None, title: str | None = None, body: str | None = None
) -> Review:
    """The author edits: the previous text is kept as a revision and the new one screened again. A
    review a moderator (or reports) took off stays with the moderator: held, or rejected if the new
    text is rejected."""
    locked = _lock(review)
    if locked.is_deleted:
        raise ReviewNotEditable("A deleted review cannot be edited.")
    new_rating = locked.rating if rating is None else rating
    new_title = locked.title if title is None else title.strip()
    new_body = locked.body if body is None else body.strip()
    _check_text(rating=new_rating, title=new_title, body=new_body)
    before, previous = _contribution(locked), locked.status
    ReviewRevision.objects.create(
        review=locked,
        rating=locked.rating,
        title=locked.title,
        body=locked.body,
        status=locked.status,
        screening=locked.screening,
    )
    result, fingerprint = _screen(
        review_id=locked.pk, customer=locked.customer, rating=new_rating, title=new_title, body=new_body, burst=False
    )
    status = result.decision
    last = locked.decisions.order_by("-id").first()
    moderator_took_off = (
        last is not None
        and last.source in {ReviewDecision.Source.MODERATOR, ReviewDecision.Source.REPORTS}
        and previous != S.PUBLISHED
    )
    if moderator_took_off and status != S.REJECTED:
        status = S.HELD
    now = timezone.now()
    locked.rating, locked.title, locked.body = new_rating, new_title, new_body
    locked.status, locked.sentiment, locked.screening = status, result.sentiment, result.as_json()
    locked.body_fingerprint, locked.edited_at = fingerprint, now
    if status == S.PUBLISHED and locked.published_at is None:
        locked.published_at = now
    locked.save(
        update_fields=[
            "rating",
            "title",
            "body",
            "status",
            "sentiment",
            "screening",
            "body_fingerprint",
            "edited_at",
            "published_at",
        ]
    )
    reasons = result.as_json()["reasons"]
    if moderator_took_off and result.decision == S.PUBLISHED:
        reasons = [
            {"rule": "moderated", "action": "hold", "message": "Edited after a moderator decision.", "details": {}}
        ]
    _decide(locked, source=ReviewDecision.Source.SCREENING, previous=previous, reasons=reasons, note="edited")
    _aggregate_apply(before, _contribution(locked))
    if locked.status == S.PUBLISHED and previous != S.PUBLISHED:
        _published_event(locked)
    return locked


@transaction.atomic
def review_delete(*, review: Review) -> Review:
    """The author deletes: hidden from the public (and the aggregates), kept for the trail."""
    locked = _lock(review)
    if locked.is_deleted:
        return locked
    before = _contribution(locked)
    locked.is_deleted, locked.deleted_at = True, timezone.now()
    locked.save(update_fields=["is_deleted", "deleted_at"])
    _decide(locked, source=ReviewDecision.Source.AUTHOR, previous=locked.status, note="deleted by the author")
    _aggregate_apply(before, None)
    return locked


@transaction.atomic
def review_moderate(*, review: Review, status: str, note: str = "") -> Review:
    """A moderator publishes, holds or rejects a review. Open reports count as answered."""
    if status not in S.values:
        raise InvalidInput("Unknown status.", code="validation_error", details={"status": [f"One of {S.values}."]})
    locked = _lock(review)
    before, previous = _contribution(locked), locked.status
    now = timezone.now()
    ReviewReport.objects.filter(review=locked, resolved_at__isnull=True).update(resolved_at=now)
    locked.status, locked.moderation_note, locked.moderated_at = status, note[:500], now
    locked.open_report_count = 0
    if status == S.PUBLISHED and locked.published_at is None:
        locked.published_at = now
    locked.save(update_fields=["status", "moderation_note", "moderated_at", "open_report_count", "published_at"])
    _decide(locked, source=ReviewDecision.Source.MODERATOR, previous=previous, note=note)
    _aggregate_apply(before, _contribution(locked))
    if status == S.PUBLISHED and previous != S.PUBLISHED:
        _published_event(locked)
    return locked


@transaction.atomic
def review_report(*, review: Review, reporter: object, reason: str, note: str = "") -> ReviewReport:
    """A customer reports a public review; REVIEW_REPORTS_TO_HOLD open reports hold it again."""
    if reason not in ReviewReport.Reason.values:
        raise InvalidInput("Unknown reason.", code="validation_error", details={"reason": ["Not a known reason."]})
    locked = _lock(review)
    if not locked.is_public:
        raise NotFound("No such review.")
    if locked.customer_id == getattr(reporter, "pk", None):
        raise OwnReview("You cannot report your own review.")
    try:
        with transaction.atomic():
            report = ReviewReport.objects.create(review=locked, reporter=reporter, reason=reason, note=note[:500])
    except IntegrityError as exc:
        raise AlreadyReported() from exc
    before, previous = _contribution(locked), locked.status
    locked.report_count += 1
    locked.open_report_count += 1
    fields = ["report_count", "open_report_count"]
    limit = settings.REVIEW_REPORTS_TO_HOLD
    if locked.open_report_count >= limit:
        locked.status = S.HELD
        fields.append("status")
    locked.save(update_fields=fields)
    if locked.status != previous:
        reasons = [
            {
                "rule": "reports",
                "action": "hold",
                "message": f"{locked.open_report_count} reports since the last moderator decision.",
                "details": {"open_reports": locked.open_report_count, "limit": limit},
            }
        ]
        _decide(locked, source=ReviewDecision.Source.REPORTS, previous=previous, reasons=reasons)
        _aggregate_apply(before, _contribution(locked))
    return report


def _public_not_own(review: Review, customer: object) -> None:
    if not review.is_public:
        raise NotFound("No such review.")
    if review.customer_id == getattr(customer, "pk", None):
        raise OwnReview("You cannot vote for your own review.")


@transaction.atomic
def review_vote_helpful(*, review: Review, customer: object) -> Review:
    """One "helpful" per customer and review; voting again changes nothing."""
    _public_not_own(review, customer)
    try:
        with transaction.atomic():
            ReviewVote.objects.create(review=review, customer=customer)
    except IntegrityError:
        return Review.objects.get(pk=review.pk)
    Review.objects.filter(pk=review.pk).update(helpful_count=F("helpful_count") + 1)
    return Review.objects.get(pk=review.pk)


@transaction.atomic
def review_vote_withdraw(*, review: Review, customer: object) -> Review:
    deleted, _ = ReviewVote.objects.filter(review=review, customer=customer).delete()
    if deleted:
        Review.objects.filter(pk=review.pk, helpful_count__gt=0).update(helpful_count=F("helpful_count") - 1)
    return Review.objects.get(pk=review.pk)


@transaction.atomic
def review_reply_set(*, review: Review, author: object, body: str) -> ReviewReply:
    """The business answers (or rewrites its answer); shown under the review."""
    body = body.strip()
    if not body or len(body) > 2000:
        raise InvalidInput(
            "Write a reply of 1 to 2000 characters.", code="validation_error", details={"body": ["1-2000 characters."]}
        )
    reply = ReviewReply.objects.filter(review=review).select_for_update().first()
    if reply is None:
        return ReviewReply.objects.create(review=review, author=author, body=body)
    reply.author, reply.body = author, body
    reply.save(update_fields=["author", "body", "updated_at"])
    return reply


@transaction.atomic
def review_reply_delete(*, review: Review) -> None:
    reply = ReviewReply.objects.filter(review=review).first()
    if reply is not None:
        reply.delete()


def review_photo_add(*, review: Review, upload: UploadedFile) -> ReviewPhoto:
    """Add a photo (at most MAX_PHOTOS): validated and re-encoded (apps.reviews.photos) before the
    transaction, so decoding never holds the review's lock."""
    content = photo_prepare(upload)
    with transaction.atomic():
        locked = _lock(review)
        if locked.is_deleted:
            raise ReviewNotEditable("A deleted review cannot get photos.")
        if locked.photos.count() >= MAX_PHOTOS:
            raise TooManyPhotos(f"A review has at most {MAX_PHOTOS} photos.")
        photo = ReviewPhoto(review=locked)
        photo.image.save(content.name, content, save=False)
        photo.save()
        locked.photo_count = locked.photos.count()
        locked.save(update_fields=["photo_count"])
    return photo


@transaction.atomic
def review_photo_delete(*, photo: ReviewPhoto) -> None:
    locked = _lock(photo.review)
    name = photo.image.name
    storage = photo.image.storage
    photo.delete()
    locked.photo_count = locked.photos.count()
    locked.save(update_fields=["photo_count"])
    transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def review_aggregate_recount(*, product: Product | None = None, location: Location | None = None) -> ReviewAggregate:
    """Rebuild one subject's aggregate from its reviews, under the aggregate row's lock (repair)."""
    product_id = product.pk if product is not None else None
    location_id = location.pk if location is not None else None
    target = "product_id" if product_id else "location_id"
    table = ReviewAggregate._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (product_id, location_id, count, rating_sum, rating_1, rating_2, rating_3, "
            f"rating_4, rating_5, verified_count, updated_at) VALUES (%s, %s, 0, 0, 0, 0, 0, 0, 0, 0, now()) "
            f"ON CONFLICT ({target}) DO NOTHING",
            [product_id, location_id],
        )
    row = ReviewAggregate.objects.select_for_update().get(product_id=product_id, location_id=location_id)
    values = selectors.aggregate_recount_values(product_id=product_id, location_id=location_id)
    for name, value in values.items():
        setattr(row, name, value)
    row.save(update_fields=[*values, "updated_at"])
    key = selectors.summary_cache_key(product_id=product_id, location_id=location_id)
    transaction.on_commit(lambda: selectors.summary_generation_bump(key))
    return row
