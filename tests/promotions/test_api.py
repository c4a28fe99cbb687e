"""Promotions over HTTP: the cart quote (customers and staff, explanation, not-valid codes, the
wrong-code budget), staff CRUD with validation and tenant-time-zone schedules, clone, pause,
codes (bulk, CSV), usage and preview; orders placed with coupon codes show their discounts."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from apps.promotions import services
from apps.promotions.models import Coupon, Promotion
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A


@pytest.fixture
def shop(tenant_a):
    with tenant_context(tenant_a):
        store = f.location(code="store", pickup_enabled=True)
        sauce = f.variant(sku="SAUCE", price="10.00")
        chips = f.variant(sku="CHIPS", price="4.00")
        for v in (sauce, chips):
            f.receive(store, v, 20)
        coupon = services.offer_save(instance=Coupon(), fields={"name": "Five", "kind": "amount", "amount": D(5)})
        services.coupon_code_create(coupon=coupon, code="FIVE-OFF")
    return {"tenant": tenant_a, "store": store, "sauce": sauce, "chips": chips, "coupon": coupon}


def client(headers):
    return Client(HTTP_HOST=TENANT_A.domain, **headers)


def post(c, url, body):
    return c.post(url, body, content_type="application/json")


def test_a_customer_quotes_a_cart_with_the_explanation(shop):
    with tenant_context(shop["tenant"]):
        services.offer_save(instance=Promotion(), fields={"name": "Spring", "kind": "percent", "percent": D(10)})
    customer = client(p.customer_headers(shop["tenant"], "retail"))
    body = {"lines": [{"sku": "SAUCE", "quantity": 2}, {"sku": "CHIPS", "quantity": 1}], "coupon_codes": ["five-off"]}
    response = post(customer, "/api/v1/cart/quote", body)
    assert response.status_code == 200, response.content
    quote = response.json()
    assert (quote["subtotal"], quote["discount"], quote["total"]) == ("24.00", "7.40", "16.60")
    assert {a["name"] for a in quote["applied"]} == {"Spring", "Five"}
    assert all(c["reason"] for c in quote["considered"])
    assert quote["codes"] == [{"code": "FIVE-OFF", "valid": True, "message": "valid"}]
    assert sum(D(ln["total"]) for ln in quote["lines"]) == D(quote["subtotal"]) - D(quote["discount"])


def test_a_wrong_code_says_only_not_valid_and_too_many_are_refused(shop, settings):
    settings.COUPON_CODE_ATTEMPTS = "2/minute"
    guest = client(p.guest_headers(shop["tenant"]))
    for code in ("AAAA1", "AAAA2"):
        response = post(
            guest, "/api/v1/cart/quote", {"lines": [{"sku": "SAUCE", "quantity": 1}], "coupon_codes": [code]}
        )
        assert response.status_code == 200
        assert response.json()["codes"] == [{"code": code, "valid": False, "message": "not valid"}]
    refused = post(
        guest, "/api/v1/cart/quote", {"lines": [{"sku": "SAUCE", "quantity": 1}], "coupon_codes": ["FIVE-OFF"]}
    )
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "coupon_attempts_exceeded"


def test_quote_input_is_validated(shop):
    customer = client(p.customer_headers(shop["tenant"], "retail"))
    for body in (
        {"lines": []},
        {"lines": [{"sku": "SAUCE", "quantity": 1.5}]},
        {"lines": [{"sku": "SAUCE", "quantity": True}]},
        {"lines": [{"sku": "NOPE", "quantity": 1}]},
        {"lines": [{"sku": "SAUCE", "quantity": 1}], "coupon_codes": ["x" * 41]},
    ):
        response = post(customer, "/api/v1/cart/quote", body)
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error"]["code"] == "validation_error"


def test_an_order_placed_with_a_code_shows_its_discounts(shop):
    customer = client(p.customer_headers(shop["tenant"], "retail"))
    body = {
        "fulfilment": "pickup",
        "location_id": shop["store"].pk,
        "lines": [{"sku": "SAUCE", "quantity": 1}],
        "coupon_codes": ["Five-Off"],
    }
    response = post(customer, "/api/v1/orders", body)
    assert response.status_code == 201, response.content
    order = response.json()
    assert (order["discount"], order["total"]) == ("5.00", "5.00")
    assert order["discounts"][0]["code"] == "FIVE-OFF"
    assert order["lines"][0]["discount"] == "5.00" and order["lines"][0]["discounts"][0]["level"] == "order"
    wrong = post(customer, "/api/v1/orders", {**body, "coupon_codes": ["NOPE9"]})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "coupon_not_valid"
    assert wrong.json()["error"]["message"] == "This code is not valid."


def test_staff_create_schedule_pause_and_clone_a_promotion(shop):
    staff = client(p.staff_headers(shop["tenant"], "owner"))
    body = {
        "name": "Weekend sauces",
        "kind": "percent",
        "scope": "product",
        "percent": "15",
        "variant_ids": [shop["sauce"].pk],
        "starts_at": "2026-07-04T00:00:00",  # no offset: Chicago
        "ends_at": "2026-07-06T00:00:00-05:00",
    }
    created = post(staff, "/api/v1/promotions", body)
    assert created.status_code == 201, created.content
    promo = created.json()
    assert promo["starts_at"].startswith("2026-07-04T00:00:00-05:00") or promo["starts_at"] == "2026-07-04T05:00:00Z"
    assert promo["variant_ids"] == [shop["sauce"].pk]
    paused = post(staff, f"/api/v1/promotions/{promo['id']}/pause", {"active": False})
    assert paused.status_code == 200 and paused.json()["is_active"] is False
    clone = post(staff, f"/api/v1/promotions/{promo['id']}/clone", {})
    assert clone.status_code == 201 and clone.json()["name"] == "Weekend sauces (copy)"
    changed = staff.patch(f"/api/v1/promotions/{promo['id']}", {"priority": 5}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["priority"] == 5
    listed = staff.get("/api/v1/promotions")
    assert listed.status_code == 200 and listed.json()["count"] == 2


def test_staff_input_is_validated(shop):
    staff = client(p.staff_headers(shop["tenant"], "owner"))
    for body in (
        {"name": "x", "kind": "percent"},  # percent missing
        {"name": "x", "kind": "percent", "percent": "101"},
        {"name": "x", "kind": "bxgy", "buy_quantity": 1.5, "get_quantity": 1},
        {"name": "x", "kind": "volume", "tiers": [{"threshold": "5"}]},
        {"name": "x", "kind": "amount", "amount": "1", "starts_at": "2026-01-02T00:00", "ends_at": "2026-01-01T00:00"},
    ):
        response = post(staff, "/api/v1/promotions", body)
        assert response.status_code == 400, (body, response.content)


def test_staff_codes_usage_and_csv(shop):
    staff = client(p.staff_headers(shop["tenant"], "owner"))
    coupon = shop["coupon"]
    made = post(staff, f"/api/v1/coupons/{coupon.pk}/codes", {"count": 25, "prefix": "sum"})
    assert made.status_code == 201 and len(made.json()) == 25
    taken = post(staff, f"/api/v1/coupons/{coupon.pk}/codes", {"code": "five-off"})
    assert taken.status_code == 400 and taken.json()["error"]["code"] == "code_taken"
    listed = staff.get(f"/api/v1/coupons/{coupon.pk}/codes")
    assert listed.json()["count"] == 26
    csv = staff.get(f"/api/v1/coupons/{coupon.pk}/codes.csv")
    assert csv.status_code == 200 and csv["Content-Type"] == "text/csv" and len(csv.content.splitlines()) == 27
    usage = staff.get(f"/api/v1/coupons/{coupon.pk}/usage")
    assert usage.status_code == 200 and usage.json()["codes"] == 26
    missing = staff.get("/api/v1/coupons/999999/usage")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_staff_preview_a_sample_cart_for_a_customer(shop):
    from apps.accounts.models import User

    with tenant_context(shop["tenant"]):
        buyer = User.objects.create_user("gold@example.com", "pw-Example-123", kind="retail")
    staff = client(p.staff_headers(shop["tenant"], "store_manager"))
    body = {"lines": [{"sku": "SAUCE", "quantity": 1}], "coupon_codes": ["FIVE-OFF"], "customer_id": buyer.pk}
    response = post(staff, "/api/v1/promotions/preview", body)
    assert response.status_code == 200 and response.json()["discount"] == "5.00"


def test_customers_cannot_manage_promotions(shop):
    customer = client(p.customer_headers(shop["tenant"], "retail"))
    assert customer.get("/api/v1/promotions").status_code == 403
    assert post(customer, "/api/v1/coupons", {"name": "x", "kind": "amount", "amount": "1"}).status_code == 403


def test_the_promotion_list_runs_a_bounded_number_of_queries(shop, django_assert_max_num_queries):
    with tenant_context(shop["tenant"]):
        for n in range(10):
            services.offer_save(instance=Promotion(), fields={"name": f"p{n}", "kind": "percent", "percent": D(n)})
    staff = client(p.staff_headers(shop["tenant"], "owner"))
    with django_assert_max_num_queries(30):
        assert staff.get("/api/v1/promotions").json()["count"] == 10
