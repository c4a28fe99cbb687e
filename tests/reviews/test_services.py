"""Review services against PostgreSQL: who may review, screening outcomes, edits with history,
deletion, moderation (audited), reports that hold a review again, votes, replies and aggregates."""

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django_tenants.utils import tenant_context

from apps.core.audit import acting_as
from apps.core.context import Actor
from apps.core.models import OutboxEvent
from apps.reviews import selectors, services
from apps.reviews.errors import AlreadyReported, NotABuyer, OwnReview, ReviewExists
from apps.reviews.models import Review, ReviewAggregate, ReviewReport


def agg(product=None, location=None):
    row = ReviewAggregate.objects.filter(
        product_id=getattr(product, "pk", None), location_id=getattr(location, "pk", None)
    ).first()
    if row is None:
        return {"count": 0}
    return {
        "count": row.count,
        "rating_sum": row.rating_sum,
        "verified_count": row.verified_count,
        **{f"rating_{n}": getattr(row, f"rating_{n}") for n in range(1, 6)},
    }


def recount(product=None, location=None):
    values = selectors.aggregate_recount_values(
        product_id=getattr(product, "pk", None), location_id=getattr(location, "pk", None)
    )
    return values if values["count"] else {"count": 0}


def published_events():
    return list(OutboxEvent.objects.filter(topic="review.published").values_list("payload", flat=True))


GOOD = "Lovely fruity heat, great on tacos and eggs."


def test_a_buyer_reviews_a_product_it_is_published_verified_counted_and_announced(shop):
    buyer = shop.buyer("Rita Retail")
    with tenant_context(shop.tenant):
        review = services.review_create(customer=buyer, product=shop.product, rating=5, title="Yum", body=GOOD)
        assert review.status == "published" and review.verified_purchase and review.order.status == "completed"
        assert review.screening == {"decision": "published", "sentiment": review.sentiment, "reasons": []}
        assert agg(shop.product) == {**recount(shop.product), "count": 1}
        assert agg(shop.product)["rating_5"] == 1 and agg(shop.product)["verified_count"] == 1
        (decision,) = review.decisions.all()
        assert (decision.source, decision.from_status, decision.to_status) == ("screening", "", "published")
        assert published_events() == [
            {
                "review_id": review.pk,
                "subject": "product",
                "product_id": shop.product.pk,
                "location_id": None,
                "rating": 5,
                "verified_purchase": True,
            }
        ]


def test_only_buyers_can_review_a_product(shop):
    stranger = shop.customer()
    chips_buyer = shop.buyer(variant=shop.chips)
    with tenant_context(shop.tenant):
        with pytest.raises(NotABuyer):
            services.review_create(customer=stranger, product=shop.product, rating=4, body=GOOD)
        with pytest.raises(NotABuyer):  # bought something else
            services.review_create(customer=chips_buyer, product=shop.product, rating=4, body=GOOD)
        assert not Review.objects.exists()


def test_an_order_that_is_not_completed_does_not_count_as_a_purchase(shop):
    from apps.orders.services import LineRequest, order_place

    customer = shop.customer()
    with tenant_context(shop.tenant):
        order_place(
            customer=customer, channel="retail", fulfilment="pickup", location=shop.store,
            lines=[LineRequest(shop.sauce, 1)],
        )  # fmt: skip
        with pytest.raises(NotABuyer):
            services.review_create(customer=customer, product=shop.product, rating=4, body=GOOD)


def test_without_the_purchase_rule_anyone_may_review_but_only_buyers_are_verified(shop, settings):
    settings.REVIEW_REQUIRE_PURCHASE = False
    stranger, buyer = shop.customer(), shop.buyer()
    with tenant_context(shop.tenant):
        unverified = services.review_create(
            customer=stranger, product=shop.product, rating=2, body="Too salty for me."
        )
        services.review_create(customer=buyer, product=shop.product, rating=4, body=GOOD)
        assert unverified.verified_purchase is False and unverified.order is None
        assert selectors.review_summary(product=shop.product)["verified_share"] == "0.50"


def test_a_location_review_needs_a_pickup_there(shop):
    picked_up = shop.buyer(fulfilment="curbside")
    delivered = shop.buyer(fulfilment="delivery")
    elsewhere = shop.buyer(location=shop.other_store)
    with tenant_context(shop.tenant):
        review = services.review_create(
            customer=picked_up, location=shop.store, rating=4, body="Friendly staff, fast."
        )
        assert review.verified_purchase and review.location_id == shop.store.pk
        for customer in (delivered, elsewhere):
            with pytest.raises(NotABuyer):
                services.review_create(customer=customer, location=shop.store, rating=4, body="Nice shop.")
        assert agg(location=shop.store)["count"] == 1


