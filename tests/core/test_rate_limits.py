"""Rate limits per tenant plan: per principal and per tenant, Redis-backed, 429 + Retry-After."""

import pytest
from django.test import Client, override_settings

from apps.core.throttling import parse_rate, sliding_window_hit
from tests.conftest import TENANT_A, login, make_staff

LIMITS = {
    "free": {"tenant": "100/minute", "principal": "3/minute"},
    "standard": {"tenant": "100/minute", "principal": "6/minute"},
    "premium": {"tenant": "100/minute", "principal": "10/minute"},
}


def hammer(client: Client, times: int) -> list:
    return [client.get("/api/v1/tenant") for _ in range(times)]


@override_settings(API_RATE_LIMITS=LIMITS)
def test_the_free_plan_limit_answers_429_with_retry_after(tenant_a, client_a):
    responses = hammer(client_a, 4)
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    limited = responses[-1]
    error = limited.json()["error"]
    assert error["code"] == "rate_limited"
    retry_after = int(limited["Retry-After"])
    assert 1 <= retry_after <= 60
    assert error["details"] == {"retry_after": retry_after}


@override_settings(API_RATE_LIMITS=LIMITS)
def test_a_premium_tenant_gets_its_higher_limit(tenant_b, client_b):
    codes = [r.status_code for r in hammer(client_b, 11)]
    assert codes == [200] * 10 + [429]


@override_settings(API_RATE_LIMITS=LIMITS)
def test_the_plan_is_read_per_request(tenant_a, client_a):
    tenant_a.plan = "premium"
    tenant_a.save(update_fields=["plan"])
    assert all(r.status_code == 200 for r in hammer(client_a, 10))


@override_settings(API_RATE_LIMITS=LIMITS)
def test_each_principal_has_its_own_budget(tenant_a, client_a):
    signed_in = login(Client(HTTP_HOST=TENANT_A.domain), tenant_a, make_staff(tenant_a))
    assert [r.status_code for r in hammer(client_a, 4)][-1] == 429
    assert all(r.status_code == 200 for r in hammer(signed_in, 3))


@override_settings(API_RATE_LIMITS=LIMITS)
def test_tenants_do_not_share_budgets(tenant_a, tenant_b, client_a, client_b):
    assert hammer(client_a, 4)[-1].status_code == 429
    assert hammer(client_b, 1)[0].status_code == 200


@override_settings(API_RATE_LIMITS={**LIMITS, "free": {"tenant": "5/minute", "principal": "100/minute"}})
def test_the_tenant_wide_budget_covers_all_callers_together(tenant_a):
    clients = [Client(HTTP_HOST=TENANT_A.domain, REMOTE_ADDR=f"10.0.0.{i}") for i in range(6)]
    codes = [c.get("/api/v1/tenant").status_code for c in clients]
    assert codes == [200] * 5 + [429]


@override_settings(API_RATE_LIMITS=LIMITS, RATE_LIMIT_REDIS_URL="redis://127.0.0.1:1/0")
def test_an_unreachable_redis_lets_requests_through(tenant_a, client_a):
    from apps.core.redis import get_redis

    get_redis.cache_clear()
    try:
        assert all(r.status_code == 200 for r in hammer(client_a, 5))
    finally:
        get_redis.cache_clear()


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("60/minute", (60, 60)), ("5/s", (5, 1)), ("100/hour", (100, 3600)), ("7/days", (7, 86400))],
)
def test_parse_rate(rate, expected):
    assert parse_rate(rate) == expected


def test_parse_rate_rejects_nonsense():
    with pytest.raises(ValueError):
        parse_rate("10/fortnight")


def test_sliding_window_weights_the_previous_window(db):
    # 10 hits at the very end of one window, then at 50% of the next: 10*0.5 = 5 still count.
    key = "rl:unit:sliding"
    for _ in range(10):
        assert sliding_window_hit(key, 10, 60, now=119.9) == 0
    assert sliding_window_hit(key, 10, 60, now=150.0) == 0  # 5 + 1
    for _ in range(4):
        sliding_window_hit(key, 10, 60, now=150.0)  # 5 + 5 = 10: still allowed
    wait = sliding_window_hit(key, 10, 60, now=150.0)  # 11th
    assert 1 <= wait <= 10


@override_settings(API_RATE_LIMITS={**LIMITS, "free": {"tenant": "5/minute", "principal": "2/minute"}})
def test_a_noisy_caller_does_not_use_up_the_tenants_budget(tenant_a, client_a):
    noisy = [client_a.get("/api/v1/tenant").status_code for _ in range(10)]
    assert noisy == [200, 200] + [429] * 8
    others = [
        Client(HTTP_HOST=TENANT_A.domain, REMOTE_ADDR=f"10.9.0.{i}").get("/api/v1/tenant").status_code
        for i in range(3)
    ]
    assert others == [200, 200, 200]  # 2 + 3 allowed requests: within the tenant's 5


def test_forwarded_for_is_not_trusted_without_proxies(tenant_a):
    from django.test import RequestFactory
    from rest_framework.throttling import BaseThrottle

    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="1.2.3.4", REMOTE_ADDR="10.0.0.1")
    assert BaseThrottle().get_ident(request) == "10.0.0.1"


@override_settings(API_RATE_LIMITS={**LIMITS, "free": {"tenant": "4/minute", "principal": "100/minute"}})
def test_the_callers_and_the_tenants_budgets_cost_one_redis_round_trip(tenant_a, client_a, monkeypatch):
    from apps.core import throttling

    calls = []
    real = throttling.sliding_windows_hit

    def counted(budgets, **kw):
        calls.append([key.split(":")[2] for key, _, _ in budgets])
        return real(budgets, **kw)

    monkeypatch.setattr(throttling, "sliding_windows_hit", counted)
    statuses = [client_a.get("/api/v1/tenant").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the tenant's budget, counted in the same trip
    assert calls == [["principal", "tenant"]] * 5


def test_a_refused_first_budget_does_not_charge_the_next(db):
    from apps.core.throttling import sliding_windows_hit

    first, second = "rl:unit:first", "rl:unit:second"
    assert sliding_windows_hit([(first, 1, 60), (second, 10, 60)], now=30.0) == [0.0, 0.0]
    waits = sliding_windows_hit([(first, 1, 60), (second, 10, 60)], now=30.0)
    assert len(waits) == 1 and waits[0] >= 1  # refused by the first: the second was not counted
    assert sliding_windows_hit([(second, 1, 60)], now=30.0)[0] >= 1  # 1 earlier hit + this one > 1
    assert sliding_windows_hit([("rl:unit:third", 1, 60)], now=30.0) == [0.0]
