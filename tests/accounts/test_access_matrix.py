"""The access matrix: every operation of the OpenAPI schema, called as every kind of caller.

Each API view declares `access_policy`; this test walks the schema, so an endpoint added later is
covered the day it is added, and one without a declared policy fails here. For each operation
it calls the endpoint as: anonymous, guest, retail user, wholesale buyer, each staff role, a
partner API key with the operation's scope and one without it, and a valid token of another
tenant, and checks the answer against the declaration: allowed callers never get 401/403,
everybody else always does (401 when the caller is not authenticated here).
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client, override_settings
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator

from apps.accounts.policy import API_KEY_SCOPES, Access, Principal, policy_for
from tests.accounts import principals as p
from tests.conftest import TENANT_A

PRINCIPALS = [
    "anonymous",
    "guest",
    "retail",
    "wholesale",
    "owner",
    "store_manager",
    "warehouse",
    "api_key_with_scope",
    "api_key_without_scope",
    "other_tenant_token",
]
# Path parameters get values that exist nowhere: allowed callers then get 404 (or 400), never 401/403.
PLACEHOLDERS = {
    "product_id": lambda: "999999",
    "sku": lambda: "NO-SUCH-SKU",
    "location_id": lambda: "999999",
    "reservation_id": lambda: "999999",
    "lot_id": lambda: "999999",
    "item_id": lambda: "999999",
    "transfer_id": lambda: "999999",
    "order_id": lambda: "999999",
    "return_id": lambda: "999999",
    "route_id": lambda: "999999",
    "stop_id": lambda: "999999",
    "session_id": lambda: str(uuid.uuid4()),
    "key_id": lambda: "999999",
    "user_id": lambda: "999999",
    "promotion_id": lambda: "999999",
    "coupon_id": lambda: "999999",
    "account_id": lambda: "999999",
    "review_id": lambda: "999999",
    "photo_id": lambda: "999999",
    "image_id": lambda: "999999",
    "endpoint_id": lambda: "999999",
    "delivery_id": lambda: "999999",
    "invoice_id": lambda: "999999",
}


def _operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator(urlconf="config.urls_tenant").get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


OPERATIONS = _operations()


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PLACEHOLDERS[m.group(1)](), path)


def _view_class(path: str) -> type:
    return resolve(_concrete(path), urlconf="config.urls_tenant").func.cls


def _expected(principal: str, policy: Access, view: type) -> bool:
    roles = {"owner", "store_manager", "warehouse"}
    if principal == "anonymous":
        return policy.allows(Principal(kind="anonymous"))
    if principal == "other_tenant_token":
        # Another tenant's token is never valid here; only endpoints that read no credentials
        # (sign-up, sign-in, ...) treat its bearer as anonymous.
        return not view.authentication_classes and policy.allows(Principal(kind="anonymous"))
    if principal in roles:
        return policy.allows(Principal(kind="staff", roles=frozenset({principal})))
    if principal == "api_key_with_scope":
        return policy.allows(Principal(kind="api_key", scopes=frozenset(_scopes_with(policy))))
    if principal == "api_key_without_scope":
        return policy.allows(Principal(kind="api_key", scopes=frozenset(_scopes_without(policy))))
    return policy.allows(Principal(kind=principal))


def _scopes_with(policy: Access) -> list[str]:
    return [policy.api_key_scope] if policy.api_key_scope else list(API_KEY_SCOPES)


def _scopes_without(policy: Access) -> list[str]:
    return [s for s in API_KEY_SCOPES if s != policy.api_key_scope][:1]


def _headers(principal: str, policy: Access, tenant_a, tenant_b) -> dict[str, str]:
    if principal == "anonymous":
        return {}
    if principal == "guest":
        return p.guest_headers(tenant_a)
    if principal in {"retail", "wholesale"}:
        return p.customer_headers(tenant_a, principal)
    if principal in {"owner", "store_manager", "warehouse"}:
        return p.staff_headers(tenant_a, principal)
    if principal == "api_key_with_scope":
        return p.api_key_headers(tenant_a, _scopes_with(policy))
    if principal == "api_key_without_scope":
        return p.api_key_headers(tenant_a, _scopes_without(policy))
    return p.customer_headers(tenant_b, "retail")


def test_every_operation_declares_a_policy():
    missing = [f"{m} {path}" for m, path in OPERATIONS if policy_for(_view_class(path), m) is None]
    assert not missing, f"Operations without a declared access_policy: {missing}"


@override_settings(AUTH_RATE_LIMIT="100000/minute")
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_access_matrix(tenant_a, tenant_b, method, path):
    view = _view_class(path)
    policy = policy_for(view, method)
    outcomes = {}
    for principal in PRINCIPALS:
        client = Client(HTTP_HOST=TENANT_A.domain)
        headers = _headers(principal, policy, tenant_a, tenant_b)
        response = getattr(client, method.lower())(_concrete(path), {}, content_type="application/json", **headers)
        allowed = _expected(principal, policy, view)
        denied_statuses = {401, 403}
        ok = (response.status_code not in denied_statuses) if allowed else (response.status_code in denied_statuses)
        if not allowed and principal in {"anonymous", "other_tenant_token"} and view.authentication_classes:
            ok = ok and response.status_code == 401
        outcomes[principal] = (allowed, response.status_code, ok)
    wrong = {k: v for k, v in outcomes.items() if not v[2]}
    assert not wrong, f"{method} {path}: principal -> (expected allowed, status, ok): {wrong}"
