"""Loyalty API: customers see their own account, staff any account and adjust with a reason;
error shape, pagination, query counts; checkout redemption and registration with a share token."""

import datetime as dt

from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts import services as accounts
from apps.accounts.models import User
from apps.loyalty import services
from apps.loyalty.models import Account, LedgerEntry, Referral
from tests import factories as f
from tests.accounts.principals import PASSWORD, bearer, staff_headers
from tests.conftest import TENANT_A
from tests.loyalty.conftest import customer, order, paid_order


def client_for(tenant, user=None, headers=None):
    if user is not None:
        with tenant_context(tenant):
            headers = bearer(accounts.session_start(user=user).access)
    return Client(HTTP_HOST=TENANT_A.domain, **(headers or {}))


def _member(tenant_a, points=0):
    with tenant_context(tenant_a):
        user = customer(full_name="Rita Retail")
        acc = services.account_ensure(user=user)
        if points:
            services.points_adjust(account=acc, points=points, reason="welcome gift")
    return user, acc


def test_my_account_shows_balance_pending_tier_and_progress(tenant_a):
    user, _acc = _member(tenant_a, points=300)
    with tenant_context(tenant_a):
        paid_order(user, "40.00")
    response = client_for(tenant_a, user).get("/api/v1/loyalty/account")
    assert response.status_code == 200
    body = response.json()
    assert (body["balance"], body["pending"], body["tier"], body["next_tier"]) == (300, 40, "scoops", "silver")
    assert body["points_to_next_tier"] == 1000 and body["value"] == "3.00"
    assert body["benefits"]["earn_multiplier"] == "1.00" and body["tier_warning"] is False


def test_guests_have_no_loyalty_account_endpoints(tenant_a):
    with tenant_context(tenant_a):
        _, pair = accounts.guest_start(device_id="x")
    response = client_for(tenant_a, headers=bearer(pair.access)).get("/api/v1/loyalty/account")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_the_ledger_is_paginated_and_filtered_by_kind_and_date(tenant_a, django_assert_max_num_queries):
    user, acc = _member(tenant_a, points=500)
    with tenant_context(tenant_a):
        for n in range(3):
            paid_order(user, f"{10 + n}.00")
        LedgerEntry.objects.filter(account=acc, kind="bonus").update(created_at=timezone.now() - dt.timedelta(days=10))
    client = client_for(tenant_a, user)
    with django_assert_max_num_queries(12):
        body = client.get("/api/v1/loyalty/ledger?page_size=2").json()
    assert body["count"] == 4 and len(body["results"]) == 2 and body["next"]
    earned = client.get("/api/v1/loyalty/ledger?kind=earned").json()
    assert earned["count"] == 3 and {r["order"] for r in earned["results"]} != {None}
    since = (timezone.now() - dt.timedelta(days=1)).date().isoformat()
    assert client.get(f"/api/v1/loyalty/ledger?date_from={since}").json()["count"] == 3
    bad = client.get("/api/v1/loyalty/ledger?kind=gifted")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"


def test_achievements_streak_and_referrals_endpoints(tenant_a):
    user, acc = _member(tenant_a)
    with tenant_context(tenant_a):
        order(user, "150.00")
        services.customer_evaluate(account=acc)
        friend, _ = accounts.retail_user_register(
            email="fred@example.com", password=PASSWORD, full_name="Fred Friend Smith", referral_token=acc.share_token
        )
    client = client_for(tenant_a, user)
    achievements = client.get("/api/v1/loyalty/achievements").json()
    assert {(a["category"], a["level"]) for a in achievements["earned"]} >= {("first_order", "1"), ("big_basket", "1")}
    assert len(achievements["categories"]) == 12
    order_count = next(c for c in achievements["categories"] if c["category"] == "order_count")
    assert (order_count["next_level"], order_count["progress"]) == ("5", "1")
    streak = client.get("/api/v1/loyalty/streak").json()
    assert streak["current"] == 1 and streak["grace_available"] is True
    referrals = client.get("/api/v1/loyalty/referrals").json()
    assert referrals["count"] == 1
    assert referrals["results"][0] == referrals["results"][0] | {"status": "pending", "friend_first_name": "Fred"}
    assert "email" not in referrals["results"][0]
    assert friend.email not in str(referrals)


def test_the_share_link_and_rotating_it(tenant_a):
    user, acc = _member(tenant_a)
    client = client_for(tenant_a, user)
    link = client.get("/api/v1/loyalty/referral-link").json()
    assert link["token"] == acc.share_token and link["link"].endswith(acc.share_token)
    rotated = client.post("/api/v1/loyalty/referral-link/rotate")
    assert rotated.status_code == 201 and rotated.json()["token"] != acc.share_token


