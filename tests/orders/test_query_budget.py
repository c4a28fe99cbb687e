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
# (the live-promotions version: 1; categories, loyalty tier and first-order check only when a live
# offer depends on them), reservation, order (INSERT ... ON CONFLICT on its random number: no
# savepoint), lines and event in one statement (3), then the stock rows last: one update of every row, FEFO lots read
# and update (3), reservation lines + ledger (+ their audit entries) in one statement (1), and the
# request's audit entries + outbox events in one statement (1). Was 83 before the hot-path work, 27
# before the unit of work, 17 before the lines and the event went in together.
ORDER_BUDGET = 16
# The session, then the order with its lines and events in one statement (apps.orders.selectors); no
# SET search_path on a warm connection. Was 8, then 4.
READ_BUDGET = 2


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
    with tenant_context(shop["tenant"]):
        from auditlog.models import LogEntry

        from apps.orders.models import Order

        order = Order.objects.get(pk=order_id)
        event = order.events.get()  # inserted with the lines, and audited as a create() is
        assert (event.from_status, event.to_status, event.reason) == ("", "placed", "placed")
        assert LogEntry.objects.get_for_object(event).filter(action=LogEntry.Action.CREATE).count() == 1
        assert sorted(line.sku for line in order.lines.all()) == sorted(v.sku for v in shop["variants"])


@override_settings(TENANT_LOOKUP_CACHE_SECONDS=5)
def test_a_store_manager_reads_a_split_order_picked_partly_at_their_location_within_the_read_budget(shop):
    """Store managers also see orders with a line at a location they manage: the scope is subqueries
    in the order's one statement, so their read costs what an owner's does, the read budget plus
    the staff roles lookup every staff request makes."""
    from apps.accounts.models import User

    tenant = shop["tenant"]
    with tenant_context(tenant):
        main = f.location(code="budget-main", delivery_enabled=True)
        side = f.location(code="budget-side", delivery_enabled=True)
        f.receive(main, shop["variants"][1], 5)
        f.receive(side, shop["variants"][2], 1)
    customer = Client(HTTP_HOST=TENANT_A.domain, **shop["headers"])
    body = {
        "fulfilment": "delivery",
        "delivery": {"address": "1 Side St", "latitude": "40.7", "longitude": "-74.0"},
        "lines": [{"sku": shop["variants"][1].sku, "quantity": 5}, {"sku": shop["variants"][2].sku, "quantity": 1}],
    }
    # The budget store holds 100 of each: take its stock out of the way so the order splits.
    with tenant_context(tenant):
        shop["store"].is_active = False
        shop["store"].save(update_fields=["is_active"])
    placed = customer.post("/api/v1/orders", body, content_type="application/json")
    assert placed.status_code == 201, placed.content
    order = placed.json()
    assert order["location"] == "budget-main"
    assert sorted(ln["location"] for ln in order["lines"]) == ["budget-main", "budget-side"]

    manager = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(tenant, "store_manager"))
    owner = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(tenant, "owner"))
    with tenant_context(tenant):
        side.managers.add(User.objects.filter(groups__name="Store Manager").order_by("-id").first())
    counts = {}
    for name, client in (("owner", owner), ("manager", manager)):
        assert client.get(f"/api/v1/orders/{order['id']}").status_code == 200  # warm
        with CaptureQueriesContext(connection) as context:
            read = client.get(f"/api/v1/orders/{order['id']}")
        assert read.status_code == 200, read.content
        counts[name] = _statements(context)
    assert len(counts["manager"]) == len(counts["owner"]) <= READ_BUDGET + 1, "\n".join(counts["manager"])


def test_an_order_number_collision_takes_another_number_without_a_savepoint(shop, monkeypatch):
    from auditlog.models import LogEntry

    from apps.orders import services
    from apps.orders.models import Order

    client = Client(HTTP_HOST=TENANT_A.domain, **shop["headers"])
    body = {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "BUDGET-1", "quantity": 1}]}
    first = client.post("/api/v1/orders", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert first.status_code == 201
    taken = first.json()["number"]
    numbers = iter([taken, taken, "2612-FRESH1"])
    monkeypatch.setattr(services, "_number", lambda: next(numbers))
    with CaptureQueriesContext(connection) as context:
        second = client.post(
            "/api/v1/orders", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
        )
    assert second.status_code == 201, second.content
    assert second.json()["number"] == "2612-FRESH1"
    assert not [q for q in _statements(context) if "SAVEPOINT" in q]
    with tenant_context(shop["tenant"]):
        order = Order.objects.select_related("reservation").get(number="2612-FRESH1")
        assert order.reservation.reference == "order-2612-FRESH1"
        assert LogEntry.objects.get_for_object(order).filter(action=LogEntry.Action.CREATE).count() == 1
        assert Order.objects.filter(number=taken).count() == 1
