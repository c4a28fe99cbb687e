"""A shop for review tests: a store, products, and customers with completed orders (buyers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django_tenants.utils import tenant_context

from apps.accounts import services as accounts
from apps.accounts.models import User
from apps.accounts.policy import STAFF_ROLE_GROUPS
from apps.orders.services import LineRequest, order_place, order_transition
from tests import factories as f
from tests.accounts.principals import bearer
from tests.conftest import TENANT_A


@dataclass
class Shop:
    tenant: object
    store: object
    other_store: object
    sauce: object  # a variant; its product is `product`
    chips: object
    product: object
    other_product: object

    def customer(self, name: str = "Rita Retail", kind: str = "retail") -> User:
        with tenant_context(self.tenant):
            return User.objects.create_user(
                f"c-{uuid.uuid4().hex[:10]}@example.com", "pw-Example-123", kind=kind, full_name=name
            )

    def buyer(self, name: str = "Rita Retail", *, variant=None, fulfilment: str = "pickup", location=None) -> User:
        """A customer with a completed order of `variant` (default: the sauce) at the store."""
        customer = self.customer(name)
        with tenant_context(self.tenant):
            self.complete_order(customer, variant=variant or self.sauce, fulfilment=fulfilment, location=location)
        return customer

    def complete_order(self, customer, *, variant, fulfilment="pickup", location=None):
        location = location or self.store
        order = order_place(
            customer=customer,
            channel="retail",
            fulfilment=fulfilment,
            location=location,
            lines=[LineRequest(variant, 1)],
            delivery={"address": "1 Main St", "latitude": 40.7, "longitude": -74.0}
            if fulfilment == "delivery"
            else None,
        )
        steps = {
            "pickup": ["paid", "preparing", "ready", "completed"],
            "curbside": ["paid", "preparing", "ready", "completed"],
            "delivery": ["paid", "preparing", "out_for_delivery", "completed"],
        }[fulfilment]
        for step in steps:
            order = order_transition(order=order, to=step)
        return order

    def staff(self, role: str = "owner") -> User:
        with tenant_context(self.tenant):
            user = User.objects.create_user(
                f"{role}-{uuid.uuid4().hex[:8]}@example.com", "pw-Example-123", is_staff=True, full_name="Sam Staff"
            )
            user.groups.add(Group.objects.get(name=STAFF_ROLE_GROUPS[role]))
            return user

    def client(self, user: User | None = None) -> Client:
        if user is None:
            return Client(HTTP_HOST=TENANT_A.domain)
        with tenant_context(self.tenant):
            pair = accounts.session_start(user=user)
        return Client(HTTP_HOST=TENANT_A.domain, **bearer(pair.access))


def build_shop(tenant) -> Shop:
    with tenant_context(tenant):
        store = f.location(code=f"store-{uuid.uuid4().hex[:6]}", pickup_enabled=True, curbside_enabled=True)
        other = f.location(code=f"other-{uuid.uuid4().hex[:6]}", pickup_enabled=True)
        sauce = f.variant(price="10.00")
        chips = f.variant(price="3.00")
        for loc in (store, other):
            f.receive(loc, sauce, 500)
            f.receive(loc, chips, 500)
    return Shop(tenant, store, other, sauce, chips, sauce.product, chips.product)


@pytest.fixture
def shop(tenant_a) -> Shop:
    return build_shop(tenant_a)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path
