"""Loyalty test helpers: customers, orders in any state at any time, and the tenant's schema."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import User, UserKind
from apps.loyalty import services
from apps.loyalty.models import Account, LedgerEntry, ProgrammeSettings
from apps.orders.models import Order, OrderLine

_seq = itertools.count(1)


@pytest.fixture
def in_tenant(tenant_a):
    with tenant_context(tenant_a):
        yield tenant_a


@pytest.fixture
def programme(in_tenant) -> ProgrammeSettings:
    return services.programme()


def customer(email: str | None = None, kind: str = UserKind.RETAIL, **extra) -> User:
    n = next(_seq)
    return User.objects.create_user(email or f"customer{n}@example.com", "pw-Example-123", kind=kind, **extra)


def account(user: User | None = None) -> Account:
    return services.account_ensure(user=user or customer())


def order(
    user: User | None,
    net: str | Decimal = "10.00",
    *,
    status: str = "paid",
    paid_at: dt.datetime | None = None,
    lines: list[tuple[object, int]] | None = None,
    delivery_address: str = "",
) -> Order:
    """An order row as the order services leave it (no stock involved), paid at `paid_at`."""
    net = Decimal(net)
    paid_at = paid_at or timezone.now()
    row = Order.objects.create(
        number=f"T-{next(_seq):06d}",
        customer=user,
        channel="retail",
        fulfilment="pickup",
        status=status,
        currency="USD",
        subtotal=net,
        total=net,
        paid_at=paid_at if status not in {"placed", "confirmed"} else None,
        delivery_address=delivery_address,
    )
    for variant, quantity in lines or []:
        OrderLine.objects.create(
            order=row,
            variant=variant,
            sku=variant.sku,
            name=str(variant),
            quantity=quantity,
            unit_price=variant.price,
            line_total=variant.price * quantity,
        )
    return row


def paid_order(user: User, net: str = "10.00", *, paid_at: dt.datetime | None = None, **kw) -> Order:
    """A paid order that has earned its (pending) points, as order_transition does."""
    row = order(user, net, paid_at=paid_at, **kw)
    services.points_earn_for_order(order=row)
    return row


def assert_invariant(acc: Account) -> None:
    acc.refresh_from_db()
    sums = services.ledger_sums(acc)
    assert (acc.balance, acc.pending, acc.debt) == (sums["balance"], sums["pending"], sums["debt"])
    assert acc.balance >= 0 and acc.pending >= 0 and acc.debt >= 0


def entries(acc: Account, **filters) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(account=acc, **filters).order_by("id"))


def nightly_at(moment: dt.datetime):
    """Run every nightly step at `moment` (the steps themselves, without the 03:00 gate)."""
    for _, step in services.NIGHTLY_STEPS:
        step(moment)