def test_one_review_per_customer_and_subject(shop):
    buyer = shop.buyer()
    with tenant_context(shop.tenant):
        services.review_create(customer=buyer, product=shop.product, rating=5, body=GOOD)
        with pytest.raises(ReviewExists):
            services.review_create(customer=buyer, product=shop.product, rating=1, body="Changed my mind.")
        services.review_create(customer=buyer, location=shop.store, rating=4, body="Nice shop, kind people.")
        assert Review.objects.filter(customer=buyer).count() == 2


def test_a_held_review_is_not_public_not_counted_and_not_announced(shop):
    buyer = shop.buyer()
    with tenant_context(shop.tenant):
        review = services.review_create(customer=buyer, product=shop.product, rating=5, body="This is the shit")
        assert review.status == "held"
        assert [r["rule"] for r in review.screening["reasons"]] == ["profanity"]
        assert agg(shop.product) == {"count": 0} or agg(shop.product)["count"] == 0
        assert published_events() == []
        assert not selectors.review_list_public(product=shop.product).exists()


def test_a_rejected_review_keeps_its_reasons(shop):
    buyer = shop.buyer()
    with tenant_context(shop.tenant):
        review = services.review_create(
            customer=buyer, product=shop.product, rating=5, body="Cheaper at sauce-deals.com"
        )
        assert review.status == "rejected"
        assert review.screening["reasons"][0]["rule"] == "links"
        assert review.decisions.get().reasons[0]["rule"] == "links"


def test_copied_text_from_another_customer_is_rejected_naming_the_original(shop):
    first, second = shop.buyer(), shop.buyer()
    text = "Bright, tangy and hot; it goes with everything I cook at home."
    with tenant_context(shop.tenant):
        original = services.review_create(customer=first, product=shop.product, rating=5, body=text)
        copy = services.review_create(customer=second, product=shop.product, rating=5, body=text.upper().lower())
        assert original.status == "published" and copy.status == "rejected"
        assert copy.screening["reasons"][0]["details"] == {"review_id": original.pk}


def test_a_burst_of_reviews_from_one_customer_holds_the_fourth(shop):
    customer = shop.customer()
    with tenant_context(shop.tenant):
        products = []
        for _ in range(4):
            from tests import factories as f

            variant = f.variant()
            f.receive(shop.store, variant, 5)
            shop.complete_order(customer, variant=variant)
            products.append(variant.product)
        outcomes = [
            services.review_create(customer=customer, product=p, rating=4, body=f"Good sauce number {i}, nice.").status
            for i, p in enumerate(products)
        ]
        assert outcomes == ["published", "published", "published", "held"]
        last = Review.objects.order_by("-id").first()
        assert last.screening["reasons"][0]["rule"] == "burst"


def test_an_edit_keeps_the_history_and_moves_the_aggregate(shop):
    buyer = shop.buyer()
    with tenant_context(shop.tenant):
        review = services.review_create(customer=buyer, product=shop.product, rating=5, title="Yum", body=GOOD)
        edited = services.review_update(review=review, rating=3, body="Good, but a bit too sweet for me.")
        assert edited.status == "published" and edited.edited_at
        (revision,) = edited.revisions.all()
        assert (revision.rating, revision.title, revision.body, revision.status) == (5, "Yum", GOOD, "published")
        assert agg(shop.product) == recount(shop.product)
        assert (agg(shop.product)["rating_5"], agg(shop.product)["rating_3"]) == (0, 1)
        profane = services.review_update(review=review, body="Actually it is shit.")
        assert profane.status == "held" and profane.revisions.count() == 2
        assert agg(shop.product)["count"] == 0 == recount(shop.product)["count"]


def test_an_edit_cannot_undo_a_moderators_rejection(shop):
    buyer = shop.buyer()
    with tenant_context(shop.tenant):
        review = services.review_create(customer=buyer, product=shop.product, rating=5, body=GOOD)
        services.review_moderate(review=review, status="rejected", note="fake")
        edited = services.review_update(review=review, body="Really lovely sauce, I promise.")
        assert edited.status == "held"
        assert edited.decisions.order_by("-id").first().reasons[0]["rule"] == "moderated"


