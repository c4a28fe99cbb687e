"""A one-row order read in one statement (order, lines with their locations, events as JSON) gives
exactly what the prefetching read gives: money digits, discounts JSON, split lines, times, trail."""

from django.db import connection
from django.db.models import Prefetch
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from apps.core import sqlcache
from apps.orders.api.serializers import OrderSerializer
from apps.orders.models import Order, OrderEvent, OrderLine
from apps.orders.selectors import order_with_children
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A, TENANT_B


def prefetched(pk):
    return (
        Order.objects.select_related("location")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("location")),
            Prefetch("events", queryset=OrderEvent.objects.order_by("id")),
        )
        .get(pk=pk)
    )


def test_the_one_statement_read_equals_the_prefetching_read_for_a_split_delivery(tenant_a):
    with tenant_context(tenant_a):
        north = f.location(code="north", latitude="51.50", longitude="-0.12", delivery_enabled=True)
        south = f.location(code="south", latitude="51.40", longitude="-0.10", delivery_enabled=True)
        sauce = f.variant(sku="READ-SAUCE", price="10.35")
        chips = f.variant(sku="READ-CHIPS", price="3.10")
        f.receive(north, sauce, 2)
        f.receive(south, sauce, 5)
        f.receive(south, chips, 5)
    customer = Client(HTTP_HOST=TENANT_A.domain, **p.customer_headers(tenant_a, "retail"))
    placed = customer.post(
        "/api/v1/orders",
        {
            "fulfilment": "delivery",
            "delivery": {"address": "1 High St", "latitude": "51.45", "longitude": "-0.11"},
            "lines": [{"sku": "READ-SAUCE", "quantity": 6}, {"sku": "READ-CHIPS", "quantity": 1}],
        },
        content_type="application/json",
    )
    assert placed.status_code == 201, placed.content
    order_id = placed.json()["id"]
    staff = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(tenant_a, "owner"))
    cancelled = staff.post(
        f"/api/v1/orders/{order_id}/transitions",
        {"to": "cancelled", "reason": "a second event in the trail"},
        content_type="application/json",
    )
    assert cancelled.status_code == 200, cancelled.content
    with tenant_context(tenant_a):
        Order.objects.exists()  # the schema is set: count the read alone
        with CaptureQueriesContext(connection) as queries:
            fast = order_with_children(Order.objects.select_related("location"), pk=order_id)
            fast_data = OrderSerializer(fast).data
        assert len(queries) == 1, [q["sql"][:80] for q in queries]
        slow_data = OrderSerializer(prefetched(order_id)).data
    assert fast_data == slow_data
    assert {line["location"] for line in fast_data["lines"]} == {"north", "south"}  # split across two
    assert [e["to_status"] for e in fast_data["events"]] == ["placed", "cancelled"]
    assert all(isinstance(line["unit_price"], str) for line in fast_data["lines"])
    read = customer.get(f"/api/v1/orders/{order_id}")
    assert read.status_code == 200 and read.json()["lines"] == placed.json()["lines"]
    assert read.json() == fast_data


