"""Statement budgets of the hot paths, counted as PostgreSQL sees them (committed transactions, no
test-wrapping savepoints; `SET search_path` included): placing an order and reading it."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from apps.tenants.models import Tenant
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A

# A 3-line pickup order with Idempotency-Key, steady state: the session (1), the idempotency claim and
# its completion (2), BEGIN and COMMIT (2), variants and location (2), the pricing engine's inputs
# (categories, the live-promotions version, the loyalty tier, the first-order check: 4), two savepoints
# (order_place and the order-number retry: 4), reservation, order, lines, event and outbox (5), then
# the stock rows last: one update of every row, FEFO lots read and update (3), reservation lines,
# ledger and stock outbox (3), and one audit insert (1). Was 83 before the hot-path work.
ORDER_BUDGET = 27
# The session, the order, its lines, its events; no SET search_path on a warm connection. Was 8.
READ_BUDGET = 4


@pytest.fixture
def shop(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        store = f.location(code="budget", pickup_enabled=True)
        variants = [f.variant(sku=f"BUDGET-{i}", tracks_lots=i == 0) for i in range(3)]
        for v in variants:
            f.receive(store, v, 100)
    return {"tenant": tenant, "store": store, "variants": variants, "headers": p.customer_headers(tenant)}


def _statements(context: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in context.captured_queries]


@override_settings(TENANT_LOOKUP_CACHE_SECONDS=5)  # as in production: the tenant lookup is cached
def test_placing_a_three_line_order_stays_within_its_statement_budget(shop):
    client = Client(HTTP_HOST=TENANT_A.domain, **shop["headers"])
    body = {
        "fulfilment": "pickup",
        "location_id": shop["store"].pk,
        "lines": [{"sku": v.sku, "quantity": 1} for v in shop["variants"]],
    }
    # One order first: a running server has its caches warm (tenant, content types, the connection's schema).
    warm = client.post("/api/v1/orders", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert warm.status_code == 201, warm.content
    with CaptureQueriesContext(connection) as context:
        response = client.post(
            "/api/v1/orders", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
        )
    assert response.status_code == 201, response.content
    statements = _statements(context)
    assert len(statements) <= ORDER_BUDGET, "\n".join(statements)

    order_id = response.json()["id"]
    with CaptureQueriesContext(connection) as context:
        read = client.get(f"/api/v1/orders/{order_id}")
    assert read.status_code == 200
    statements = _statements(context)
    assert len(statements) <= READ_BUDGET, "\n".join(statements)
