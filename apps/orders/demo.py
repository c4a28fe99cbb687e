"""Demo orders in every status for the demo tenant (called by `manage.py seed_demo`, once)."""

from __future__ import annotations

from apps.accounts.models import User
from apps.catalog.models import Variant
from apps.orders.models import Order
from apps.orders.services import LineRequest, order_place, order_ship, order_transition
from apps.stock.models import Location

PATHS = {  # fulfilment, statuses to walk through after placing
    "placed": ("pickup", []),
    "paid": ("pickup", ["paid"]),
    "preparing": ("curbside", ["paid", "preparing"]),
    "ready": ("pickup", ["paid", "preparing", "ready"]),
    "out_for_delivery": ("delivery", ["paid", "preparing", "out_for_delivery"]),
    "shipped": ("shipping", ["paid", "preparing", "shipped"]),
    "completed": ("pickup", ["paid", "preparing", "ready", "completed"]),
    "cancelled": ("pickup", ["cancelled"]),
    "refunded": ("pickup", ["paid", "preparing", "ready", "completed", "refunded"]),
}


def seed_orders(*, retail_email: str, wholesale_email: str) -> int:
    if Order.objects.exists():
        return 0
    customer = User.objects.get(email=retail_email)
    store = Location.objects.get(code="north")
    variants = list(Variant.objects.order_by("sku")[:9])
    for index, (fulfilment, steps) in enumerate(PATHS.values()):
        delivery = {"address": f"{10 + index} Demo Ave", "latitude": 40.70 + index / 100, "longitude": -73.99}
        order = order_place(
            customer=customer,
            channel="retail",
            fulfilment=fulfilment,
            delivery=delivery if fulfilment == "delivery" else None,
            location=store if fulfilment in {"pickup", "curbside"} else None,
            lines=[LineRequest(variants[index], 1), LineRequest(variants[(index + 3) % 9], 2)],
        )
        for step in steps:
            if step == "shipped":
                order_ship(order=order, carrier="ups", tracking_number=f"1ZDEMO{index:04d}")
            else:
                order_transition(order=order, to=step, reason="demo")

    buyer = User.objects.get(email=wholesale_email)
    order_place(
        customer=buyer,
        channel="wholesale",
        fulfilment="shipping",
        on_account=True,
        lines=[LineRequest(variants[0], 24)],
    )  # confirmed, on account
    return Order.objects.count()
