"""Aggregates always equal a recount: whatever sequence of creates, edits, moderations, reports and
deletions runs (hypothesis), and when two customers review one product at the same moment
(real threads, real transactions)."""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.errors import ApplicationError
from apps.reviews import selectors, services
from apps.reviews.models import Review, ReviewAggregate
from apps.tenants.models import Tenant
from tests.conftest import TENANT_A
from tests.reviews.conftest import build_shop

TEXTS = ["Lovely sauce, great heat.", "It is shit.", "Buy at cheap.com", "Fine for the price, I guess.", ""]

operation = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 3), st.integers(1, 5), st.sampled_from(TEXTS), st.booleans()),
    st.tuples(st.just("edit"), st.integers(0, 3), st.integers(1, 5), st.sampled_from(TEXTS)),
    st.tuples(st.just("moderate"), st.integers(0, 3), st.sampled_from(["published", "held", "rejected"])),
    st.tuples(st.just("report"), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("delete"), st.integers(0, 3)),
)


class _Rollback(Exception):
    pass


def _state(subject):
    row = ReviewAggregate.objects.filter(**subject).first()
    values = selectors.aggregate_recount_values(
        product_id=getattr(subject.get("product"), "pk", None),
        location_id=getattr(subject.get("location"), "pk", None),
    )
    stored = {name: getattr(row, name) for name in values} if row else {name: 0 for name in values}
    return stored, values


@pytest.fixture
def buyers(shop):
    people = [shop.buyer(f"Buyer {i}", fulfilment="pickup") for i in range(4)]
    return shop, people


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=12))
def test_the_aggregate_always_equals_a_recount(buyers, ops):
    shop, people = buyers
    with tenant_context(shop.tenant), contextlib.suppress(_Rollback), transaction.atomic():
        for op in ops:
            kind = op[0]
            review_of = {}
            for review in Review.objects.filter(customer__in=people):
                review_of[(review.customer_id, "product" if review.product_id else "location")] = review
            try:
                if kind == "create":
                    _, who, rating, text, on_store = op
                    subject = {"location": shop.store} if on_store else {"product": shop.product}
                    services.review_create(customer=people[who], rating=rating, body=text or "ok", **subject)
                else:
                    who = op[1]
                    review = review_of.get((people[who].pk, "product")) or review_of.get((people[who].pk, "location"))
                    if review is None:
                        continue
                    if kind == "edit":
                        services.review_update(review=review, rating=op[2], body=op[3] or "ok")
                    elif kind == "moderate":
                        services.review_moderate(review=review, status=op[2])
                    elif kind == "report":
                        services.review_report(review=review, reporter=people[op[2]], reason="spam")
                    else:
                        services.review_delete(review=review)
            except ApplicationError:
                pass
            for subject in ({"product": shop.product}, {"location": shop.store}):
                stored, counted = _state(subject)
                assert stored == counted, (op, subject)
        raise _Rollback


def _run_together(jobs):
    barrier = threading.Barrier(len(jobs))

    def gate(job):
        try:
            barrier.wait(timeout=30)
            return job()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return [future.result(timeout=60) for future in [pool.submit(gate, job) for job in jobs]]


@pytest.mark.slow
def test_two_reviews_of_one_product_at_the_same_moment_are_both_counted(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    shop = build_shop(tenant)
    for attempt in range(3):  # several rounds: the first public review (INSERT) and later ones (UPDATE)
        people = [shop.buyer(f"Racer {attempt}-{i}") for i in range(2)]

        def review(person, rating):
            def job():
                with tenant_context(tenant):
                    return services.review_create(
                        customer=person, product=shop.product, rating=rating, body=f"Rated {rating}: tasty enough."
                    ).status

            return job

        assert _run_together([review(people[0], 5), review(people[1], 2)]) == ["published", "published"]
    with tenant_context(tenant):
        stored, counted = _state({"product": shop.product})
        assert stored == counted
        assert (stored["count"], stored["rating_5"], stored["rating_2"], stored["rating_sum"]) == (6, 3, 3, 21)


@pytest.mark.slow
def test_concurrent_moderation_and_deletion_of_one_review_leave_a_true_aggregate(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    shop = build_shop(tenant)
    author = shop.buyer("Author")
    with tenant_context(tenant):
        target = services.review_create(customer=author, product=shop.product, rating=4, body="Hot hot hot hot!")
        assert target.status == "held"

    def moderate():
        with tenant_context(tenant):
            services.review_moderate(review=target, status="published")

    def delete():
        with tenant_context(tenant):
            services.review_delete(review=target)

    _run_together([moderate, moderate, delete, moderate])
    with tenant_context(tenant):
        stored, counted = _state({"product": shop.product})
        assert stored == counted and stored["count"] == 0  # deleted, whatever the order