def test_deleting_hides_the_review_and_takes_it_out_of_the_aggregate(shop):
    buyer = shop.buyer()
    with tenant_context(shop.tenant):
        review = services.review_create(customer=buyer, product=shop.product, rating=4, body=GOOD)
        services.review_delete(review=review)
        review.refresh_from_db()
        assert review.is_deleted and review.deleted_at and review.status == "published"
        assert not selectors.review_list_public(product=shop.product).exists()
        assert agg(shop.product)["count"] == 0 == recount(shop.product)["count"]
        assert review.decisions.order_by("-id").first().source == "author"


def test_moderation_publishes_a_held_review_counts_it_announces_it_and_is_audited(shop):
    buyer, moderator = shop.buyer(), shop.staff("owner")
    with tenant_context(shop.tenant):
        review = services.review_create(customer=buyer, product=shop.product, rating=5, body="Hot hot hot hot!")
        assert review.status == "held"
        with acting_as(Actor(kind="user", label=moderator.email, user_id=moderator.pk)):
            services.review_moderate(review=review, status="published", note="just enthusiastic")
        review.refresh_from_db()
        assert review.status == "published" and review.moderation_note == "just enthusiastic"
        assert agg(shop.product)["count"] == 1
        assert [e["review_id"] for e in published_events()] == [review.pk]
        decision = review.decisions.order_by("-id").first()
        assert (decision.source, decision.from_status, decision.to_status, decision.actor) == (
            "moderator",
            "held",
            "published",
            moderator.email,
        )
        entry = LogEntry.objects.get_for_object(review).filter(action=LogEntry.Action.UPDATE).latest("id")
        assert entry.changes_dict["status"] == ["held", "published"]
        assert entry.actor_id == moderator.pk
        assert LogEntry.objects.get_for_object(decision).filter(action=LogEntry.Action.CREATE).exists()


def test_moderation_can_hide_a_published_review(shop):
    buyer = shop.buyer()
    with tenant_context(shop.tenant):
        review = services.review_create(customer=buyer, product=shop.product, rating=1, body="Not for me, too hot.")
        services.review_moderate(review=review, status="held")
        assert agg(shop.product)["count"] == 0
        services.review_moderate(review=review, status="rejected")
        assert agg(shop.product)["count"] == 0 == recount(shop.product)["count"]


def test_reports_hold_a_review_and_new_reports_hold_it_again_after_a_moderator(shop, settings):
    settings.REVIEW_REPORTS_TO_HOLD = 3
    author = shop.buyer()
    reporters = [shop.customer(f"Reporter {i}") for i in range(6)]
    with tenant_context(shop.tenant):
        review = services.review_create(customer=author, product=shop.product, rating=5, body=GOOD)
        for reporter in reporters[:2]:
            services.review_report(review=review, reporter=reporter, reason="fake")
        review.refresh_from_db()
        assert (review.status, review.open_report_count) == ("published", 2)
        services.review_report(review=review, reporter=reporters[2], reason="spam", note="advert")
        review.refresh_from_db()
        assert review.status == "held" and agg(shop.product)["count"] == 0
        hold = review.decisions.order_by("-id").first()
        assert hold.source == "reports" and hold.reasons[0]["details"] == {"open_reports": 3, "limit": 3}

        services.review_moderate(review=review, status="published", note="genuine")
        review.refresh_from_db()
        assert (review.status, review.open_report_count, review.report_count) == ("published", 0, 3)
        assert not ReviewReport.objects.filter(review=review, resolved_at__isnull=True).exists()

        with pytest.raises(AlreadyReported):
            services.review_report(review=review, reporter=reporters[0], reason="fake")
        for reporter in reporters[3:]:
            services.review_report(review=review, reporter=reporter, reason="offensive")
        review.refresh_from_db()
        assert review.status == "held" and review.report_count == 6
        assert agg(shop.product)["count"] == 0 == recount(shop.product)["count"]
        sources = list(review.decisions.order_by("id").values_list("source", flat=True))
        assert sources == ["screening", "reports", "moderator", "reports"]


def test_an_author_cannot_report_or_vote_for_their_own_review(shop):
    author = shop.buyer()
    with tenant_context(shop.tenant):
        review = services.review_create(customer=author, product=shop.product, rating=5, body=GOOD)
        with pytest.raises(OwnReview):
            services.review_report(review=review, reporter=author, reason="spam")
        with pytest.raises(OwnReview):
            services.review_vote_helpful(review=review, customer=author)


