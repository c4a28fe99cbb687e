"""The event types a webhook endpoint may subscribe to (and the outbox topics behind them), the
aggregate each event belongs to (per-aggregate ordering) and the live-stream channels it feeds."""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "order.placed": "An order was placed (retail, wholesale, partner or staff).",
    "order.confirmed": "An on-account wholesale order was confirmed.",
    "order.paid": "The order's payment succeeded.",
    "order.preparing": "The store started preparing the order.",
    "order.ready": "The order is ready for pickup or curbside.",
    "order.out_for_delivery": "The order left with a driver.",
    "order.shipped": "The order was shipped (carrier and tracking in the order).",
    "order.completed": "The customer has the order.",
    "order.cancelled": "The order was cancelled; its stock was released.",
    "order.refunded": "The order was refunded.",
    "order.return_received": "A return was received; the refund due is in the payload.",
    "stock.changed": "Stock of a variant at a location changed (on hand, reserved, available).",
    "stock.low": "Available stock fell to the reorder point (a restock alert opened).",
    "stock.restocked": "Available stock rose above the reorder point again.",
    "curbside.arrived": "A curbside customer announced 'I'm here' (bay, car).",
    "curbside.handed_over": "Staff handed a curbside order over at the car.",
    "payment.succeeded": "A card payment for an order succeeded.",
    "payment.failed": "A card payment for an order failed.",
    "payment.refunded": "A refund was made.",
    "review.published": "A review was published after moderation.",
    "loyalty.tier_upgraded": "A customer reached a higher loyalty tier.",
    "loyalty.tier_warning": "A customer's tier will drop at the anniversary unless they earn more.",
}
# What a subscription may name: an exact type, a family ("order.*") or everything ("*").
SUBSCRIPTION_PATTERNS = sorted(
    [*EVENT_TYPES, *{f"{t.split('.')[0]}.*" for t in EVENT_TYPES}, "*"], key=lambda p: (p != "*", p)
)


def aggregate_of(topic: str, payload: dict) -> str:
    """Events of one aggregate reach an endpoint in the order they were recorded."""
    family = topic.split(".", 1)[0]
    if family in {"order", "curbside", "payment"} and payload.get("number"):
        return f"order:{payload['number']}"
    if family == "loyalty" and payload.get("account") is not None:
        return f"loyalty:{payload['account']}"
    if family == "stock" and payload.get("variant_id") is not None:
        return f"stock:{payload['variant_id']}:{payload.get('location_id')}"
    if family == "review" and payload.get("review_id") is not None:
        return f"review:{payload['review_id']}"
    return ""


def channels_of(topic: str, payload: dict) -> list[str]:
    """The live-stream channels (per tenant) an event is published on."""
    family = topic.split(".", 1)[0]
    channels = []
    if family == "stock" and payload.get("location_id") is not None:
        channels.append(f"stock:{payload['location_id']}")
    if family == "curbside" and payload.get("location_id") is not None:
        channels.append(f"curbside:{payload['location_id']}")
    if family in {"order", "curbside", "payment"} and payload.get("number"):
        channels.append(f"order:{payload['number']}")
    return channels
