"""End to end through the order and payment services: a card payment (signed webhook, Stripe
stand-in) earns pending points, a partial refund reverses its share, the full refund the rest
(points spent at checkout coming back on cancellation: tests/loyalty/test_redemption.py)."""

from decimal import Decimal

from django.test import Client
from django_tenants.utils import tenant_context

from apps.accounts.models import User
from apps.loyalty.models import Account, LedgerEntry
from tests.accounts import principals as p
from tests.conftest import TENANT_A
from tests.loyalty.conftest import assert_invariant
from tests.payments.conftest import stripe_server  # noqa: F401 (the stand-in, as a fixture here)
from tests.payments.test_payments import as_client, deliver, event, pay_at_stripe, place, shop  # noqa: F401


def test_a_paid_order_earns_and_refunds_reverse_the_refunded_share(shop):  # noqa: F811
    customer = as_client(p.customer_headers(shop["tenant"], "retail"))
    owner = as_client(p.staff_headers(shop["tenant"], "owner"))
    order = place(customer, shop["store"])  # 2 x 12.50
    intent = customer.post(f"/api/v1/orders/{order['id']}/payment").json()["payment_intent"]
    deliver(Client(HTTP_HOST=TENANT_A.domain), event("payment_intent.succeeded", pay_at_stripe(intent)))
    with tenant_context(shop["tenant"]):
        customer_user = User.objects.get(orders__pk=order["id"])
        acc = Account.objects.get(user=customer_user)
        assert (acc.pending, acc.balance) == (25, 0)
    url = f"/api/v1/orders/{order['id']}/refunds"
    assert owner.post(url, {"amount": "10.00"}, content_type="application/json").status_code == 201
    with tenant_context(shop["tenant"]):
        acc.refresh_from_db()
        assert acc.pending == 15  # 40% refunded: 10 of the 25 points reversed
    assert owner.post(url, {"amount": "15.00"}, content_type="application/json").status_code == 201
    with tenant_context(shop["tenant"]):
        acc.refresh_from_db()
        assert acc.pending == 0
        reversals = LedgerEntry.objects.filter(account=acc, kind="reversed").values_list("points", flat=True)
        assert sorted(reversals) == [-15, -10]
        assert_invariant(acc)
    assert Decimal(customer.get(f"/api/v1/orders/{order['id']}").json()["total"]) == Decimal("25.00")