def test_registering_with_a_share_token_through_the_api_links_the_friend(tenant_a):
    _, acc = _member(tenant_a)
    response = Client(HTTP_HOST=TENANT_A.domain).post(
        "/api/v1/auth/register",
        {"email": "newfriend@example.com", "password": PASSWORD, "referral_token": acc.share_token},
        content_type="application/json",
    )
    assert response.status_code == 201
    with tenant_context(tenant_a):
        friend = User.objects.get(email="newfriend@example.com")
        assert Referral.objects.get(friend__user=friend).referrer_id == acc.pk


def test_redeem_quote_and_checkout_redemption_through_the_order_api(tenant_a):
    user, acc = _member(tenant_a, points=2000)
    with tenant_context(tenant_a):
        store = f.location(pickup_enabled=True)
        sauce = f.variant(sku="LOY-SAUCE", price="10.00")
        f.receive(store, sauce, 10)
    client = client_for(tenant_a, user)
    quote = client.get("/api/v1/loyalty/redeem-quote?points=2000&order_total=30.00").json()
    assert (quote["max_points"], quote["points"], quote["value"]) == (1500, 1500, "15.00")
    bad = client.get("/api/v1/loyalty/redeem-quote?points=1.5")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    placed = client.post(
        "/api/v1/orders",
        {
            "fulfilment": "pickup",
            "location_id": store.pk,
            "lines": [{"sku": "LOY-SAUCE", "quantity": 3}],
            "redeem_points": 500,
        },
        content_type="application/json",
    )
    assert placed.status_code == 201, placed.content
    body = placed.json()
    assert (body["points_redeemed"], body["points_value"], body["total"]) == (500, "5.00", "25.00")
    too_many = client.post(
        "/api/v1/orders",
        {
            "fulfilment": "pickup",
            "location_id": store.pk,
            "lines": [{"sku": "LOY-SAUCE", "quantity": 5}],
            "redeem_points": 2000,
        },
        content_type="application/json",
    )
    assert too_many.status_code == 409 and too_many.json()["error"]["code"] == "insufficient_points"
    with tenant_context(tenant_a):
        acc.refresh_from_db()
        assert acc.balance == 1500


def test_staff_read_any_account_and_owners_adjust_with_a_reason(tenant_a):
    user, acc = _member(tenant_a, points=100)
    owner = Client(HTTP_HOST=TENANT_A.domain, **staff_headers(tenant_a, "owner"))
    manager = Client(HTTP_HOST=TENANT_A.domain, **staff_headers(tenant_a, "store_manager"))
    listed = manager.get(f"/api/v1/loyalty/accounts?search={user.email}").json()
    assert listed["count"] == 1 and listed["results"][0]["balance"] == 100
    detail = manager.get(f"/api/v1/loyalty/accounts/{acc.pk}").json()
    assert detail["email"] == user.email and detail["balance"] == 100
    assert manager.get(f"/api/v1/loyalty/accounts/{acc.pk}/ledger").json()["count"] == 1
    refused = manager.post(
        f"/api/v1/loyalty/accounts/{acc.pk}/adjustments", {"points": 5, "reason": "x"}, content_type="application/json"
    )
    assert refused.status_code == 403
    made = owner.post(
        f"/api/v1/loyalty/accounts/{acc.pk}/adjustments",
        {"points": -30, "reason": "duplicate bonus"},
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["points"] == -30
    too_much = owner.post(
        f"/api/v1/loyalty/accounts/{acc.pk}/adjustments",
        {"points": -500, "reason": "too much"},
        content_type="application/json",
    )
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "insufficient_points"
    no_reason = owner.post(
        f"/api/v1/loyalty/accounts/{acc.pk}/adjustments", {"points": 5}, content_type="application/json"
    )
    assert no_reason.status_code == 400
    missing = manager.get("/api/v1/loyalty/accounts/999999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    with tenant_context(tenant_a):
        entry = LedgerEntry.objects.get(account=acc, reason="duplicate bonus")
        assert entry.created_by  # who made it
        assert Account.objects.get(pk=acc.pk).balance == 70


def test_customers_cannot_reach_the_staff_endpoints(tenant_a):
    user, acc = _member(tenant_a)
    client = client_for(tenant_a, user)
    assert client.get(f"/api/v1/loyalty/accounts/{acc.pk}").status_code == 403
    assert client.get("/api/v1/loyalty/accounts").status_code == 403
