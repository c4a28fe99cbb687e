"""Stripe exactly-once against the local stand-in: one PaymentIntent per order (also across a
crash and concurrent callers), verified webhooks applied once and in any order, refunds."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import stripe
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from apps.orders.models import Order
from apps.payments import services
from apps.payments.models import Payment
from apps.stock.models import StockItem
from apps.tenants.models import Tenant
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A
from tests.payments.conftest import signed


@pytest.fixture
def shop(tenant_a, stripe_server):
    with tenant_context(tenant_a):
        store = f.location(code="pay", pickup_enabled=True)
        sauce = f.variant(sku="PAY-1", price="12.50", tracks_lots=True)
        f.receive(store, sauce, 10, batch="P1", expires_in_days=60)
    return {"tenant": tenant_a, "store": store, "sauce": sauce}


def as_client(headers):
    return Client(HTTP_HOST=TENANT_A.domain, **headers)


def place(client, store, qty=2):
    response = client.post(
        "/api/v1/orders",
        {"fulfilment": "pickup", "location_id": store.pk, "lines": [{"sku": "PAY-1", "quantity": qty}]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def intents_for(number: str) -> list:
    stripe.api_base = settings.STRIPE_API_BASE
    return [
        pi
        # Every page: other tests of the session (loyalty, promotions, the demo) create intents too.
        for pi in stripe.PaymentIntent.list(limit=100, api_key=settings.STRIPE_TEST_SECRET_KEY).auto_paging_iter()
        if (pi.metadata.to_dict() if pi.metadata else {}).get("order_number") == number
    ]


def pay_at_stripe(intent_id: str) -> stripe.PaymentIntent:
    """What the app's Stripe SDK does: attach a card and confirm."""
    key = settings.STRIPE_TEST_SECRET_KEY
    card = stripe.PaymentMethod.create(
        type="card", api_key=key, card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    )
    stripe.PaymentIntent.modify(intent_id, payment_method=card.id, api_key=key)
    return stripe.PaymentIntent.confirm(intent_id, api_key=key)


def event(kind: str, intent: stripe.PaymentIntent, event_id: str | None = None, created: int | None = None) -> dict:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": kind,
        "created": created or int(time.time()),
        "data": {"object": intent.to_dict()},
    }


