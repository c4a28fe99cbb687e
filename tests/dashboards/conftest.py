"""A store with stock, lots and a manager; a second store the manager does not manage; orders."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django_tenants.utils import tenant_context

from apps.accounts.models import User, UserKind
from apps.orders.models import Order
from apps.orders.services import LineRequest, order_place, order_transition
from apps.stock.models import Location, StockItem
from apps.tenants.models import Tenant
from tests import factories as f
from tests.conftest import make_staff

PASSWORD = "pw-Example-123"  # make_staff's


@dataclass
class Shop:
    tenant: Tenant
    store: Location
    other: Location
    sauce: object
    chips: object
    manager: User
    owner: User
    customer: User


def build_shop(tenant: Tenant, *, prefix: str = "") -> Shop:
    with tenant_context(tenant):
        store = f.location(code=f"{prefix}store", pickup_enabled=True, curbside_enabled=True)
        store.name = "North Store"
        store.save(update_fields=["name"])
        other = f.location(code=f"{prefix}other", pickup_enabled=True)
        sauce = f.variant(sku=f"{prefix}SAUCE", price="10.00", tracks_lots=True)
        chips = f.variant(sku=f"{prefix}CHIPS", price="3.35")
        f.receive(store, sauce, 400, batch="S1", expires_in_days=5)
        f.receive(store, chips, 400)
        f.receive(other, chips, 50)
        StockItem.objects.filter(location=store, variant=chips).update(reorder_point=500, reorder_quantity=100)
        manager = make_staff(tenant, email=f"{prefix}manager@example.com", role="Store Manager")
        store.managers.add(manager)
        owner = make_staff(tenant, email=f"{prefix}owner@example.com", role="Owner")
        customer = User.objects.create_user(
            f"{prefix}ann@example.com", PASSWORD, kind=UserKind.RETAIL, full_name="Ann Customer"
        )
    return Shop(tenant, store, other, sauce, chips, manager, owner, customer)


# Paths the orders walk (after placing), so every status and fulfilment shows up.
WALKS = [
    ("pickup", []),
    ("pickup", ["paid"]),
    ("curbside", ["paid", "preparing"]),
    ("pickup", ["paid", "preparing", "ready"]),
    ("pickup", ["paid", "preparing", "ready", "completed"]),
    ("pickup", ["cancelled"]),
]


def place_orders(shop: Shop, count: int) -> list[Order]:
    placed = []
    with tenant_context(shop.tenant):
        for index in range(count):
            fulfilment, steps = WALKS[index % len(WALKS)]
            order = order_place(
                customer=shop.customer,
                channel="retail",
                fulfilment=fulfilment,
                location=shop.store,
                lines=[LineRequest(shop.chips, 1), LineRequest(shop.sauce, 1)],
            )
            for step in steps:
                order = order_transition(order=order, to=step, reason="test")
            placed.append(order)
    return placed


@pytest.fixture
def shop(tenant_a) -> Shop:
    return build_shop(tenant_a)
