"""Orders: lifecycle through the HTTP API with stock and ledger at each step, allocation, totals,
ownership, expiry of unpaid orders, and concurrent placement never overselling."""

import contextlib
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import WholesaleAccount
from apps.orders.models import Order
from apps.orders.services import LineRequest, order_place, orders_expire_unpaid
from apps.orders.tasks import orders_expire_unpaid_task
from apps.stock.models import Movement, StockItem
from apps.tenants.models import Tenant
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A


@pytest.fixture
def shop(tenant_a):
    with tenant_context(tenant_a):
        store = f.location(code="store", pickup_enabled=True, curbside_enabled=True)
        warehouse = f.location(code="wh", kind="warehouse", delivery_enabled=True)
        sauce = f.variant(sku="SAUCE", price="10.00", tracks_lots=True)
        chips = f.variant(sku="CHIPS", price="3.35")
        f.receive(store, sauce, 5, batch="S1", expires_in_days=30)
        f.receive(store, chips, 2)
        f.receive(warehouse, chips, 50)
    return {"tenant": tenant_a, "store": store, "warehouse": warehouse, "sauce": sauce, "chips": chips}


def as_client(headers):
    return Client(HTTP_HOST=TENANT_A.domain, **headers)


def place(client, body):
    return client.post("/api/v1/orders", body, content_type="application/json")


def stock_of(shop, variant, location):
    with tenant_context(shop["tenant"]):
        item = StockItem.objects.get(variant=variant, location=location)
        return item.on_hand, item.reserved


