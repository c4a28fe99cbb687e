"""Audit of stock: every quantity change leaves an audit entry with the actor and the request id,
written in the same statement as the ledger rows (no extra round trip, no signal per row)."""

import datetime as dt

from auditlog.models import LogEntry
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core.audit import system_actor
from apps.stock import services as stock
from apps.stock.models import Reservation, StockItem
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A


def stock_entries(tenant, item):
    with tenant_context(tenant):
        return list(LogEntry.objects.get_for_object(item).order_by("id"))


def setup_stock(tenant, on_hand=10):
    with tenant_context(tenant):
        store = f.location(code="audit-store")
        sauce = f.variant(sku="AUDIT-SAUCE")
        f.receive(store, sauce, on_hand)
        item = StockItem.objects.get(location=store, variant=sauce)
    return store, sauce, item


def test_an_audit_entry_for_a_reservation_names_the_api_key_and_the_request_id(tenant_a):
    store, _, item = setup_stock(tenant_a)
    shop = Client(HTTP_HOST=TENANT_A.domain, **p.api_key_headers(tenant_a, ["orders:write"]))
    body = {"reference": "order-audit-1", "lines": [{"sku": "AUDIT-SAUCE", "location_id": store.pk, "quantity": 3}]}
    response = shop.post("/api/v1/reservations", body, content_type="application/json", HTTP_X_REQUEST_ID="req-res-1")
    assert response.status_code == 201, response.content
    entry = stock_entries(tenant_a, item)[-1]
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.changes == {"reserved": ["0", "3"]}
    assert entry.cid == "req-res-1"
    assert entry.additional_data["actor"]["kind"] == "api_key"
    assert entry.additional_data["stock"] == {
        "operations": ["reservation"],
        "reference": "order-audit-1",
        "deltas": {"reserved": 3},
        "available": 7,
    }
    with tenant_context(tenant_a):
        reservation = Reservation.objects.get(pk=response.json()["id"])
        (created,) = LogEntry.objects.get_for_object(reservation)
    assert created.action == LogEntry.Action.CREATE
    assert created.changes["status"] == ["None", "active"]
    assert created.cid == "req-res-1"


def test_committing_a_reservation_records_the_sale_and_the_status_change(tenant_a):
    store, sauce, item = setup_stock(tenant_a)
    with tenant_context(tenant_a), system_actor("task:test.commit"):
        reservation = stock.reservation_create(
            reference="order-audit-2",
            lines=[stock.ReserveLine(sauce, store, 4)],
            ttl=dt.timedelta(minutes=10),
        )
        stock.reservation_commit(reservation=reservation)
        closes = [e for e in LogEntry.objects.get_for_object(reservation).order_by("id")]
    sale = stock_entries(tenant_a, item)[-1]
    assert sale.changes == {"on_hand": ["10", "6"], "reserved": ["4", "0"]}
    assert sale.additional_data["stock"]["operations"] == ["sale"]
    assert sale.additional_data["actor"] == {"kind": "system", "label": "task:test.commit"}
    assert [e.changes.get("status") for e in closes] == [["None", "active"], ["active", "committed"]]


def test_a_staff_adjustment_over_the_api_names_the_user(tenant_a):
    store, _, item = setup_stock(tenant_a)
    owner = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(tenant_a, "owner"))
    response = owner.post(
        f"/api/v1/locations/{store.pk}/adjustments",
        {"sku": "AUDIT-SAUCE", "reason": "damaged", "quantity": 2},
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-adj-1",
    )
    assert response.status_code in (200, 201), response.content
    entry = stock_entries(tenant_a, item)[-1]
    assert entry.actor_id is not None
    assert entry.cid == "req-adj-1"
    assert entry.changes["on_hand"] == ["10", "8"]
    assert entry.additional_data["stock"]["deltas"]["on_hand"] == -2
    assert entry.additional_data["stock"]["deltas"]["damaged"] == 2


def test_a_refused_change_leaves_no_audit_entry(tenant_a):
    store, _, item = setup_stock(tenant_a, on_hand=2)
    before = len(stock_entries(tenant_a, item))
    shop = Client(HTTP_HOST=TENANT_A.domain, **p.api_key_headers(tenant_a, ["orders:write"]))
    body = {"reference": "too-many", "lines": [{"sku": "AUDIT-SAUCE", "location_id": store.pk, "quantity": 3}]}
    assert shop.post("/api/v1/reservations", body, content_type="application/json").status_code == 409
    assert len(stock_entries(tenant_a, item)) == before


def test_the_ledger_and_the_audit_entries_are_one_statement(tenant_a):
    store, sauce, _ = setup_stock(tenant_a)
    with tenant_context(tenant_a):
        other = f.variant(sku="AUDIT-CHIPS")
        f.receive(store, other, 5)
        with CaptureQueriesContext(connection) as queries:
            stock.reservation_create(
                reference="order-audit-3",
                lines=[stock.ReserveLine(sauce, store, 1), stock.ReserveLine(other, store, 1)],
                ttl=dt.timedelta(minutes=10),
            )
        audit_statements = [q["sql"] for q in queries if "auditlog_logentry" in q["sql"]]
        assert len(audit_statements) == 1
        assert "stock_movement" in audit_statements[0]  # the same statement as the ledger rows
        entries = LogEntry.objects.filter(additional_data__stock__reference="order-audit-3")
        assert entries.count() == 2


def test_extending_a_reservation_is_audited(tenant_a):
    store, sauce, _ = setup_stock(tenant_a)
    with tenant_context(tenant_a), system_actor("task:test.extend"):
        reservation = stock.reservation_create(
            reference="order-audit-4", lines=[stock.ReserveLine(sauce, store, 1)], ttl=dt.timedelta(minutes=5)
        )
        until = timezone.now() + dt.timedelta(days=2)
        stock.reservation_extend(reservation=reservation, until=until)
        stock.reservation_extend(reservation=reservation, until=until)  # no change: no second entry
        entries = list(LogEntry.objects.get_for_object(reservation).order_by("id"))
    assert len(entries) == 2 and entries[-1].changes["expires_at"][1] == until.isoformat()


def test_a_bulk_level_sync_writes_one_entry_per_changed_row(tenant_a):
    store, sauce, _ = setup_stock(tenant_a)
    with tenant_context(tenant_a), system_actor("task:test.sync"):
        chips = f.variant(sku="AUDIT-CHIPS-2")
        stock.stock_levels_sync(
            lines=[
                stock.LevelLine(variant_id=sauce.pk, location_id=store.pk, on_hand=12),
                stock.LevelLine(variant_id=chips.pk, location_id=store.pk, on_hand=3),
            ],
            all_or_nothing=True,
            reference="sync-1",
        )
        entries = LogEntry.objects.filter(additional_data__stock__reference="sync-1")
        assert sorted(e.changes["on_hand"][1] for e in entries) == ["12", "3"]
