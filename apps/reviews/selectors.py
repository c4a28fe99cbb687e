"""Review reads: who may review (verified purchases), public lists, the moderation queue, summaries."""

from __future__ import annotations

import contextlib
import time
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db.models import Prefetch, Q, QuerySet, Subquery

from apps.accounts.policy import Principal
from apps.catalog.models import Product
from apps.orders.models import Order, OrderStatus
from apps.reviews.models import Review, ReviewAggregate, ReviewPhoto, ReviewStatus
from apps.stock.models import Location, StockItem

SUMMARY_CACHE_SECONDS = 300


def verifying_order(
    *, customer: object, product: Product | None = None, location: Location | None = None
) -> Order | None:
    """The customer's latest completed order that proves the purchase: one with a variant of the
    product, or a pickup or curbside order collected at the location."""
    orders = Order.objects.filter(customer=customer, status=OrderStatus.COMPLETED)
    if product is not None:
        orders = orders.filter(lines__variant__product=product)
    else:
        orders = orders.filter(location=location, fulfilment__in=[Order.Fulfilment.PICKUP, Order.Fulfilment.CURBSIDE])
    return orders.order_by("-completed_at", "-id").first()


def _with_relations(reviews: QuerySet[Review]) -> QuerySet[Review]:
    return reviews.select_related("customer", "reply").prefetch_related(
        Prefetch("photos", queryset=ReviewPhoto.objects.order_by("id"))
    )


def review_list_public(*, product: Product | None = None, location: Location | None = None) -> QuerySet[Review]:
    """Published, not deleted reviews of one subject, with author, reply and photos (3 queries a page)."""
    subject = {"product": product} if product is not None else {"location": location}
    return _with_relations(Review.objects.filter(status=ReviewStatus.PUBLISHED, is_deleted=False, **subject))


def review_list_public_any() -> QuerySet[Review]:
    """Every public review (reports and votes are only for those)."""
    return _with_relations(Review.objects.filter(status=ReviewStatus.PUBLISHED, is_deleted=False))


def review_list_visible(*, principal: Principal, user: object) -> QuerySet[Review]:
    """Reviews a caller may open: staff the ones they moderate, customers the public ones and their own,
    everybody else the public ones."""
    reviews = _with_relations(Review.objects.all())
    public = Q(status=ReviewStatus.PUBLISHED, is_deleted=False)
    if principal.kind == "staff":
        return reviews.filter(public | Q(pk__in=review_list_moderated(principal=principal, user=user).values("pk")))
    if principal.kind in {"guest", "retail", "wholesale"}:
        return reviews.filter(public | Q(customer=user))
    return reviews.filter(public)


def review_list_moderated(*, principal: Principal, user: object) -> QuerySet[Review]:
    """What a staff member moderates: owners everything; store managers (without the owner role) the
    reviews of the locations they manage; other staff nothing."""
    reviews = Review.objects.all()
    if principal.kind != "staff":
        return reviews.none()
    if "owner" in principal.roles:
        return reviews
    if "store_manager" in principal.roles:
        return reviews.filter(location__managers=user)
    return reviews.none()


def moderation_queue(*, principal: Principal, user: object) -> QuerySet[Review]:
    return _with_relations(
        Review.objects.filter(pk__in=review_list_moderated(principal=principal, user=user).values("pk"))
    ).select_related("product", "location")


def reviews_recent_for_location(*, location: Location, limit: int = 10, published_only: bool = True) -> list[Review]:
    """Latest reviews of the location and of the products stocked there (for the store dashboard)."""
    stocked = StockItem.objects.filter(location=location).values("variant__product_id")
    reviews = Review.objects.filter(Q(location=location) | Q(product_id__in=Subquery(stocked)), is_deleted=False)
    if published_only:
        reviews = reviews.filter(status=ReviewStatus.PUBLISHED)
    return list(
        reviews.select_related("customer", "product", "location", "reply").order_by("-created_at", "-id")[:limit]
    )


def _cache_key(*, product_id: int | None, location_id: int | None) -> str:
    # Django's cache adds CACHE_KEY_PREFIX and the tenant's schema (django_tenants.cache.make_key).
    return f"reviews:summary:product:{product_id}" if product_id else f"reviews:summary:location:{location_id}"


def summary_cache_key(*, product_id: int | None = None, location_id: int | None = None) -> str:
    """The subject's key; the cached summary lives under `<key>:<generation>` (see review_summary)."""
    return _cache_key(product_id=product_id, location_id=location_id)


def summary_generation_bump(key: str) -> None:
    """After a change commits: a new generation, so no reader finds a summary computed before it."""
    with contextlib.suppress(Exception):  # Redis down: readers read the database meanwhile
        cache.set(f"{key}:gen", time.time_ns(), timeout=None)


def _summary(row: ReviewAggregate | None) -> dict:
    count = row.count if row else 0
    distribution = {str(n): (getattr(row, f"rating_{n}") if row else 0) for n in range(1, 6)}
    if not count:
        return {"count": 0, "average": None, "distribution": distribution, "verified_share": None}
    cents = Decimal("0.01")
    return {
        "count": count,
        "average": str((Decimal(row.rating_sum) / count).quantize(cents, rounding=ROUND_HALF_UP)),
        "distribution": distribution,
        "verified_share": str((Decimal(row.verified_count) / count).quantize(cents, rounding=ROUND_HALF_UP)),
    }


def review_summary(*, product: Product | None = None, location: Location | None = None) -> dict:
    """Count, average, 1-5 distribution and verified share of a subject's public reviews, from the
    aggregate row, cached in Redis.

    The copy is stored under the subject's current generation, which every change renews when it
    commits. A reader that computed its copy before a commit (or read the database just before it)
    stores it under the old generation, where no later reader looks: the cache never serves a
    summary older than the last committed change. Two Redis reads per cached answer."""
    product_id = product.pk if product is not None else None
    location_id = location.pk if location is not None else None
    base = _cache_key(product_id=product_id, location_id=location_id)
    key = None
    try:
        generation = cache.get(f"{base}:gen")
        if generation is None:  # never changed (or evicted): start a generation
            cache.add(f"{base}:gen", time.time_ns(), timeout=None)
            generation = cache.get(f"{base}:gen")
        key = f"{base}:{generation}"
        cached = cache.get(key)
    except Exception:  # Redis down: read the database
        cached = None
    if cached is not None:
        return cached
    row = ReviewAggregate.objects.filter(product_id=product_id, location_id=location_id).first()
    summary = _summary(row)
    if key is not None:
        with contextlib.suppress(Exception):  # a cache that cannot be written is only slower
            cache.set(key, summary, timeout=SUMMARY_CACHE_SECONDS)
    return summary


def aggregate_recount_values(*, product_id: int | None = None, location_id: int | None = None) -> dict:
    """What the aggregate of a subject must hold, counted from the reviews themselves."""
    from django.db.models import Count

    subject = {"product_id": product_id} if product_id else {"location_id": location_id}
    public = Review.objects.filter(status=ReviewStatus.PUBLISHED, is_deleted=False, **subject)
    by_rating = dict(public.values_list("rating").annotate(n=Count("id")).values_list("rating", "n"))
    verified = public.filter(verified_purchase=True).count()
    values = {f"rating_{n}": by_rating.get(n, 0) for n in range(1, 6)}
    values["count"] = sum(by_rating.values())
    values["rating_sum"] = sum(rating * n for rating, n in by_rating.items())
    values["verified_count"] = verified
    return values
