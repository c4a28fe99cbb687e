"""The sessions and API-key lists page and filter like the other lists.

Sessions: only the caller's own; `state` (active by default, revoked, expired, all), created range,
device-name search, page links. API keys: owners only; `state`, `scope`, created range, name search.
A filter value that is not one of the documented ones is 400 in the one error shape.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts import services
from apps.accounts.models import ApiKey, AuthSession
from tests.accounts import principals as p
from tests.conftest import TENANT_A


def client_as(headers: dict[str, str]) -> Client:
    return Client(HTTP_HOST=TENANT_A.domain, **headers)


@pytest.fixture
def ann(tenant_a):
    """A retail customer signed in on five devices: two revoked, one expired, one from last month."""
    with tenant_context(tenant_a):
        user = p.user_of_kind("retail")
        current = services.session_start(user=user, device_name="Ann's iPhone 15")
        for device in ("Ann's iPad", "Work laptop (Firefox)", "Old Android", "Kitchen tablet"):
            services.session_start(user=user, device_name=device)
        sessions = {s.device_name: s for s in AuthSession.objects.filter(user=user)}
        services.session_revoke(session=sessions["Old Android"], reason="revoked_by_user")
        services.session_revoke(session=sessions["Work laptop (Firefox)"], reason="password_changed")
        AuthSession.objects.filter(pk=sessions["Kitchen tablet"].pk).update(
            expires_at=timezone.now() - dt.timedelta(days=1)
        )
        AuthSession.objects.filter(pk=sessions["Ann's iPad"].pk).update(
            created_at=timezone.now() - dt.timedelta(days=40)
        )
        other = p.user_of_kind("retail")  # someone else's session never shows
        services.session_start(user=other, device_name="Bob's iPhone")
    return {"client": client_as(p.bearer(current.access)), "user": user}


def _devices(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["device_name"] for row in response.json()["results"])


def test_my_sessions_list_is_a_page_of_my_active_sessions_by_default(ann):
    response = ann["client"].get("/api/v1/auth/sessions")
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2 and _devices(response) == ["Ann's iPad", "Ann's iPhone 15"]
    assert [row["device_name"] for row in body["results"] if row["current"]] == ["Ann's iPhone 15"]


@pytest.mark.parametrize(
    ("state", "devices"),
    [
        ("active", ["Ann's iPad", "Ann's iPhone 15"]),
        ("revoked", ["Old Android", "Work laptop (Firefox)"]),
        ("expired", ["Kitchen tablet"]),
        ("all", ["Ann's iPad", "Ann's iPhone 15", "Kitchen tablet", "Old Android", "Work laptop (Firefox)"]),
    ],
)
def test_sessions_filter_by_state(ann, state, devices):
    assert _devices(ann["client"].get("/api/v1/auth/sessions", {"state": state})) == devices


def test_revoked_sessions_say_when_and_why(ann):
    rows = ann["client"].get("/api/v1/auth/sessions", {"state": "revoked"}).json()["results"]
    reasons = {row["device_name"]: row["revoked_reason"] for row in rows}
    assert reasons == {"Old Android": "revoked_by_user", "Work laptop (Firefox)": "password_changed"}
    assert all(row["revoked_at"] for row in rows)


def test_sessions_filter_by_created_range_and_search_the_device(ann):
    week_ago = (timezone.now() - dt.timedelta(days=7)).isoformat()
    client = ann["client"]
    assert _devices(client.get("/api/v1/auth/sessions", {"state": "all", "created_from": week_ago})) == [
        "Ann's iPhone 15",
        "Kitchen tablet",
        "Old Android",
        "Work laptop (Firefox)",
    ]
    assert _devices(client.get("/api/v1/auth/sessions", {"created_to": week_ago})) == ["Ann's iPad"]
    assert _devices(client.get("/api/v1/auth/sessions", {"state": "all", "search": "firefox"})) == [
        "Work laptop (Firefox)"
    ]
    assert _devices(client.get("/api/v1/auth/sessions", {"search": "ann's"})) == ["Ann's iPad", "Ann's iPhone 15"]


def test_sessions_page_with_next_and_previous_links(ann):
    client = ann["client"]
    first = client.get("/api/v1/auth/sessions", {"state": "all", "page_size": 2, "ordering": "created_at"}).json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["previous"] is None
    assert "page=2" in first["next"] and "state=all" in first["next"]
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    assert third["next"] is None and len(third["results"]) == 1
    seen = [row["id"] for page in (first, second, third) for row in page["results"]]
    assert len(set(seen)) == 5
    assert seen[0] == next(row["id"] for row in first["results"] if row["device_name"] == "Ann's iPad")  # oldest
    assert client.get("/api/v1/auth/sessions", {"state": "all", "page_size": 2, "page": 9}).status_code == 404


def test_a_user_sees_only_their_own_sessions(ann, tenant_a):
    everything = ann["client"].get("/api/v1/auth/sessions", {"state": "all", "search": "iphone"}).json()["results"]
    assert [row["device_name"] for row in everything] == ["Ann's iPhone 15"]  # never Bob's iPhone
    with tenant_context(tenant_a):
        assert AuthSession.objects.filter(device_name="Bob's iPhone").exists()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "sleeping"}, "state"),
        ({"session_type": "robot"}, "session_type"),
        ({"created_from": "last tuesday"}, "created_from"),
    ],
)
def test_a_bad_session_filter_is_400_in_the_error_shape(ann, params, field):
    response = ann["client"].get("/api/v1/auth/sessions", params)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]


# ---------------------------------------------------------------------------------------------
# Partner API keys


@pytest.fixture
def keys(tenant_a):
    with tenant_context(tenant_a):
        made = {
            "erp": services.api_key_create(name="Acme ERP", scopes=["inventory:read", "inventory:write"])[0],
            "shop": services.api_key_create(name="Corner Shop POS", scopes=["orders:write"])[0],
            "old": services.api_key_create(name="Acme legacy sync", scopes=["inventory:read"])[0],
            "trial": services.api_key_create(
                name="Trial partner",
                scopes=["orders:read"],
                expires_at=timezone.now() + dt.timedelta(days=1),
            )[0],
        }
        services.api_key_revoke(key=made["old"])
        ApiKey.objects.filter(pk=made["trial"].pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
        ApiKey.objects.filter(pk=made["erp"].pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    return made


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["name"] for row in response.json()["results"])


@pytest.fixture
def owner(tenant_a):
    return client_as(p.staff_headers(tenant_a, "owner"))


def test_the_key_list_is_a_page_of_every_key_by_default(keys, owner):
    body = owner.get("/api/v1/api-keys").json()
    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 4
    assert all("key" not in row and "key_hash" not in row for row in body["results"])
    page = owner.get("/api/v1/api-keys", {"page_size": 3}).json()
    assert len(page["results"]) == 3 and "page=2" in page["next"]
    assert len(owner.get(page["next"]).json()["results"]) == 1


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"state": "active"}, ["Acme ERP", "Corner Shop POS"]),
        ({"state": "revoked"}, ["Acme legacy sync"]),
        ({"state": "expired"}, ["Trial partner"]),
        ({"scope": "inventory:read"}, ["Acme ERP", "Acme legacy sync"]),
        ({"scope": "inventory:read", "state": "active"}, ["Acme ERP"]),
        ({"scope": "webhooks:manage"}, []),
        ({"search": "acme"}, ["Acme ERP", "Acme legacy sync"]),
    ],
    ids=["active", "revoked", "expired", "scope", "scope-and-state", "scope-none", "search"],
)
def test_keys_filter_by_state_scope_and_name(keys, owner, params, names):
    assert _names(owner.get("/api/v1/api-keys", params)) == names


def test_keys_filter_by_created_range(keys, owner):
    week_ago = (timezone.now() - dt.timedelta(days=7)).isoformat()
    assert _names(owner.get("/api/v1/api-keys", {"created_to": week_ago})) == ["Acme ERP"]
    assert "Acme ERP" not in _names(owner.get("/api/v1/api-keys", {"created_from": week_ago}))


def test_keys_search_by_prefix(keys, owner):
    assert _names(owner.get("/api/v1/api-keys", {"search": keys["shop"].prefix})) == ["Corner Shop POS"]


@pytest.mark.parametrize("role", ["store_manager", "warehouse"])
def test_only_owners_list_keys(keys, tenant_a, role):
    response = client_as(p.staff_headers(tenant_a, role)).get("/api/v1/api-keys")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_partners_and_customers_cannot_list_keys(keys, tenant_a):
    partner = client_as(p.api_key_headers(tenant_a, ["inventory:read", "webhooks:manage"]))
    customer = client_as(p.customer_headers(tenant_a))
    assert partner.get("/api/v1/api-keys").status_code == 403
    assert customer.get("/api/v1/api-keys").status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [({"scope": "everything"}, "scope"), ({"state": "paused"}, "state"), ({"created_to": "2026-13-45"}, "created_to")],
)
def test_a_bad_key_filter_is_400_in_the_error_shape(keys, owner, params, field):
    response = owner.get("/api/v1/api-keys", params)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and list(error["details"]) == [field]


def test_the_lists_read_a_page_in_a_fixed_number_of_queries(keys, owner, django_assert_max_num_queries, tenant_a):
    with tenant_context(tenant_a):
        for n in range(20):
            services.api_key_create(name=f"Bulk partner {n}", scopes=["orders:read"])
    # the tenant lookup and two search_path switches, the session, the roles, the count and the page
    with django_assert_max_num_queries(7):
        assert owner.get("/api/v1/api-keys", {"page_size": 50}).status_code == 200


def test_the_schema_documents_the_filters(tenant_a):
    schema = Client(HTTP_HOST=TENANT_A.domain).get("/api/v1/schema/?format=json").json()
    sessions = {prm["name"]: prm for prm in schema["paths"]["/api/v1/auth/sessions"]["get"]["parameters"]}
    assert {"state", "session_type", "created_from", "created_to", "search", "ordering", "page", "page_size"} <= set(
        sessions
    )
    assert sessions["state"]["schema"]["enum"] == ["active", "all", "expired", "revoked"]
    keys_ = {prm["name"]: prm for prm in schema["paths"]["/api/v1/api-keys"]["get"]["parameters"]}
    assert {"state", "scope", "created_from", "created_to", "search", "ordering", "page", "page_size"} <= set(keys_)
    assert "inventory:read" in keys_["scope"]["schema"]["enum"]
    for path in ("/api/v1/auth/sessions", "/api/v1/api-keys"):
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok["$ref"].startswith("#/components/schemas/Paginated")


def test_an_ordering_by_an_undocumented_column_is_ignored(ann):
    """As on every list: `ordering` only takes the documented columns (never the token's id)."""
    response = ann["client"].get("/api/v1/auth/sessions", {"ordering": "refresh_jti"})
    assert response.status_code == 200 and response.json()["count"] == 2
    row = response.json()["results"][0]
    assert "user" not in row and "refresh_jti" not in row
