"""The integrations API: endpoints (secret shown once, scopes, partner isolation), event types,
deliveries; partner bulk stock sync in both modes; the changes feed's cursor under concurrent writes."""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import tenant_context

from apps.core.services import events_record
from apps.stock.models import Movement, StockItem
from apps.tenants.models import Tenant
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A


def client(headers) -> Client:
    return Client(HTTP_HOST=TENANT_A.domain, **headers)


def test_an_endpoint_is_created_with_its_secret_shown_once_and_partners_see_only_their_own(tenant_a):
    partner = client(p.api_key_headers(tenant_a, ["webhooks:manage"]))
    created = partner.post(
        "/api/v1/webhooks/endpoints",
        {"url": "http://127.0.0.1:9/hook", "event_types": ["order.*", "stock.low"]},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    endpoint_id = created.json()["id"]
    listed = partner.get("/api/v1/webhooks/endpoints").json()
    assert listed["count"] == 1 and "secret" not in listed["results"][0]
    assert "secret" not in partner.get(f"/api/v1/webhooks/endpoints/{endpoint_id}").json()

    other = client(p.api_key_headers(tenant_a, ["webhooks:manage"]))
    assert other.get(f"/api/v1/webhooks/endpoints/{endpoint_id}").status_code == 404
    assert other.get("/api/v1/webhooks/endpoints").json()["count"] == 0
    owner = client(p.staff_headers(tenant_a, "owner"))
    assert owner.get("/api/v1/webhooks/endpoints").json()["count"] == 1
    no_scope = client(p.api_key_headers(tenant_a, ["inventory:read"]))
    assert no_scope.get("/api/v1/webhooks/endpoints").status_code == 403
    manager = client(p.staff_headers(tenant_a, "store_manager"))
    assert manager.get("/api/v1/webhooks/endpoints").status_code == 403

    rotated = partner.post(
        f"/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret", {}, content_type="application/json"
    )
    assert rotated.status_code == 200 and rotated.json()["secret"] != created.json()["secret"]
    bad = partner.post(
        "/api/v1/webhooks/endpoints",
        {"url": "http://127.0.0.1:9/x", "event_types": ["nope"]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"


def test_the_event_type_catalogue_is_served_and_in_the_schema(tenant_a):
    owner = client(p.staff_headers(tenant_a, "owner"))
    types = {row["type"] for row in owner.get("/api/v1/webhooks/event-types").json()}
    assert {
        "order.placed",
        "order.paid",
        "stock.changed",
        "stock.low",
        "curbside.arrived",
        "review.published",
    } <= types
    schema = owner.get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "curbside.arrived" in schema and "webhooks_endpoints_create" in schema


@pytest.fixture
def catalog(tenant_a):
    from apps.catalog.models import Category, Product, Variant

    with tenant_context(tenant_a):
        store = f.location(code="north")
        category = Category.objects.create(name="Sync", slug="sync")
        product = Product.objects.create(name="Sync sauce", slug="sync-sauce", category=category)
        variants = Variant.objects.bulk_create(
            [
                Variant(product=product, sku=f"SYNC-{i:05d}", name="250 ml", price="4.00", tracks_lots=False)
                for i in range(5000)
            ]
        )
        f.receive(store, variants[0], 10)
    return store, variants


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["all_or_nothing", "per_line"])
def test_a_bulk_sync_of_5000_lines_with_a_bad_line(tenant_a, catalog, mode):
    _store, variants = catalog
    lines = [{"sku": v.sku, "location": "north", "on_hand": 7} for v in variants]
    lines[1234]["sku"] = "NO-SUCH-SKU"
    partner = client(p.api_key_headers(tenant_a, ["inventory:write"]))
    response = partner.post(
        "/api/v1/sync/stock",
        {"mode": mode, "lines": lines},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=f"s-{mode}",
    )
    with tenant_context(tenant_a):
        if mode == "all_or_nothing":
            assert response.status_code == 400
            assert response.json()["error"]["details"]["lines"] == {"1234": ["unknown_sku"]}
            assert StockItem.objects.count() == 1 and StockItem.objects.get().on_hand == 10  # nothing applied
        else:
            assert response.status_code == 200, response.content
            body = response.json()
            assert body["applied"] == 4999 and body["rejected"] == 1, body["lines"][:2]
            assert body["lines"][1234] == {"index": 1234, "result": "unknown_sku", "delta": None}
            assert body["lines"][0] == {"index": 0, "result": "applied", "delta": -3}
            assert StockItem.objects.filter(on_hand=7).count() == 4999
            # The ledger explains every unit: received 10, then counted down to 7.
            assert Movement.objects.filter(variant=variants[0], reason="count_correction").get().on_hand_delta == -3
            replay = partner.post(
                "/api/v1/sync/stock",
                {"mode": mode, "lines": lines},
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"s-{mode}",
            )
            assert replay.json() == body and Movement.objects.filter(reason="count_correction").count() == 4999


def test_a_level_below_reserved_units_is_refused_per_line(tenant_a):
    with tenant_context(tenant_a):
        from apps.stock.services import ReserveLine, reservation_create

        store = f.location(code="north")
        sauce = f.variant(sku="SAUCE")
        f.receive(store, sauce, 10)
        import datetime as dt

        reservation_create(reference="r", lines=[ReserveLine(sauce, store, 6)], ttl=dt.timedelta(minutes=5))
    partner = client(p.api_key_headers(tenant_a, ["inventory:write"]))
    body = partner.post(
        "/api/v1/sync/stock",
        {"mode": "per_line", "lines": [{"sku": "SAUCE", "location": "north", "on_hand": 5}]},
        content_type="application/json",
    ).json()
    assert body["lines"][0]["result"] == "below_reserved"


@pytest.mark.slow
def test_the_changes_cursor_has_no_gaps_or_repeats_under_concurrent_writes(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    headers = p.api_key_headers(tenant, ["inventory:read"])
    written: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with tenant_context(tenant):
                for n in range(40):
                    with transaction.atomic():
                        events_record([("stock.changed", {"variant_id": seed * 1000 + n, "location_id": 1})])
                        time.sleep(rng.uniform(0, 0.02))  # commit late: lower ids become visible after higher ones
                    with lock:
                        written.append(seed * 1000 + n)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(s,)) for s in range(1, 5)]
    for t in threads:
        t.start()
    reader = client(headers)
    seen: list[int] = []
    cursor = ""
    while True:
        response = reader.get("/api/v1/sync/changes", {"cursor": cursor, "limit": 7})
        assert response.status_code == 200, response.content
        page = response.json()
        seen += [row["data"]["variant_id"] for row in page["results"]]
        cursor = page["cursor"]
        if not any(t.is_alive() for t in threads) and not page["results"]:
            break
        time.sleep(0.005)
    stop.set()
    assert len(seen) == len(set(seen)) == 160, (page, len(written))  # no repeats
    assert sorted(seen) == sorted(written)  # no gaps
    orders_only = client(p.api_key_headers(tenant, ["orders:read"]))
    assert orders_only.get("/api/v1/sync/changes").json()["results"] == []  # scoped to the key
