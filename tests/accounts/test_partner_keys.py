"""Partner API keys: shown once, stored hashed, scoped, expiring, rate limited, revocable."""

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create, api_key_hash
from apps.core.errors import ApplicationError
from tests.accounts import principals as p
from tests.conftest import TENANT_A


def owner_client(tenant) -> Client:
    return Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(tenant, "owner"))


def test_an_owner_creates_a_key_that_is_shown_once_and_stored_hashed(tenant_a):
    owner = owner_client(tenant_a)
    created = owner.post(
        "/api/v1/api-keys", {"name": "Acme ERP", "scopes": ["inventory:read"]}, content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    plain = body["key"]
    assert plain.startswith(f"fnb_{body['prefix']}_") and len(plain) > 40
    with tenant_context(tenant_a):
        row = ApiKey.objects.get(pk=body["id"])
    assert row.key_hash == api_key_hash(plain) and plain not in row.key_hash
    listed = owner.get("/api/v1/api-keys").json()["results"]
    assert [k["prefix"] for k in listed] == [body["prefix"]]
    assert "key" not in listed[0]


def test_a_key_authenticates_partners_and_reports_its_scopes(tenant_a):
    headers = p.api_key_headers(tenant_a, ["inventory:read", "orders:read"])
    response = Client(HTTP_HOST=TENANT_A.domain, **headers).get("/api/v1/api-keys/current")
    assert response.status_code == 200
    assert response.json()["scopes"] == ["inventory:read", "orders:read"]
    with tenant_context(tenant_a):
        assert ApiKey.objects.get().last_used_at is not None
    # The Authorization form works too.
    plain = headers["HTTP_X_API_KEY"]
    again = Client(HTTP_HOST=TENANT_A.domain).get("/api/v1/api-keys/current", HTTP_AUTHORIZATION=f"ApiKey {plain}")
    assert again.status_code == 200


@pytest.mark.parametrize("bad", ["fnb_nope_x", "garbage", "fnb_{prefix}_wrong-secret"])
def test_wrong_keys_are_401(tenant_a, bad):
    with tenant_context(tenant_a):
        key, _ = api_key_create(name="P", scopes=["orders:read"])
    response = Client(HTTP_HOST=TENANT_A.domain).get(
        "/api/v1/api-keys/current", HTTP_X_API_KEY=bad.format(prefix=key.prefix)
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_invalid"


def test_revoked_and_expired_keys_stop_working(tenant_a):
    owner = owner_client(tenant_a)
    with tenant_context(tenant_a):
        key, plain = api_key_create(name="P", scopes=["orders:read"])
        expiring, expiring_plain = api_key_create(
            name="Q", scopes=["orders:read"], expires_at=timezone.now() + timedelta(hours=1)
        )
        ApiKey.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert owner.delete(f"/api/v1/api-keys/{key.pk}").status_code == 204
    for secret in (plain, expiring_plain):
        response = Client(HTTP_HOST=TENANT_A.domain).get("/api/v1/api-keys/current", HTTP_X_API_KEY=secret)
        assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_inactive"
    assert owner.delete("/api/v1/api-keys/424242").status_code == 404


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["stock:everything"]}, "scopes"),
        ({"scopes": ["orders:read"], "rate_limit": "lots"}, "rate_limit"),
        ({"scopes": ["orders:read"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_invalid_keys_are_rejected(tenant_a, kwargs, field):
    response = owner_client(tenant_a).post(
        "/api/v1/api-keys", {"name": "X", **kwargs}, content_type="application/json"
    )
    assert response.status_code == 400 and field in response.json()["error"]["details"]


def test_the_service_rejects_unknown_scopes(tenant_a):
    with tenant_context(tenant_a), pytest.raises(ApplicationError):
        api_key_create(name="X", scopes=["everything"])


@override_settings(
    API_RATE_LIMITS={
        plan: {"tenant": "1000/minute", "principal": "100/minute"} for plan in ("free", "standard", "premium")
    }
)
def test_a_key_has_its_own_rate_limit(tenant_a):
    with tenant_context(tenant_a):
        _, plain = api_key_create(name="Slow partner", scopes=["orders:read"], rate_limit="2/minute")
    client = Client(HTTP_HOST=TENANT_A.domain, HTTP_X_API_KEY=plain)
    codes = [client.get("/api/v1/api-keys/current").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
