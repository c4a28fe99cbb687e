"""Demo data the store dashboard shows on top of the orders the other apps seed (called by
`manage.py seed_demo`): a curbside customer waiting at bay 2 at the north store, and reorder
suggestions from the forecast. Written through the services, once."""

from __future__ import annotations

from apps.orders.models import Order, OrderStatus
from apps.orders.services import order_arrival_announce
from apps.stock.models import ReorderSuggestion
from apps.stock.services import reorder_suggestions_compute


def seed_dashboards(*, location_code: str = "north") -> int:
    """The number of things seeded (0 when there was nothing to do)."""
    seeded = 0
    waiting = Order.objects.filter(location__code=location_code, fulfilment="curbside", arrived_at__isnull=False)
    candidate = (
        Order.objects.filter(
            location__code=location_code,
            fulfilment="curbside",
            arrived_at__isnull=True,
            status__in=[OrderStatus.PAID, OrderStatus.PREPARING, OrderStatus.READY],
        )
        .order_by("placed_at")
        .first()
    )
    if not waiting.exists() and candidate is not None:
        order_arrival_announce(order=candidate, bay="2", car="Green Mini Cooper")
        seeded += 1
    if not ReorderSuggestion.objects.exists():
        seeded += reorder_suggestions_compute()
    return seeded