def test_helpful_votes_are_one_per_customer_and_can_be_withdrawn(shop):
    author, fan, other = shop.buyer(), shop.customer(), shop.customer()
    with tenant_context(shop.tenant):
        review = services.review_create(customer=author, product=shop.product, rating=5, body=GOOD)
        services.review_vote_helpful(review=review, customer=fan)
        assert services.review_vote_helpful(review=review, customer=fan).helpful_count == 1
        assert services.review_vote_helpful(review=review, customer=other).helpful_count == 2
        assert services.review_vote_withdraw(review=review, customer=fan).helpful_count == 1
        assert services.review_vote_withdraw(review=review, customer=fan).helpful_count == 1


def test_a_merchant_reply_is_set_replaced_and_removed(shop):
    author, staff = shop.buyer(), shop.staff()
    with tenant_context(shop.tenant):
        review = services.review_create(customer=author, product=shop.product, rating=3, body="Fine, a bit mild.")
        services.review_reply_set(review=review, author=staff, body="Try our Ghost Pepper!")
        reply = services.review_reply_set(review=review, author=staff, body="Try our Ghost Pepper Reaper!")
        assert Review.objects.get(pk=review.pk).reply.body == reply.body == "Try our Ghost Pepper Reaper!"
        services.review_reply_delete(review=review)
        assert not hasattr(Review.objects.get(pk=review.pk), "reply")


def test_the_summary_is_served_from_redis_and_renewed_after_a_change(shop, django_assert_num_queries):
    first, second = shop.buyer(), shop.buyer()
    with tenant_context(shop.tenant):
        services.review_create(customer=first, product=shop.product, rating=5, body=GOOD)
        summary = selectors.review_summary(product=shop.product)
        assert summary == {
            "count": 1,
            "average": "5.00",
            "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1},
            "verified_share": "1.00",
        }
        with django_assert_num_queries(0):
            assert selectors.review_summary(product=shop.product) == summary
        from django.core.cache import cache

        base = selectors.summary_cache_key(product_id=shop.product.pk)
        assert cache.make_key(base).startswith(f"{connection.schema_name}:fnb-test:")
        old_generation = cache.get(f"{base}:gen")
        assert cache.get(f"{base}:{old_generation}") == summary
        # A change renews the generation when it commits (the test transaction never commits, so
        # run the on-commit hooks as a commit would).
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            services.review_create(customer=second, product=shop.product, rating=2, body="Too sour for my taste.")
        assert cache.get(f"{base}:gen") != old_generation
        # A slow reader that read the database before the commit writes its stale copy late: it
        # lands under the old generation, where nobody looks any more.
        cache.set(f"{base}:{old_generation}", summary)
        assert selectors.review_summary(product=shop.product)["average"] == "3.50"


def test_recount_repairs_a_damaged_aggregate(shop):
    buyer = shop.buyer()
    with tenant_context(shop.tenant):
        services.review_create(customer=buyer, product=shop.product, rating=4, body=GOOD)
        ReviewAggregate.objects.filter(product=shop.product).update(
            count=9, rating_sum=45, rating_4=0, rating_5=9, verified_count=0
        )
        services.review_aggregate_recount(product=shop.product)
        assert agg(shop.product) == recount(shop.product) and agg(shop.product)["rating_4"] == 1


def test_recent_reviews_of_a_location_and_its_products_for_the_dashboard(shop):
    buyer, chips_buyer = shop.buyer(fulfilment="pickup"), shop.buyer(variant=shop.chips)
    with tenant_context(shop.tenant):
        product_review = services.review_create(customer=buyer, product=shop.product, rating=5, body=GOOD)
        store_review = services.review_create(customer=buyer, location=shop.store, rating=4, body="Quick pickup!")
        held = services.review_create(customer=chips_buyer, product=shop.other_product, rating=5, body="the shit")
        assert held.status == "held"
        recent = selectors.reviews_recent_for_location(location=shop.store, limit=10)
        assert [r.pk for r in recent] == [store_review.pk, product_review.pk]
        assert selectors.reviews_recent_for_location(location=shop.store, limit=1)[0].pk == store_review.pk
        everything = selectors.reviews_recent_for_location(location=shop.store, limit=10, published_only=False)
        assert [r.pk for r in everything] == [held.pk, store_review.pk, product_review.pk]
