"""Coupons and promotions through the database: the loader, order placement storing discounts per
line and order, coupon uses counted in the order's transaction (the race for the last use), given
back on cancellation, per-customer limits, validity in the tenant's time zone, case-insensitive
codes, the wrong-code budget, the jobs issuing birthday and win-back codes, and referral codes."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import User
from apps.orders.models import Order
from apps.orders.services import LineChange, LineRequest, order_lines_update, order_place, order_transition
from apps.promotions import services
from apps.promotions.errors import CouponAttemptsExceeded, CouponNotValid, CouponUsedUp
from apps.promotions.models import Coupon, CouponCode, CouponCustomerUse, Promotion, Redemption
from apps.promotions.tasks import birthday_coupons_issue_task, winback_coupons_issue_task
from apps.tenants.models import Tenant
from tests import factories as f
from tests.conftest import TENANT_A

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def shop(tenant_a):
    with tenant_context(tenant_a):
        store = f.location(code="store", pickup_enabled=True)
        sauce = f.variant(sku="SAUCE", price="10.00")
        chips = f.variant(sku="CHIPS", price="4.00")
        tote = f.variant(sku="TOTE", price="6.00")
        for v in (sauce, chips, tote):
            f.receive(store, v, 50)
        customer = User.objects.create_user("buyer@example.com", "pw-Example-123", kind="retail")
    return {"tenant": tenant_a, "store": store, "sauce": sauce, "chips": chips, "tote": tote, "customer": customer}


def make_coupon(code="SAVE5", **fields):
    defaults = {"name": "Five off", "kind": "amount", "amount": D("5.00"), "per_customer_limit": None}
    coupon = services.offer_save(instance=Coupon(), fields={**defaults, **fields})
    services.coupon_code_create(coupon=coupon, code=code)
    return coupon


def place(shop, lines, codes=(), customer=None, **extra):
    return order_place(
        customer=customer or shop["customer"],
        channel="retail",
        fulfilment=extra.pop("fulfilment", "pickup"),
        location=shop["store"],
        lines=[LineRequest(v, q) for v, q in lines],
        coupon_codes=codes,
        **extra,
    )


def test_an_order_stores_its_discounts_per_line_and_per_order(shop):
    with tenant_context(shop["tenant"]):
        promo = services.offer_save(
            instance=Promotion(), fields={"name": "10% sauce", "kind": "percent", "scope": "product", "percent": D(10)}
        )
        promo.variants.set([shop["sauce"]])
        make_coupon(code="save5")
        order = place(shop, [(shop["sauce"], 2), (shop["chips"], 1)], codes=["Save5"])
        lines = {ln.sku: ln for ln in order.lines.all()}
        # 10% off the sauce (2.00); the 5.00 spread by value after item discounts: 18/22 and 4/22
        assert lines["SAUCE"].discount == D("2.00") + D("4.09")
        assert lines["CHIPS"].discount == D("0.91")
        assert order.subtotal == D("24.00") and order.discount == D("7.00") and order.total == D("17.00")
        assert order.discounts[0]["code"] == "SAVE5" and order.discounts[0]["amount"] == "5.00"
        assert [d["level"] for d in lines["SAUCE"].discounts] == ["item", "order"]
        assert sum(ln.line_total - ln.discount for ln in lines.values()) == order.subtotal - order.discount
        redemption = Redemption.objects.get(order=order)
        assert redemption.amount == D("5.00") and Coupon.objects.get().uses == 1


def test_a_wrong_code_is_only_not_valid_and_nothing_is_placed(shop):
    with tenant_context(shop["tenant"]):
        with pytest.raises(CouponNotValid) as err:
            place(shop, [(shop["sauce"], 1)], codes=["NOPE-123"])
        assert err.value.message == "This code is not valid."
        assert not Order.objects.exists()


def test_someone_elses_issued_code_is_not_valid(shop):
    with tenant_context(shop["tenant"]):
        coupon = make_coupon(code="OTHER1", kind="birthday")
        other = User.objects.create_user("other@example.com", "pw-Example-123", kind="retail")
        CouponCode.objects.filter(coupon=coupon).update(customer=other)
        with pytest.raises(CouponNotValid):
            place(shop, [(shop["sauce"], 1)], codes=["other1"])


def test_wrong_codes_are_rate_limited_per_caller(shop, settings):
    settings.COUPON_CODE_ATTEMPTS = "3/minute"
    with tenant_context(shop["tenant"]):
        make_coupon(code="GOOD1")
        for n in range(3):
            priced = services.cart_price(
                lines=[(shop["sauce"], 1)], customer=None, channel="retail", codes=[f"BAD{n}"], caller="ip1"
            )
            assert priced.invalid_codes == [f"BAD{n}"]
        with pytest.raises(CouponAttemptsExceeded):
            services.cart_price(
                lines=[(shop["sauce"], 1)], customer=None, channel="retail", codes=["GOOD1"], caller="ip1"
            )
        ok = services.cart_price(
            lines=[(shop["sauce"], 1)], customer=None, channel="retail", codes=["good1"], caller="ip2"
        )
        assert ok.quote.discount == D("5.00")


def test_cancelling_an_unpaid_order_gives_the_use_back(shop):
    with tenant_context(shop["tenant"]):
        coupon = make_coupon(code="ONCE", usage_limit=1, per_customer_limit=1)
        order = place(shop, [(shop["sauce"], 1)], codes=["once"])
        assert Coupon.objects.get(pk=coupon.pk).uses == 1
        with pytest.raises(CouponUsedUp):  # entered again: used up, said so (not placed without it)
            place(shop, [(shop["sauce"], 1)], codes=["once"])
        order_transition(order=order, to="cancelled")
        assert Coupon.objects.get(pk=coupon.pk).uses == 0
        assert CouponCustomerUse.objects.get(coupon=coupon).uses == 0
        assert Redemption.objects.get(order=order).released_at is not None
        again = place(shop, [(shop["sauce"], 1)], codes=["once"])
        assert again.discount == D("5.00")


def test_the_per_customer_limit(shop):
    with tenant_context(shop["tenant"]):
        make_coupon(code="TWICE", per_customer_limit=2)
        place(shop, [(shop["sauce"], 1)], codes=["twice"])
        place(shop, [(shop["sauce"], 1)], codes=["twice"])
        priced = services.cart_price(
            lines=[(shop["sauce"], 1)], customer=shop["customer"], channel="retail", codes=["twice"]
        )
        entry = next(c for c in priced.quote.considered if c["code"] == "TWICE")
        assert entry["status"] == "not_applicable" and entry["reason"].startswith("already used")
        other = User.objects.create_user("two@example.com", "pw-Example-123", kind="retail")
        assert place(shop, [(shop["sauce"], 1)], codes=["twice"], customer=other).discount == D("5.00")


def test_a_single_use_code_works_once(shop):
    with tenant_context(shop["tenant"]):
        coupon = services.offer_save(
            instance=Coupon(), fields={"name": "Flyer", "kind": "percent", "percent": D(10), "single_use_codes": True}
        )
        (code,) = services.coupon_codes_generate(coupon=coupon, count=1, prefix="fly")
        place(shop, [(shop["sauce"], 1)], codes=[code.code.lower()])
        other = User.objects.create_user("b@example.com", "pw-Example-123", kind="retail")
        quote = services.cart_price(lines=[(shop["sauce"], 1)], customer=other, channel="retail", codes=[code.code])
        assert quote.quote.discount == 0


def test_validity_boundaries_are_in_the_tenants_time_zone(shop):
    with tenant_context(shop["tenant"]):
        midnight = dt.datetime(2026, 7, 5, tzinfo=CHICAGO)  # 05:00 UTC
        make_coupon(code="JULY4", ends_at=midnight)
        before = dt.datetime(2026, 7, 4, 23, 59, 59, tzinfo=CHICAGO)
        after = midnight
        valid = services.cart_price(
            lines=[(shop["sauce"], 1)], customer=None, channel="retail", codes=["july4"], now=before
        )
        assert valid.quote.discount == D("5.00")
        late = services.cart_price(
            lines=[(shop["sauce"], 1)], customer=None, channel="retail", codes=["july4"], now=after
        )
        assert late.quote.discount == 0
        # 04:30 UTC on the 5th is still the 4th in Chicago
        utc = dt.datetime(2026, 7, 5, 4, 30, tzinfo=dt.UTC)
        assert services.cart_price(
            lines=[(shop["sauce"], 1)], customer=None, channel="retail", codes=["JULY4"], now=utc
        ).quote.discount == D("5.00")


def test_the_loader_runs_a_constant_number_of_queries(shop):
    with tenant_context(shop["tenant"]):
        for n in range(5):
            promo = services.offer_save(
                instance=Promotion(), fields={"name": f"p{n}", "kind": "percent", "scope": "category", "percent": D(n)}
            )
            promo.categories.set([shop["sauce"].product.category])
        make_coupon(code="A1111")
        make_coupon(code="B2222")

        def count(lines):
            with CaptureQueriesContext(connection) as ctx:
                services.cart_price(lines=lines, customer=shop["customer"], channel="retail", codes=["a1111", "b2222"])
            return len(ctx.captured_queries)

        count([(shop["sauce"], 1)])  # warm: the loyalty tier may be cached on the user afterwards
        small = count([(shop["sauce"], 1)])
        extra = [f.variant(sku=f"X{n}") for n in range(10)]
        large = count([(shop["sauce"], 1), *[(v, 2) for v in extra]])
        # 12 statements (each behind the tenant's search_path set-up), whatever the cart's size
        assert small == large and small <= 26


def test_line_changes_reprice_and_keep_or_give_back_the_code(shop):
    with tenant_context(shop["tenant"]):
        coupon = make_coupon(code="MIN20", min_spend=D("20.00"), usage_limit=5)
        order = place(shop, [(shop["sauce"], 3)], codes=["min20"])
        assert order.discount == D("5.00")
        order = order_lines_update(order=order, changes=[LineChange(shop["sauce"], 2)])
        assert order.discount == D("5.00") and Coupon.objects.get(pk=coupon.pk).uses == 1
        order = order_lines_update(order=order, changes=[LineChange(shop["sauce"], 1)])
        assert order.discount == 0 and order.total == D("10.00")
        assert Coupon.objects.get(pk=coupon.pk).uses == 0


def test_free_delivery_removes_the_fee_and_a_free_gift_line_is_reserved(shop):
    with tenant_context(shop["tenant"]):
        make_coupon(code="SHIPFREE", name="Free delivery", kind="free_delivery", amount=None, min_spend=D(15))
        make_coupon(code="TOTE", name="Tote", kind="free_gift", amount=None, gift_variant=shop["tote"])
        order = order_place(
            customer=shop["customer"],
            channel="retail",
            fulfilment="shipping",
            location=None,
            lines=[LineRequest(shop["sauce"], 2)],
            delivery_fee=D("4.99"),
            coupon_codes=["shipfree", "tote"],
        )
        assert order.delivery_fee == 0 and order.total == D("20.00")
        assert {d["level"] for d in order.discounts} == {"delivery", "order"}
        gift = order.lines.get(sku="TOTE")
        assert (gift.line_total, gift.discount) == (D("6.00"), D("6.00"))
        assert order.reservation.lines.filter(variant=shop["tote"]).exists()


def test_returns_refund_the_discounted_price(shop):
    from apps.orders.services import return_decide, return_receive, return_request

    with tenant_context(shop["tenant"]):
        make_coupon(code="HALF", kind="percent", amount=None, percent=D(50))
        order = place(shop, [(shop["sauce"], 2)], codes=["half"])
        for step in ("paid", "preparing", "ready", "completed"):
            order = order_transition(order=order, to=step)
        line = order.lines.get()
        request = return_request(order=order, lines=[(line, 1)])
        return_decide(request=request, approve=True)
        done = return_receive(request=request, received={request.lines.get().pk: (1, "resaleable")})
        assert done.refund_amount == D("5.00")


def test_two_orders_racing_for_the_last_use_one_wins(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        store = f.location(code="race-store", pickup_enabled=True)
        sauce = f.variant(sku="RACE", price="10.00")
        f.receive(store, sauce, 100)
        coupon = make_coupon(code="LAST", usage_limit=1)
        buyers = [User.objects.create_user(f"r{n}@example.com", "pw-Example-123", kind="retail") for n in range(8)]
    barrier = threading.Barrier(len(buyers))

    def buy(user):
        try:
            with tenant_context(tenant):
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=30)
                try:
                    order_place(
                        customer=user,
                        channel="retail",
                        fulfilment="pickup",
                        location=store,
                        lines=[LineRequest(sauce, 1)],
                        coupon_codes=["last"],
                    )
                    return "placed"
                except CouponUsedUp as exc:
                    return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(buyers)) as pool:
        results = list(pool.map(buy, buyers))
    assert results.count("placed") == 1 and results.count("coupon_used_up") == len(buyers) - 1, results
    with tenant_context(tenant):
        assert Coupon.objects.get(pk=coupon.pk).uses == 1
        assert Redemption.objects.count() == 1 and Order.objects.count() == 1


def test_bulk_codes_are_unique_and_export_as_csv(shop):
    with tenant_context(shop["tenant"]):
        coupon = make_coupon(code="CAMPAIGN", single_use_codes=True)
        made = services.coupon_codes_generate(coupon=coupon, count=500, prefix="SUM")
        assert len({c.code for c in made}) == 500 and all(c.code.startswith("SUM") and c.max_uses == 1 for c in made)
        rows = services.coupon_codes_csv(coupon=coupon).splitlines()
        assert rows[0].startswith("code,") and len(rows) == 502


def test_clone_makes_a_paused_copy_with_the_scope(shop):
    with tenant_context(shop["tenant"]):
        promo = services.offer_save(
            instance=Promotion(), fields={"name": "Sauce week", "kind": "percent", "scope": "product", "percent": D(5)}
        )
        promo.variants.set([shop["sauce"]])
        copy = services.offer_clone(instance=promo)
        assert copy.pk != promo.pk and not copy.is_active and list(copy.variants.all()) == [shop["sauce"]]


def test_birthday_job_issues_codes_ahead_once_a_year(shop):
    with tenant_context(shop["tenant"]):
        coupon = make_coupon(code="BDAY-TEMPLATE", name="Birthday", kind="birthday", window_days=7)
        today = timezone.now().astimezone(CHICAGO).date()
        soon = today + dt.timedelta(days=3)
        User.objects.filter(pk=shop["customer"].pk).update(birthday=soon.replace(year=1990))
        User.objects.create_user("later@example.com", "pw-Example-123", kind="retail", birthday=dt.date(1990, 1, 1))
        assert birthday_coupons_issue_task.apply().get() >= 1
        code = CouponCode.objects.get(coupon=coupon, customer=shop["customer"])
        assert code.valid_from == dt.datetime.combine(soon - dt.timedelta(days=7), dt.time.min, tzinfo=CHICAGO)
        assert code.issue_key == f"birthday:{soon.year}"
        assert services.birthday_coupons_issue() == 0  # once a year
        priced = services.cart_price(
            lines=[(shop["sauce"], 1)], customer=shop["customer"], channel="retail", codes=[code.code]
        )
        assert priced.quote.discount == D("5.00")


def test_winback_job_issues_a_code_to_lapsed_customers(shop):
    with tenant_context(shop["tenant"]):
        coupon = make_coupon(code="WB-TEMPLATE", name="We miss you", kind="win_back", inactive_days=60)
        order = place(shop, [(shop["sauce"], 1)])
        Order.objects.filter(pk=order.pk).update(placed_at=timezone.now() - dt.timedelta(days=90))
        assert winback_coupons_issue_task.apply().get() == 1
        assert CouponCode.objects.filter(coupon=coupon, customer=shop["customer"]).count() == 1
        assert services.winback_coupons_issue() == 0  # once per lapse


def test_referral_codes_for_the_friend_and_the_referrer(shop):
    with tenant_context(shop["tenant"]):
        make_coupon(code="REF-F", name="Welcome", kind="referral", referral_role="friend", percent=D(10), amount=None)
        make_coupon(code="REF-R", name="Thanks", kind="referral", referral_role="referrer")
        friend = User.objects.create_user("friend@example.com", "pw-Example-123", kind="retail")
        issued = services.referral_coupons_issue(friend=friend, referrer=shop["customer"])
        assert issued["friend"].customer == friend and issued["referrer"].customer == shop["customer"]
        assert services.referral_coupons_issue(friend=friend, referrer=shop["customer"])["friend"] is None
        welcome = services.cart_price(
            lines=[(shop["sauce"], 1)], customer=friend, channel="retail", codes=[issued["friend"].code]
        )
        assert welcome.quote.discount == D("1.00")  # the friend's first order


def test_the_loyalty_tier_comes_from_the_loyalty_app(shop):
    from apps.loyalty.models import Account

    with tenant_context(shop["tenant"]):
        services.offer_save(
            instance=Promotion(),
            fields={"name": "Gold 10%", "kind": "percent", "percent": D(10), "loyalty_tiers": ["gold"]},
        )
        priced = services.cart_price(lines=[(shop["sauce"], 1)], customer=shop["customer"], channel="retail")
        assert priced.quote.discount == 0  # no loyalty account: no tier
        gold = User.objects.create_user("gold@example.com", "pw-Example-123", kind="retail")
        Account.objects.create(user=gold, tier="gold", share_token="t-gold", share_token_created_at=timezone.now())
        priced = services.cart_price(lines=[(shop["sauce"], 1)], customer=gold, channel="retail")
        assert priced.quote.discount == D("1.00")


def test_a_changed_promotion_is_priced_at_once(shop):
    with tenant_context(shop["tenant"]):
        promo = services.offer_save(instance=Promotion(), fields={"name": "p", "kind": "percent", "percent": D(10)})

        def discount():
            return services.cart_price(lines=[(shop["sauce"], 1)], customer=None, channel="retail").quote.discount

        assert discount() == D("1.00")
        services.offer_save(instance=promo, fields={"percent": D(20)})
        assert discount() == D("2.00")
        services.offer_pause(instance=promo, active=False)
        assert discount() == 0
        services.offer_pause(instance=promo, active=True)
        services.offer_save(instance=promo, fields={"scope": "product"}, scopes={"variants": [shop["chips"]]})
        assert discount() == 0
