"""The twelve achievement categories: each level awarded once with its points (also when two
paid-order events race), and a refund that undoes the qualifying order takes back an unspent level."""

import contextlib
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.catalog.models import Category, Product, Variant
from apps.loyalty import services
from apps.loyalty.models import Account, Achievement, Campaign, LedgerEntry
from apps.tenants.models import Tenant
from tests.conftest import TENANT_A
from tests.loyalty.conftest import account, assert_invariant, customer, order

NOW = timezone.now()


def held(acc, category):
    return set(
        Achievement.objects.filter(account=acc, category=category, reversed_at__isnull=True).values_list(
            "level", flat=True
        )
    )


def variant_in(category: Category, n: int) -> Variant:
    product = Product.objects.create(name=f"P{category.slug}{n}", slug=f"p-{category.slug}-{n}", category=category)
    return Variant.objects.create(product=product, sku=f"SKU-{category.slug}-{n}", name="x", price=Decimal("5.00"))


def test_first_order_and_order_count_levels(programme):
    user = customer()
    acc = account(user)
    for n in range(5):
        order(user, "10.00", paid_at=NOW - dt.timedelta(days=n))
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "first_order") == {"1"} and held(acc, "order_count") == {"5"}
    bonus = LedgerEntry.objects.filter(account=acc, source="achievement")
    assert sorted(bonus.values_list("points", flat=True)) == [50, 50]
    services.customer_evaluate(account=acc, now=NOW)
    assert bonus.count() == 2  # once each


def test_lifetime_spend_and_big_basket(programme):
    user = customer()
    acc = account(user)
    order(user, "120.00")
    order(user, "400.00")
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "lifetime_spend") == {"100", "500"}
    assert held(acc, "big_basket") == {"1"}


def test_category_diversity_counts_top_level_categories_in_the_last_90_days(programme):
    user = customer()
    acc = account(user)
    roots = [Category.objects.create(name=f"Root {n}", slug=f"root-{n}") for n in range(3)]
    child = Category.objects.create(name="Child", slug="child", parent=roots[0])
    order(user, "5", lines=[(variant_in(child, 1), 1), (variant_in(roots[0], 2), 1)])
    order(user, "5", lines=[(variant_in(roots[1], 3), 1)])
    order(user, "5", paid_at=NOW - dt.timedelta(days=91), lines=[(variant_in(roots[2], 4), 1)])
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "category_diversity") == set()  # 2 in 90 days (child counts as its root)
    order(user, "5", lines=[(variant_in(roots[2], 5), 1)])
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "category_diversity") == {"3"}


def test_product_explorer_counts_products_never_bought_before(programme):
    user = customer()
    acc = account(user)
    cat = Category.objects.create(name="Sauces", slug="sauces-x")
    variants = [variant_in(cat, n) for n in range(5)]
    order(user, "5", lines=[(variants[0], 1), (variants[1], 1)])
    order(user, "5", lines=[(variants[0], 3), (variants[2], 1), (variants[3], 1)])  # product 0 again
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "product_explorer") == set()  # 4 distinct products
    order(user, "5", lines=[(variants[4], 1)])
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "product_explorer") == {"5"}


def test_birthday_order_within_7_days_in_the_tenants_timezone(programme):
    import zoneinfo

    chicago = zoneinfo.ZoneInfo("America/Chicago")
    user = customer(birthday=dt.date(1990, 3, 10))
    acc = account(user)
    # 17 March 23:30 in Chicago is 18 March in UTC: 7 days after the birthday, local time.
    order(user, "10", paid_at=dt.datetime(2026, 3, 17, 23, 30, tzinfo=chicago))
    services.customer_evaluate(account=acc, now=dt.datetime(2026, 3, 20, tzinfo=dt.UTC))
    assert held(acc, "birthday_order") == {"2026"}
    other = customer(birthday=dt.date(1990, 3, 10))
    other_acc = account(other)
    order(other, "10", paid_at=dt.datetime(2026, 3, 18, 0, 30, tzinfo=chicago))  # 8 days after
    services.customer_evaluate(account=other_acc, now=dt.datetime(2026, 3, 20, tzinfo=dt.UTC))
    assert held(other_acc, "birthday_order") == set()


def test_seasonal_campaign_order_with_one_of_its_products_inside_its_dates(programme):
    user = customer()
    acc = account(user)
    cat = Category.objects.create(name="Seasonal", slug="seasonal")
    pumpkin = variant_in(cat, 1)
    campaign = Campaign.objects.create(
        name="Pumpkin", slug="pumpkin-2026", starts_on=NOW.date() - dt.timedelta(days=3), ends_on=NOW.date(), points=77
    )
    campaign.products.add(pumpkin.product)
    order(user, "5", paid_at=NOW - dt.timedelta(days=10), lines=[(pumpkin, 1)])  # before the campaign
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "seasonal_campaign") == set()
    order(user, "5", paid_at=NOW - dt.timedelta(hours=1), lines=[(pumpkin, 1)])
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "seasonal_campaign") == {"pumpkin-2026"}
    assert Achievement.objects.get(account=acc, category="seasonal_campaign").points == 77


def test_a_refund_undoing_the_qualifying_order_takes_back_an_unspent_level(programme):
    user = customer()
    acc = account(user)
    big = order(user, "150.00")
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "big_basket") == {"1"} and held(acc, "first_order") == {"1"}
    big.status = "refunded"
    big.save()
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "big_basket") == set() and held(acc, "first_order") == set()
    acc.refresh_from_db()
    assert acc.balance == 0
    assert_invariant(acc)


def test_a_level_whose_points_were_spent_is_kept_after_the_refund(programme):
    user = customer()
    acc = account(user)
    big = order(user, "150.00")
    services.customer_evaluate(account=acc, now=NOW)
    acc.refresh_from_db()
    services.points_adjust(account=acc, points=-acc.balance, reason="spent")
    big.status = "refunded"
    big.save()
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "big_basket") == {"1"}
    assert_invariant(acc)


def test_tier_reached_is_not_taken_back_by_an_order_refund(programme):
    user = customer()
    acc = account(user)
    row = order(user, "1500.00", paid_at=NOW - dt.timedelta(days=40))
    services.points_earn_for_order(order=row)
    services.step_approve(NOW)
    services.step_tiers(NOW)
    assert held(acc, "tier_reached") == {"silver"}
    row.status = "refunded"
    row.save()
    services.points_release_for_order(order=row)
    services.customer_evaluate(account=acc, now=NOW)
    assert held(acc, "tier_reached") == {"silver"}
    assert Account.objects.get(pk=acc.pk).tier == "silver"  # held until its anniversary


@pytest.mark.slow
def test_each_level_is_awarded_once_when_two_paid_order_events_race(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        user = customer()
        acc = account(user)
        for _ in range(5):
            order(user, "120.00")
    barrier = threading.Barrier(6)

    def evaluate(_):
        with tenant_context(tenant):
            try:
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=10)
                return services.customer_evaluate(account=acc)["awarded"]
            finally:
                connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(evaluate, range(6)))
    with tenant_context(tenant):
        rows = Achievement.objects.filter(account=acc)
        assert rows.count() == len(set(rows.values_list("category", "level")))
        assert sum(results) == rows.count()  # every level awarded by exactly one of the racers
        assert LedgerEntry.objects.filter(account=acc, source="achievement").count() == rows.count()
        assert_invariant(acc)