def test_a_pickup_order_end_to_end_through_the_api(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    staff = as_client(p.staff_headers(shop["tenant"], "owner"))
    placed = place(
        customer,
        {
            "fulfilment": "pickup",
            "location_id": shop["store"].pk,
            "lines": [{"sku": "SAUCE", "quantity": 2}, {"sku": "CHIPS", "quantity": 1}],
        },
    )
    assert placed.status_code == 201, placed.content
    order = placed.json()
    assert (order["status"], order["subtotal"], order["total"]) == ("placed", "23.35", "23.35")
    assert order["payment_due_at"] and order["placed_at"]
    assert stock_of(shop, shop["sauce"], shop["store"]) == (5, 2)

    def move(to):
        response = staff.post(f"/api/v1/orders/{order['id']}/transitions", {"to": to}, content_type="application/json")
        assert response.status_code == 200, response.content
        return response.json()

    move("paid")  # the payments work will do this from Stripe's webhook
    move("preparing")
    wrong = staff.post(f"/api/v1/orders/{order['id']}/transitions", {"to": "shipped"}, content_type="application/json")
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "invalid_transition"
    ready = move("ready")
    assert stock_of(shop, shop["sauce"], shop["store"]) == (5, 2)  # still held on the shelf
    done = move("completed")  # picked up: the sale enters the ledger
    assert stock_of(shop, shop["sauce"], shop["store"]) == (3, 0)
    with tenant_context(shop["tenant"]):
        sale = Movement.objects.filter(kind="sale", variant=shop["sauce"]).get()
        assert sale.on_hand_delta == -2 and sale.lot.batch_number == "S1"
    assert all(done[f"{s}_at"] for s in ("placed", "paid", "preparing", "ready", "completed"))
    assert [e["to_status"] for e in done["events"]] == ["placed", "paid", "preparing", "ready", "completed"]
    assert ready["events"][-1]["actor"].startswith("owner-")
    mine = customer.get("/api/v1/orders").json()["results"]
    assert [o["number"] for o in mine] == [order["number"]]


def test_customers_see_only_their_own_orders(shop):
    ann = as_client(p.customer_headers(shop["tenant"], "retail"))
    bob = as_client(p.customer_headers(shop["tenant"], "retail"))
    order = place(
        ann, {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "CHIPS", "quantity": 1}]}
    ).json()
    assert bob.get(f"/api/v1/orders/{order['id']}").status_code == 404
    assert bob.get("/api/v1/orders").json()["results"] == []
    assert bob.post(f"/api/v1/orders/{order['id']}/cancel").status_code == 404
    cancelled = ann.post(f"/api/v1/orders/{order['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert stock_of(shop, shop["chips"], shop["store"]) == (2, 0)


def test_delivery_is_allocated_to_a_location_that_has_everything(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    needs_address = place(customer, {"fulfilment": "delivery", "lines": [{"sku": "CHIPS", "quantity": 10}]})
    assert needs_address.status_code == 400 and "delivery" in needs_address.json()["error"]["details"]
    order = place(
        customer,
        {
            "fulfilment": "delivery",
            "lines": [{"sku": "CHIPS", "quantity": 10}],
            "delivery": {"address": "5 Elm St", "latitude": "40.71", "longitude": "-74.0"},
        },
    ).json()
    assert order["location"] == "wh"  # the store has only 2
    assert stock_of(shop, shop["chips"], shop["warehouse"]) == (50, 10)


def test_not_enough_stock_places_nothing(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    response = place(
        customer,
        {
            "fulfilment": "pickup",
            "location_id": shop["store"].pk,
            "lines": [{"sku": "CHIPS", "quantity": 1}, {"sku": "SAUCE", "quantity": 9}],
        },
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "insufficient_stock"
    with tenant_context(shop["tenant"]):
        assert not Order.objects.exists()
    assert stock_of(shop, shop["chips"], shop["store"]) == (2, 0)


def test_pickup_needs_a_store_that_offers_it(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    response = place(
        customer,
        {"fulfilment": "pickup", "location_id": shop["warehouse"].pk, "lines": [{"sku": "CHIPS", "quantity": 1}]},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "fulfilment_unavailable"


def test_wholesale_orders_need_approval_and_may_go_on_account(shop):
    pending = as_client(p.customer_headers(shop["tenant"], "wholesale", approved=False))
    body = {"fulfilment": "shipping", "on_account": True, "lines": [{"sku": "CHIPS", "quantity": 24}]}
    refused = place(pending, body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "wholesale_not_approved"
    approved = as_client(p.customer_headers(shop["tenant"], "wholesale", approved=True))
    with tenant_context(shop["tenant"]):  # credit terms: orders on account need a credit limit
        WholesaleAccount.objects.filter(is_approved=True).update(credit_limit=Decimal("1000.00"))
    order = place(approved, body).json()
    assert (order["status"], order["on_account"], order["channel"]) == ("confirmed", True, "wholesale")
    retail = as_client(p.customer_headers(shop["tenant"], "retail"))
    assert place(retail, body).status_code == 400  # on account is for wholesale accounts only


def test_tax_exclusive_and_inclusive_totals_round_half_up(shop):
    tenant = shop["tenant"]
    with tenant_context(tenant):
        tenant.tax_rate, tenant.prices_include_tax = Decimal("0.0875"), False
        connection.tenant = tenant
        order = order_place(
            customer=None,
            channel="staff",
            fulfilment="pickup",
            location=shop["store"],
            lines=[LineRequest(shop["chips"], 1)],
        )
        assert (order.subtotal, order.tax, order.total) == (Decimal("3.35"), Decimal("0.29"), Decimal("3.64"))
        tenant.prices_include_tax = True
        order = order_place(
            customer=None,
            channel="staff",
            fulfilment="pickup",
            location=shop["store"],
            lines=[LineRequest(shop["chips"], 1)],
        )
        assert (order.subtotal, order.tax, order.total) == (Decimal("3.35"), Decimal("0.27"), Decimal("3.35"))


def test_unpaid_orders_expire_and_release_their_stock(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    order = place(
        customer, {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "SAUCE", "quantity": 3}]}
    ).json()
    with tenant_context(shop["tenant"]):
        Order.objects.filter(pk=order["id"]).update(payment_due_at=timezone.now() - dt.timedelta(seconds=1))
        assert orders_expire_unpaid_task.apply().get() == 1
        assert orders_expire_unpaid() == 0
    assert stock_of(shop, shop["sauce"], shop["store"]) == (5, 0)
    final = customer.get(f"/api/v1/orders/{order['id']}").json()
    assert final["status"] == "cancelled" and final["events"][-1]["reason"] == "payment window expired"


@pytest.mark.slow
def test_50_concurrent_orders_for_10_units_give_exactly_10_orders(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        store = f.location(code="race", pickup_enabled=True)
        hot = f.variant(sku="HOT-10", tracks_lots=True)
        f.receive(store, hot, 10, batch="R1", expires_in_days=30)
        headers = [p.customer_headers(tenant, "retail") for _ in range(50)]
    barrier = threading.Barrier(25)

    def order_one(h):
        client = as_client(h)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=30)
        try:
            return place(
                client, {"fulfilment": "pickup", "location_id": store.pk, "lines": [{"sku": "HOT-10", "quantity": 1}]}
            ).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=25) as pool:
        codes = list(pool.map(order_one, headers))
    assert codes.count(201) == 10 and codes.count(409) == 40, codes
    with tenant_context(tenant):
        item = StockItem.objects.get(variant=hot, location=store)
        assert (item.on_hand, item.reserved) == (10, 10)
        assert Order.objects.filter(lines__sku="HOT-10").count() == 10


def test_bulk_line_changes_are_all_or_nothing(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    order = place(
        customer,
        {
            "fulfilment": "pickup",
            "location_id": shop["store"].pk,
            "lines": [{"sku": "SAUCE", "quantity": 1}, {"sku": "CHIPS", "quantity": 1}],
        },
    ).json()
    url = f"/api/v1/orders/{order['id']}/lines"
    too_many = customer.patch(url, {"lines": [{"sku": "SAUCE", "quantity": 9}]}, content_type="application/json")
    assert too_many.status_code == 409 and too_many.json()["error"]["code"] == "insufficient_stock"
    unknown = customer.patch(
        url,
        {"lines": [{"sku": "NOPE", "quantity": 1}, {"sku": "CHIPS", "quantity": 2}]},
        content_type="application/json",
    )
    assert unknown.status_code == 400 and list(unknown.json()["error"]["details"]["lines"]) == ["0"]
    assert stock_of(shop, shop["sauce"], shop["store"]) == (5, 1)  # untouched by the refused changes
    changed = customer.patch(
        url,
        {"lines": [{"sku": "SAUCE", "quantity": 3}, {"sku": "CHIPS", "quantity": 0}]},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert [(ln["sku"], ln["quantity"]) for ln in body["lines"]] == [("SAUCE", 3)]
    assert body["subtotal"] == "30.00"
    assert stock_of(shop, shop["sauce"], shop["store"]) == (5, 3)
    assert stock_of(shop, shop["chips"], shop["store"]) == (2, 0)
    empty = customer.patch(url, {"lines": [{"sku": "SAUCE", "quantity": 0}]}, content_type="application/json")
    assert empty.status_code == 400


def test_a_shipping_order_is_shipped_with_tracking(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    staff = as_client(p.staff_headers(shop["tenant"], "owner"))
    order = place(customer, {"fulfilment": "shipping", "lines": [{"sku": "CHIPS", "quantity": 5}]}).json()
    for to in ("paid", "preparing"):
        staff.post(f"/api/v1/orders/{order['id']}/transitions", {"to": to}, content_type="application/json")
    shipped = staff.post(
        f"/api/v1/orders/{order['id']}/ship",
        {"carrier": "ups", "tracking_number": "1Z999"},
        content_type="application/json",
    )
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
    tracking = customer.get(f"/api/v1/orders/{order['id']}/tracking").json()
    assert tracking["carrier"] == "ups" and tracking["tracking_url"].endswith("1Z999")
    assert stock_of(shop, shop["chips"], shop["warehouse"]) == (45, 0)
    pickup = place(
        customer, {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "CHIPS", "quantity": 1}]}
    ).json()
    wrong = staff.post(
        f"/api/v1/orders/{pickup['id']}/ship",
        {"carrier": "ups", "tracking_number": "1"},
        content_type="application/json",
    )
    assert wrong.status_code == 409


def test_paying_keeps_the_stock_held_past_the_payment_window(shop):
    from apps.stock.models import Reservation
    from apps.stock.services import reservations_expire_due

    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    staff = as_client(p.staff_headers(shop["tenant"], "owner"))
    order = place(
        customer, {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "SAUCE", "quantity": 1}]}
    ).json()
    staff.post(f"/api/v1/orders/{order['id']}/transitions", {"to": "paid"}, content_type="application/json")
    with tenant_context(shop["tenant"]):
        assert reservations_expire_due(now=timezone.now() + dt.timedelta(hours=2)) == 0
        held = Reservation.objects.get(reference=f"order-{order['number']}")
        assert held.status == "active" and held.expires_at > timezone.now() + dt.timedelta(days=30)


def test_a_ready_order_that_is_never_collected_goes_back_on_the_shelf(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    staff = as_client(p.staff_headers(shop["tenant"], "owner"))
    order = place(
        customer, {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "SAUCE", "quantity": 2}]}
    ).json()
    for to in ("paid", "preparing", "ready", "cancelled"):
        response = staff.post(f"/api/v1/orders/{order['id']}/transitions", {"to": to}, content_type="application/json")
        assert response.status_code == 200, (to, response.content)
    assert stock_of(shop, shop["sauce"], shop["store"]) == (5, 0)


def test_shipping_needs_carrier_and_tracking(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    staff = as_client(p.staff_headers(shop["tenant"], "owner"))
    order = place(customer, {"fulfilment": "shipping", "lines": [{"sku": "CHIPS", "quantity": 1}]}).json()
    for to in ("paid", "preparing"):
        staff.post(f"/api/v1/orders/{order['id']}/transitions", {"to": to}, content_type="application/json")
    bare = staff.post(f"/api/v1/orders/{order['id']}/transitions", {"to": "shipped"}, content_type="application/json")
    assert bare.status_code == 409 and bare.json()["error"]["code"] == "invalid_transition"


def test_partners_see_only_the_orders_their_key_placed(shop):
    first = as_client(p.api_key_headers(shop["tenant"], ["orders:write", "orders:read"]))
    second = as_client(p.api_key_headers(shop["tenant"], ["orders:read"]))
    placed = place(
        first, {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "CHIPS", "quantity": 1}]}
    )
    assert placed.status_code == 201 and placed.json()["channel"] == "partner"
    assert [o["id"] for o in first.get("/api/v1/orders").json()["results"]] == [placed.json()["id"]]
    assert second.get("/api/v1/orders").json()["results"] == []
    assert second.get(f"/api/v1/orders/{placed.json()['id']}").status_code == 404


def test_a_store_manager_orders_only_for_their_own_store(shop):
    from apps.accounts.models import User

    headers = p.staff_headers(shop["tenant"], "store_manager")
    with tenant_context(shop["tenant"]):
        manager = User.objects.filter(groups__name="Store Manager").order_by("-id").first()
        shop["store"].managers.add(manager)
    staff = as_client(headers)
    other = place(
        staff,
        {"fulfilment": "shipping", "location_id": shop["warehouse"].pk, "lines": [{"sku": "CHIPS", "quantity": 1}]},
    )
    # A location in the body that the caller may not use is bad input naming the field, exactly as
    # one that does not exist (404 is for ids in the URL).
    assert other.status_code == 400 and list(other.json()["error"]["details"]) == ["location_id"]
    own = place(
        staff, {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "CHIPS", "quantity": 1}]}
    )
    assert own.status_code == 201 and own.json()["channel"] == "staff"