def test_someone_elses_order_is_still_a_404(tenant_a):
    with tenant_context(tenant_a):
        store = f.location(code="read-store", pickup_enabled=True)
        v = f.variant(sku="READ-ONE")
        f.receive(store, v, 3)
    owner = Client(HTTP_HOST=TENANT_A.domain, **p.customer_headers(tenant_a, "retail"))
    other = Client(HTTP_HOST=TENANT_A.domain, **p.customer_headers(tenant_a, "retail"))
    placed = owner.post(
        "/api/v1/orders",
        {"fulfilment": "pickup", "location_id": store.pk, "lines": [{"sku": "READ-ONE", "quantity": 1}]},
        content_type="application/json",
    )
    assert placed.status_code == 201
    response = other.get(f"/api/v1/orders/{placed.json()['id']}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def _place(tenant, domain, headers, sku, store_id):
    client = Client(HTTP_HOST=domain, **headers)
    placed = client.post(
        "/api/v1/orders",
        {"fulfilment": "pickup", "location_id": store_id, "lines": [{"sku": sku, "quantity": 1}]},
        content_type="application/json",
    )
    assert placed.status_code == 201, placed.content
    return client, placed.json()


@override_settings(SQLCACHE_VERIFY=False)  # as in production: once warm, the scoped read builds no queryset
def test_each_scope_reads_through_its_kept_statement_and_sees_only_what_it_may(tenant_a, tenant_b):
    sqlcache.clear()
    with tenant_context(tenant_a):
        store = f.location(code="scope-a", pickup_enabled=True)
        f.receive(store, f.variant(sku="SCOPE-A"), 10)
    with tenant_context(tenant_b):
        store_b = f.location(code="scope-b", pickup_enabled=True)
        f.receive(store_b, f.variant(sku="SCOPE-B"), 10)
    ann, ann_order = _place(tenant_a, TENANT_A.domain, p.customer_headers(tenant_a), "SCOPE-A", store.pk)
    bob, bob_order = _place(tenant_a, TENANT_A.domain, p.customer_headers(tenant_a), "SCOPE-A", store.pk)
    partner_headers = p.api_key_headers(tenant_a, p.all_scopes())
    partner, partner_order = _place(tenant_a, TENANT_A.domain, partner_headers, "SCOPE-A", store.pk)
    other_partner = Client(HTTP_HOST=TENANT_A.domain, **p.api_key_headers(tenant_a, p.all_scopes()))
    owner = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(tenant_a, "owner"))
    beth, beth_order = _place(tenant_b, TENANT_B.domain, p.customer_headers(tenant_b), "SCOPE-B", store_b.pk)

    def status(client, order):
        response = client.get(f"/api/v1/orders/{order['id']}")
        if response.status_code == 200:
            assert response.json()["number"] == order["number"]  # that order, not another with its id
        return response.status_code

    for _ in range(3):  # the first round compiles each scope's statement, the next ones reuse it
        assert status(ann, ann_order) == 200 and status(ann, bob_order) == 404
        assert status(bob, bob_order) == 200 and status(bob, ann_order) == 404
        assert status(partner, partner_order) == 200 and status(partner, ann_order) == 404
        assert status(other_partner, partner_order) == 404
        assert status(owner, ann_order) == status(owner, bob_order) == status(owner, partner_order) == 200
        # Another business's customer, with the same kept statement: its own schema's rows only.
        assert status(beth, beth_order) == 200
        if beth_order["id"] != ann_order["id"]:
            assert status(beth, ann_order) == 404
    assert {key[0] for key in sqlcache._BY_VALUES} >= {
        "orders.detail.customer",
        "orders.detail.placed_by_key",
        "orders.detail.all",
        "auth.session",
        "auth.api_key",
    }


@override_settings(SQLCACHE_VERIFY=False)  # the kept statements of placement, warm
def test_placing_through_the_kept_statements_still_refuses_what_is_gone(tenant_a):
    sqlcache.clear()
    with tenant_context(tenant_a):
        store = f.location(code="kept-a", pickup_enabled=True)
        closed = f.location(code="kept-closed", pickup_enabled=True)
        jam, tea = f.variant(sku="KEPT-JAM"), f.variant(sku="KEPT-TEA")
        for v in (jam, tea):
            f.receive(store, v, 10), f.receive(closed, v, 10)
    client = Client(HTTP_HOST=TENANT_A.domain, **p.customer_headers(tenant_a))

    def place(location_id, *skus):
        return client.post(
            "/api/v1/orders",
            {"fulfilment": "pickup", "location_id": location_id, "lines": [{"sku": s, "quantity": 1} for s in skus]},
            content_type="application/json",
        )

    for _ in range(2):  # warm: both statements kept
        assert place(store.pk, "KEPT-JAM", "KEPT-TEA").status_code == 201
    with tenant_context(tenant_a):
        tea.is_archived = True
        tea.save(update_fields=["is_archived"])
        closed.is_active = False
        closed.save(update_fields=["is_active"])
    refused = place(store.pk, "KEPT-JAM", "KEPT-TEA")
    assert refused.status_code == 400 and refused.json()["error"]["details"]["lines"] == {
        "1": {"sku": ["Unknown SKU."]}
    }
    refused = place(closed.pk, "KEPT-JAM")
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"location_id": ["No such location."]}
    assert place(2**70, "KEPT-JAM").status_code == 400  # beyond bigint: refused, not a 500
    assert place(store.pk, "KEPT-JAM").status_code == 201