def deliver(client, body: dict):
    payload, header = signed(body)
    return client.post(
        "/api/v1/payments/stripe/webhook", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


def test_a_retail_order_is_paid_through_a_verified_webhook_once(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    order = place(customer, shop["store"])
    first = customer.post(f"/api/v1/orders/{order['id']}/payment")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["amount_minor"] == 2500 and body["currency"] == "usd" and body["client_secret"]
    again = customer.post(f"/api/v1/orders/{order['id']}/payment").json()
    assert again["payment_intent"] == body["payment_intent"]
    assert len(intents_for(order["number"])) == 1

    confirmed = pay_at_stripe(body["payment_intent"])
    assert confirmed.status == "succeeded"
    succeeded = event("payment_intent.succeeded", confirmed)
    webhook = Client(HTTP_HOST=TENANT_A.domain)
    assert deliver(webhook, succeeded).json() == {"outcome": "paid"}
    assert deliver(webhook, succeeded).json() == {"outcome": "duplicate"}  # Stripe redelivers
    late_failure = event("payment_intent.payment_failed", confirmed, created=int(time.time()) - 60)
    assert deliver(webhook, late_failure).json() == {"outcome": "already succeeded"}

    final = customer.get(f"/api/v1/orders/{order['id']}").json()
    assert final["status"] == "paid" and final["paid_at"]
    assert [e["to_status"] for e in final["events"]].count("paid") == 1
    with tenant_context(shop["tenant"]):
        from djstripe.models import PaymentIntent as Mirror

        assert Mirror.objects.filter(id=body["payment_intent"]).exists()  # dj-stripe's copy


def test_webhooks_with_a_bad_signature_are_refused(shop):
    payload, header = signed(
        {"id": "evt_x", "type": "payment_intent.succeeded", "created": 1, "data": {"object": {}}}, secret="whsec_wrong"
    )
    response = Client(HTTP_HOST=TENANT_A.domain).post(
        "/api/v1/payments/stripe/webhook", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_webhook_signature"


def test_a_crash_after_stripe_created_the_intent_does_not_create_a_second_one(shop, monkeypatch):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    order = place(customer, shop["store"])
    real_save = services._intent_saved

    def crash(payment, intent):
        raise RuntimeError("worker killed between Stripe's answer and our save")

    monkeypatch.setattr(services, "_intent_saved", crash)
    with tenant_context(shop["tenant"]), pytest.raises(RuntimeError):
        services.payment_start(order=Order.objects.get(pk=order["id"]))
    assert len(intents_for(order["number"])) == 1  # Stripe has it; we do not yet
    monkeypatch.setattr(services, "_intent_saved", real_save)
    retried = customer.post(f"/api/v1/orders/{order['id']}/payment").json()
    assert len(intents_for(order["number"])) == 1
    assert retried["payment_intent"] == intents_for(order["number"])[0].id


def test_refunds_partial_then_full_never_more_than_paid(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    owner = as_client(p.staff_headers(shop["tenant"], "owner"))
    order = place(customer, shop["store"])
    intent_id = customer.post(f"/api/v1/orders/{order['id']}/payment").json()["payment_intent"]
    deliver(Client(HTTP_HOST=TENANT_A.domain), event("payment_intent.succeeded", pay_at_stripe(intent_id)))
    url = f"/api/v1/orders/{order['id']}/refunds"
    assert owner.post(url, {"amount": "30.00"}, content_type="application/json").status_code == 409
    part = owner.post(url, {"amount": "10.00", "reason": "one bottle broke"}, content_type="application/json")
    assert part.status_code == 201 and part.json()["amount_minor"] == 1000 and part.json()["stripe_refund_id"]
    rest = owner.post(url, {"amount": "15.00"}, content_type="application/json")
    assert rest.status_code == 201
    final = customer.get(f"/api/v1/orders/{order['id']}").json()
    assert final["status"] == "refunded"
    with tenant_context(shop["tenant"]):
        item = StockItem.objects.get(variant=shop["sauce"], location=shop["store"])
        assert (item.on_hand, item.reserved) == (10, 0)  # refunded before fulfilment: back on sale
    assert customer.post(url, {"amount": "1.00"}, content_type="application/json").status_code == 403


@pytest.mark.slow
def test_twenty_concurrent_payment_starts_create_one_intent(committed_db, stripe_server):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        store = f.location(code="pay-race", pickup_enabled=True)
        sauce = f.variant(sku="PAY-RACE", price="5.00")
        f.receive(store, sauce, 5)
        from apps.orders.services import LineRequest, order_place

        order = order_place(
            customer=None, channel="staff", fulfilment="pickup", location=store, lines=[LineRequest(sauce, 1)]
        )
    barrier = threading.Barrier(20)

    def start(_):
        try:
            barrier.wait(timeout=30)
            with tenant_context(tenant):
                return services.payment_start(order=Order.objects.get(pk=order.pk)).payment_intent_id
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = set(pool.map(start, range(20)))
    assert len(ids) == 1 and len(intents_for(order.number)) == 1
    with tenant_context(tenant):
        assert Payment.objects.filter(order_id=order.pk).count() == 1


def test_pickup_end_to_end_paid_by_webhook_then_prepared_ready_and_picked_up(shop):
    from apps.stock.models import Movement

    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    staff = as_client(p.staff_headers(shop["tenant"], "owner"))
    order = place(customer, shop["store"], qty=3)
    with tenant_context(shop["tenant"]):
        assert StockItem.objects.get(variant=shop["sauce"], location=shop["store"]).reserved == 3
    intent = customer.post(f"/api/v1/orders/{order['id']}/payment").json()["payment_intent"]
    assert deliver(
        Client(HTTP_HOST=TENANT_A.domain), event("payment_intent.succeeded", pay_at_stripe(intent))
    ).json() == {"outcome": "paid"}
    for to in ("preparing", "ready", "completed"):
        moved = staff.post(f"/api/v1/orders/{order['id']}/transitions", {"to": to}, content_type="application/json")
        assert moved.status_code == 200, moved.content
    final = customer.get(f"/api/v1/orders/{order['id']}").json()
    assert [e["to_status"] for e in final["events"]] == ["placed", "paid", "preparing", "ready", "completed"]
    assert final["events"][1]["reason"].startswith("stripe pi_")
    assert all(final[f"{s}_at"] for s in ("placed", "paid", "preparing", "ready", "completed"))
    with tenant_context(shop["tenant"]):
        item = StockItem.objects.get(variant=shop["sauce"], location=shop["store"])
        assert (item.on_hand, item.reserved) == (7, 0)
        kinds = list(Movement.objects.filter(variant=shop["sauce"]).order_by("id").values_list("kind", flat=True))
        assert kinds == ["receipt", "reservation", "sale"]


def test_a_full_refund_before_hand_over_cancels_and_restocks_and_paid_lines_are_frozen(shop):
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    owner = as_client(p.staff_headers(shop["tenant"], "owner"))
    order = place(customer, shop["store"])
    intent = customer.post(f"/api/v1/orders/{order['id']}/payment").json()["payment_intent"]
    frozen = customer.patch(
        f"/api/v1/orders/{order['id']}/lines",
        {"lines": [{"sku": "PAY-1", "quantity": 1}]},
        content_type="application/json",
    )
    assert frozen.status_code == 409  # the intent was made for these lines
    deliver(Client(HTTP_HOST=TENANT_A.domain), event("payment_intent.succeeded", pay_at_stripe(intent)))
    owner.post(f"/api/v1/orders/{order['id']}/transitions", {"to": "preparing"}, content_type="application/json")
    owner.post(f"/api/v1/orders/{order['id']}/refunds", {"amount": "25.00"}, content_type="application/json")
    assert customer.get(f"/api/v1/orders/{order['id']}").json()["status"] == "cancelled"
    with tenant_context(shop["tenant"]):
        item = StockItem.objects.get(variant=shop["sauce"], location=shop["store"])
        assert (item.on_hand, item.reserved) == (10, 0)


def test_each_tenant_verifies_webhooks_with_its_own_secret(shop):
    tenant = shop["tenant"]
    tenant.stripe_webhook_secret = "whsec_alpha_own"
    tenant.save(update_fields=["stripe_webhook_secret"])
    body = {"id": "evt_own", "type": "customer.created", "created": 1, "data": {"object": {}}}
    payload, header = signed(body)  # the platform default secret: not this tenant's any more
    client = Client(HTTP_HOST=TENANT_A.domain)
    refused = client.post(
        "/api/v1/payments/stripe/webhook", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert refused.status_code == 400
    payload, header = signed(body, secret="whsec_alpha_own")
    accepted = client.post(
        "/api/v1/payments/stripe/webhook", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert accepted.status_code == 200 and accepted.json() == {"outcome": "ignored"}


def test_the_reconcile_task_adopts_an_intent_left_by_a_crash(shop, monkeypatch):
    import datetime as dt

    from apps.payments.tasks import payments_reconcile_creating_task

    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    order = place(customer, shop["store"])
    monkeypatch.setattr(services, "_intent_saved", lambda payment, intent: (_ for _ in ()).throw(RuntimeError()))
    with tenant_context(shop["tenant"]), pytest.raises(RuntimeError):
        services.payment_start(order=Order.objects.get(pk=order["id"]))
    monkeypatch.undo()
    with tenant_context(shop["tenant"]):
        Payment.objects.filter(order_id=order["id"]).update(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        assert payments_reconcile_creating_task.apply().get() == 1
        payment = Payment.objects.get(order_id=order["id"])
    assert payment.status == "requires_payment" and payment.payment_intent_id == intents_for(order["number"])[0].id