def _completed_order(shop, customer, staff, lines):
    order = place(customer, {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": lines}).json()
    for to in ("paid", "preparing", "ready", "completed"):
        staff.post(f"/api/v1/orders/{order['id']}/transitions", {"to": to}, content_type="application/json")
    return order


def test_returns_restock_as_chosen_and_set_the_refund_owed(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    staff = as_client(p.staff_headers(shop["tenant"], "owner"))
    order = _completed_order(shop, customer, staff, [{"sku": "SAUCE", "quantity": 3}])
    assert stock_of(shop, shop["sauce"], shop["store"]) == (2, 0)
    too_many = customer.post(
        f"/api/v1/orders/{order['id']}/returns",
        {"lines": [{"sku": "SAUCE", "quantity": 4}]},
        content_type="application/json",
    )
    assert too_many.status_code == 400
    requested = customer.post(
        f"/api/v1/orders/{order['id']}/returns",
        {"reason": "too hot", "lines": [{"sku": "SAUCE", "quantity": 3}]},
        content_type="application/json",
    )
    assert requested.status_code == 201
    ret = requested.json()
    assert (
        customer.post(
            f"/api/v1/returns/{ret['id']}/receive", {"lines": []}, content_type="application/json"
        ).status_code
        == 403
    )  # staff only
    staff.post(f"/api/v1/returns/{ret['id']}/decision", {"approve": True}, content_type="application/json")
    line = ret["lines"][0]["id"]
    # Two units were never opened (back on the shelf, into their lot), one arrived broken.
    received = staff.post(
        f"/api/v1/returns/{ret['id']}/receive",
        {"lines": [{"line_id": line, "quantity": 2, "condition": "resaleable"}]},
        content_type="application/json",
    )
    assert received.status_code == 200, received.content
    assert received.json()["status"] == "received" and received.json()["refund_amount"] == "20.00"
    assert stock_of(shop, shop["sauce"], shop["store"]) == (4, 0)
    with tenant_context(shop["tenant"]):
        from apps.stock.models import LotStock

        assert LotStock.objects.get(lot__batch_number="S1", location=shop["store"]).on_hand == 4
        assert Movement.objects.filter(kind="return").count() == 1
    again = customer.post(
        f"/api/v1/orders/{order['id']}/returns",
        {"lines": [{"sku": "SAUCE", "quantity": 1}]},
        content_type="application/json",
    )
    assert again.status_code == 400  # all three already returned (announced)


def test_a_return_listing_one_sku_twice_cannot_return_more_than_was_bought(shop):
    # Each listed line was checked alone against what was bought: 2 + 2 of 3 passed, and 4 units
    # of 3 were announced (and refunded once received).
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    staff = as_client(p.staff_headers(shop["tenant"], "owner"))
    order = _completed_order(shop, customer, staff, [{"sku": "SAUCE", "quantity": 3}])
    url = f"/api/v1/orders/{order['id']}/returns"
    twice = [{"sku": "SAUCE", "quantity": 2}, {"sku": "SAUCE", "quantity": 2}]
    refused = customer.post(url, {"lines": twice}, content_type="application/json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "validation_error" and list(error["details"]["lines"]) == ["1"]
    assert error["details"]["lines"]["1"] == {"quantity": ["Between 1 and 1."]}
    fits = [{"sku": "SAUCE", "quantity": 2}, {"sku": "SAUCE", "quantity": 1}]
    created = customer.post(url, {"lines": fits}, content_type="application/json")
    assert created.status_code == 201, created.content
    assert sum(line["quantity"] for line in created.json()["lines"]) == 3
    again = customer.post(url, {"lines": [{"sku": "SAUCE", "quantity": 1}]}, content_type="application/json")
    assert again.status_code == 400


@pytest.mark.slow
def test_two_return_requests_at_once_for_every_unit_one_is_refused(committed_db):
    # Both read "nothing returned yet" before either committed: without the order lock both were
    # accepted and the units could be refunded twice.
    from apps.core.errors import InvalidInput
    from apps.orders import services as order_services
    from apps.orders.models import OrderLine

    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        store = f.location(code="ret", pickup_enabled=True)
        sauce = f.variant(sku="RET-3")
        f.receive(store, sauce, 3)
        order = order_place(
            customer=None, channel="staff", fulfilment="pickup", location=store, lines=[LineRequest(sauce, 3)]
        )
        Order.objects.filter(pk=order.pk).update(status="completed")
        line_id = OrderLine.objects.get(order=order).pk
    barrier, outcomes = threading.Barrier(2), []

    def ask() -> None:
        try:
            with tenant_context(tenant):
                line = OrderLine.objects.get(pk=line_id)
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=10)
                order_services.return_request(order=Order.objects.get(pk=order.pk), lines=[(line, 3)])
            outcomes.append("created")
        except InvalidInput:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["created", "refused"]
    with tenant_context(tenant):
        from apps.orders.models import ReturnLine

        assert sum(ReturnLine.objects.filter(order_line_id=line_id).values_list("quantity", flat=True)) == 3


def test_damaged_returns_go_to_the_damaged_bucket_and_open_orders_cannot_be_returned(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    staff = as_client(p.staff_headers(shop["tenant"], "owner"))
    order = _completed_order(shop, customer, staff, [{"sku": "CHIPS", "quantity": 2}])
    ret = customer.post(
        f"/api/v1/orders/{order['id']}/returns",
        {"lines": [{"sku": "CHIPS", "quantity": 1}]},
        content_type="application/json",
    ).json()
    staff.post(f"/api/v1/returns/{ret['id']}/decision", {"approve": True}, content_type="application/json")
    staff.post(
        f"/api/v1/returns/{ret['id']}/receive",
        {"lines": [{"line_id": ret["lines"][0]["id"], "quantity": 1, "condition": "damaged"}]},
        content_type="application/json",
    )
    with tenant_context(shop["tenant"]):
        item = StockItem.objects.get(variant=shop["chips"], location=shop["store"])
        assert (item.on_hand, item.damaged) == (0, 1)
    open_order = place(
        customer, {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "SAUCE", "quantity": 1}]}
    ).json()
    refused = customer.post(
        f"/api/v1/orders/{open_order['id']}/returns",
        {"lines": [{"sku": "SAUCE", "quantity": 1}]},
        content_type="application/json",
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "invalid_transition"
    other = as_client(p.customer_headers(shop["tenant"], "retail"))
    assert other.get("/api/v1/returns").json()["results"] == []


# The curbside stream test lives in tests/integrations/test_streams.py (the stream process).


@pytest.mark.slow
def test_20_concurrent_identical_order_requests_with_one_key_place_one_order(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        store = f.location(code="idem", pickup_enabled=True)
        var = f.variant(sku="IDEM-1")
        f.receive(store, var, 50)
        headers = p.customer_headers(tenant, "retail")
    barrier = threading.Barrier(20)
    body = {"fulfilment": "pickup", "location_id": store.pk, "lines": [{"sku": "IDEM-1", "quantity": 1}]}

    def send(_):
        client = as_client(headers)
        try:
            barrier.wait(timeout=30)
            response = client.post(
                "/api/v1/orders", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-once-123"
            )
            return response.status_code, response.has_header("Idempotent-Replayed")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(send, range(20)))
    originals = [r for r in results if r == (201, False)]
    assert len(originals) == 1 and all(code in {201, 409} for code, _ in results), results
    with tenant_context(tenant):
        assert Order.objects.filter(lines__sku="IDEM-1").count() == 1
        assert StockItem.objects.get(variant=var, location=store).reserved == 1


def test_a_delivery_route_is_sequenced_and_drivers_mark_stops_delivered(shop):
    from decimal import Decimal as D

    with tenant_context(shop["tenant"]):
        warehouse = shop["warehouse"]
        warehouse.latitude, warehouse.longitude = D("40.700000"), D("-74.000000")
        warehouse.save()
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    staff = as_client(p.staff_headers(shop["tenant"], "owner"))
    # Four addresses due east of the depot at 1, 3, 2 and 4 km: the short way visits them 1-2-3-4 km.
    east = {1: "-73.988175", 3: "-73.964525", 2: "-73.976350", 4: "-73.952700"}
    numbers = {}
    for km, longitude in east.items():
        order = place(
            customer,
            {
                "fulfilment": "delivery",
                "location_id": warehouse.pk,
                "lines": [{"sku": "CHIPS", "quantity": 1}],
                "delivery": {"address": f"{km} km east", "latitude": "40.700000", "longitude": longitude},
            },
        ).json()
        for to in ("paid", "preparing"):
            staff.post(f"/api/v1/orders/{order['id']}/transitions", {"to": to}, content_type="application/json")
        numbers[order["number"]] = km
    built = staff.post(
        f"/api/v1/locations/{warehouse.pk}/routes", {"date": "2026-11-25"}, content_type="application/json"
    )
    assert built.status_code == 201, built.content
    route = built.json()
    visiting = [numbers[stop["order"]] for stop in route["stops"]]
    assert visiting in ([1, 2, 3, 4], [4, 3, 2, 1])  # either direction of the same loop
    assert 7_500 <= route["total_distance_m"] <= 8_500  # 4 km out and back
    again = staff.post(
        f"/api/v1/locations/{warehouse.pk}/routes", {"date": "2026-11-25"}, content_type="application/json"
    )
    assert again.status_code == 400 and again.json()["error"]["code"] == "nothing_to_route"

    first = route["stops"][0]
    done = staff.post(f"/api/v1/routes/{route['id']}/stops/{first['id']}/delivered").json()
    assert done["stops"][0]["delivered_at"]
    delivered = customer.get("/api/v1/orders?status=completed").json()["results"]
    assert [o["number"] for o in delivered] == [first["order"]]
    assert [e["to_status"] for e in delivered[0]["events"]][-2:] == ["out_for_delivery", "completed"]


def test_a_line_is_named_like_a_receipt_from_the_product_name_and_the_variant_label(shop):
    with tenant_context(shop["tenant"]):
        from apps.catalog.models import Product

        Product.objects.filter(pk=shop["sauce"].product_id).update(name="Mango Habanero Hot Sauce")
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    placed = place(
        customer,
        {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "SAUCE", "quantity": 1}]},
    )
    assert placed.status_code == 201, placed.content
    line = placed.json()["lines"][0]
    assert (line["sku"], line["name"]) == ("SAUCE", "Mango Habanero Hot Sauce — 250 ml")
    with tenant_context(shop["tenant"]):
        stored = Order.objects.get(pk=placed.json()["id"]).lines.get()
        assert (stored.sku, stored.name) == ("SAUCE", "Mango Habanero Hot Sauce — 250 ml")


def test_renaming_the_product_later_leaves_the_line_name_as_ordered(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    staff = as_client(p.staff_headers(shop["tenant"], "owner"))
    with tenant_context(shop["tenant"]):
        product_id = shop["sauce"].product_id
        ordered_as = f"{shop['sauce'].product.name} — 250 ml"
    order = place(
        customer,
        {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "SAUCE", "quantity": 1}]},
    ).json()
    renamed = staff.patch(f"/api/v1/products/{product_id}", {"name": "Mango Inferno"}, content_type="application/json")
    assert renamed.status_code == 200, renamed.content
    staff.patch("/api/v1/variants/SAUCE", {"name": "Big bottle"}, content_type="application/json")
    for reader in (customer, staff):
        shown = reader.get(f"/api/v1/orders/{order['id']}").json()["lines"][0]
        assert shown["name"] == ordered_as
    # A new order reads the new names.
    again = place(
        customer,
        {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "SAUCE", "quantity": 1}]},
    ).json()
    assert again["lines"][0]["name"] == "Mango Inferno — Big bottle"


def test_lines_added_by_a_bulk_change_get_the_same_receipt_name(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    order = place(
        customer,
        {"fulfilment": "pickup", "location_id": shop["store"].pk, "lines": [{"sku": "SAUCE", "quantity": 1}]},
    ).json()
    changed = customer.patch(
        f"/api/v1/orders/{order['id']}/lines",
        {"lines": [{"sku": "CHIPS", "quantity": 1}]},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    with tenant_context(shop["tenant"]):
        expected = {v.sku: f"{v.product.name} — {v.name}" for v in (shop["sauce"], shop["chips"])}
    assert {ln["sku"]: ln["name"] for ln in changed.json()["lines"]} == expected
