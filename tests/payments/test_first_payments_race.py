"""A tenant's first two payments at once (found by `python -m bench.load fault postgres-restart`):
both found no dj-stripe APIKey row and both created it; the loser's unique violation answered 500,
rolled its Payment row back and left the PaymentIntent it had just made at Stripe unrecorded."""

from django.test import Client
from django_tenants.utils import tenant_context

from apps.payments.models import Payment
from tests.accounts import principals as p
from tests.conftest import TENANT_A
from tests.payments.test_payments import intents_for, place, shop  # noqa: F401 - the fixture


def test_a_payment_that_loses_the_race_for_the_mirror_key_still_saves_its_one_intent(shop, monkeypatch):  # noqa: F811
    from djstripe.models import APIKey

    customer = Client(HTTP_HOST=TENANT_A.domain, **p.customer_headers(shop["tenant"], "retail"))
    first = place(customer, shop["store"], qty=1)
    assert customer.post(f"/api/v1/orders/{first['id']}/payment").status_code == 200  # the APIKey row exists now
    second = place(customer, shop["store"], qty=1)
    # The race: this request checked before the other one's row was committed, so it saw none.
    real_filter = APIKey.objects.filter
    monkeypatch.setattr(APIKey.objects, "filter", lambda *a, **kw: real_filter(pk__in=[]))

    response = customer.post(f"/api/v1/orders/{second['id']}/payment")

    assert response.status_code == 200, response.content
    intents = intents_for(second["number"])
    assert len(intents) == 1 and response.json()["payment_intent"] == intents[0].id
    with tenant_context(shop["tenant"]):
        assert Payment.objects.get(order_id=second["id"]).payment_intent_id == intents[0].id
        assert APIKey.objects.count() == 1
