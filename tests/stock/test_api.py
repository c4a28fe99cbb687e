"""Stock API: scoping, ETag/If-Match, all-or-nothing restock, reservations, ledger, recall."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from apps.accounts.models import User
from apps.stock.models import StockItem
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A


@pytest.fixture
def world(tenant_a):
    with tenant_context(tenant_a):
        north, south = f.location(code="north"), f.location(code="south")
        sauce = f.variant(sku="SAUCE", tracks_lots=True)
        f.receive(north, sauce, 10, batch="B1", expires_in_days=30)
        f.receive(south, sauce, 4, batch="B1", expires_in_days=30)
    return {"north": north, "south": south, "sauce": sauce, "tenant": tenant_a}


def client_as(headers):
    return Client(HTTP_HOST=TENANT_A.domain, **headers)


def manager_of(world, location):
    headers = p.staff_headers(world["tenant"], "store_manager")
    with tenant_context(world["tenant"]):
        manager = User.objects.filter(groups__name="Store Manager").order_by("-id").first()
        location.managers.add(manager)
    return client_as(headers)


def test_store_managers_see_and_change_only_their_locations(world):
    manager = manager_of(world, world["north"])
    codes = [loc["code"] for loc in manager.get("/api/v1/locations").json()["results"]]
    assert codes == ["north"]
    assert manager.get(f"/api/v1/locations/{world['south'].pk}/inventory").status_code == 404
    assert [row["location"] for row in manager.get("/api/v1/inventory/SAUCE").json()] == ["north"]
    adjust = manager.post(
        f"/api/v1/locations/{world['south'].pk}/adjustments",
        {"sku": "SAUCE", "reason": "found", "quantity": 1, "batch_number": "B1"},
        content_type="application/json",
    )
    assert adjust.status_code == 404
    owner = client_as(p.staff_headers(world["tenant"], "owner"))
    assert len(owner.get("/api/v1/locations").json()["results"]) == 2


def test_a_stale_if_match_is_412_and_a_fresh_one_applies(world):
    owner = client_as(p.staff_headers(world["tenant"], "owner"))
    with tenant_context(world["tenant"]):
        item = StockItem.objects.get(location=world["north"])
    first = owner.get(f"/api/v1/stock-items/{item.pk}")
    etag = first["ETag"]
    ok = owner.patch(
        f"/api/v1/stock-items/{item.pk}", {"reorder_point": 3}, content_type="application/json", HTTP_IF_MATCH=etag
    )
    assert ok.status_code == 200 and ok.json()["reorder_point"] == 3 and ok["ETag"] != etag
    stale = owner.patch(
        f"/api/v1/stock-items/{item.pk}", {"reorder_point": 9}, content_type="application/json", HTTP_IF_MATCH=etag
    )
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "precondition_failed"
    assert owner.get(f"/api/v1/stock-items/{item.pk}").json()["reorder_point"] == 3


def test_bulk_restock_over_the_api_is_all_or_nothing(world):
    writer = client_as(p.api_key_headers(world["tenant"], ["inventory:write"]))
    url = f"/api/v1/locations/{world['north'].pk}/restock"
    bad = writer.post(
        url,
        {
            "lines": [
                {"sku": "SAUCE", "quantity": 5, "batch_number": "B2", "expiry_date": "2031-01-01"},
                {"sku": "GHOST", "quantity": 1},
            ]
        },
        content_type="application/json",
    )
    assert bad.status_code == 400 and list(bad.json()["error"]["details"]["lines"]) == ["1"]
    with tenant_context(world["tenant"]):
        assert StockItem.objects.get(location=world["north"]).on_hand == 10
    good = writer.post(
        url,
        {
            "reference": "ASN-1",
            "lines": [{"sku": "SAUCE", "quantity": 5, "batch_number": "B2", "expiry_date": "2031-01-01"}],
        },
        content_type="application/json",
    )
    assert good.status_code == 201 and good.json()[0]["on_hand"] == 15


def test_reservations_over_the_api(world):
    shop = client_as(p.api_key_headers(world["tenant"], ["orders:write"]))
    body = {"reference": "order-77", "lines": [{"sku": "SAUCE", "location_id": world["south"].pk, "quantity": 3}]}
    created = shop.post("/api/v1/reservations", body, content_type="application/json")
    assert created.status_code == 201
    reservation = created.json()
    assert reservation["lines"] == [
        {"sku": "SAUCE", "location_id": world["south"].pk, "quantity": 3, "batch_number": "B1"}
    ]
    short = shop.post("/api/v1/reservations", {**body, "reference": "order-78"}, content_type="application/json")
    assert short.status_code == 409 and short.json()["error"]["code"] == "insufficient_stock"
    assert short.json()["error"]["details"]["lines"][0]["available"] == 1
    committed = shop.post(f"/api/v1/reservations/{reservation['id']}/commit")
    assert committed.status_code == 200 and committed.json()["status"] == "committed"
    again = shop.post(f"/api/v1/reservations/{reservation['id']}/release")
    assert again.status_code == 409 and again.json()["error"]["code"] == "reservation_closed"
    unknown = shop.post(
        "/api/v1/reservations",
        {"reference": "x", "lines": [{"sku": "NOPE", "location_id": world["south"].pk, "quantity": 1}]},
        content_type="application/json",
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["details"]["lines"]["0"] == {"sku": ["Unknown SKU."]}


def test_the_ledger_and_the_recall_view_follow_a_batch(world):
    reader = client_as(p.api_key_headers(world["tenant"], ["inventory:read"]))
    moves = reader.get("/api/v1/movements?sku=SAUCE&kind=receipt").json()["results"]
    assert sorted(m["location"] for m in moves) == ["north", "south"]
    lot_id = reader.get("/api/v1/lots?search=B1").json()["results"][0]["id"]
    recall = reader.get(f"/api/v1/lots/{lot_id}/recall").json()
    assert sorted((s["location"], s["on_hand"]) for s in recall["stocks"]) == [("north", 10), ("south", 4)]
    assert len(recall["movements"]) == 2


def test_inventory_list_queries_do_not_grow_with_the_page(world):
    with tenant_context(world["tenant"]):
        for _ in range(15):
            f.receive(world["north"], f.variant(), 3)
    owner = client_as(p.staff_headers(world["tenant"], "owner"))
    counts = {}
    for size in (2, 15):
        with CaptureQueriesContext(connection) as queries:
            response = owner.get(f"/api/v1/locations/{world['north'].pk}/inventory?page_size={size}")
        assert len(response.json()["results"]) == size
        counts[size] = len([q for q in queries.captured_queries if not q["sql"].startswith("SET ")])
    assert counts[2] == counts[15], counts


def test_low_stock_alerts_are_listed(world):
    owner = client_as(p.staff_headers(world["tenant"], "owner"))
    with tenant_context(world["tenant"]):
        item = StockItem.objects.get(location=world["south"])
    owner.patch(f"/api/v1/stock-items/{item.pk}", {"reorder_point": 5}, content_type="application/json")
    alerts = owner.get("/api/v1/stock-alerts").json()["results"]
    assert [(a["sku"], a["location"], a["available"]) for a in alerts] == [("SAUCE", "south", 4)]


def test_store_managers_see_only_their_locations_in_the_admin(world):
    from django.contrib.auth.models import Group

    with tenant_context(world["tenant"]):
        manager = User.objects.create_user("mgr-admin@example.com", "pw-Manager-Long-1", is_staff=True)
        manager.groups.add(Group.objects.get(name="Store Manager"))
        world["north"].managers.add(manager)
    browser = Client(HTTP_HOST=TENANT_A.domain)
    with tenant_context(world["tenant"]):
        browser.force_login(manager)
    assert browser.get("/admin/stock/stockitem/").status_code == 200
    with tenant_context(world["tenant"]):
        from django.contrib import admin as django_admin
        from django.test import RequestFactory

        from apps.stock.admin import StockItemAdmin

        request = RequestFactory().get("/")
        request.user = manager
        rows = StockItemAdmin(StockItem, django_admin.site).get_queryset(request)
        assert {row.location.code for row in rows} == {"north"}
