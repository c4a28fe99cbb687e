"""Curbside arrivals, live: "I'm here" and the hand-over are outbox events (`curbside.arrived`,
`curbside.handed_over`) published after the commit on the location's live stream, which staff at
that location follow from the `stream` process (apps.integrations.stream_app), and on webhooks."""

from __future__ import annotations


def payload(location_id: int, event: dict) -> dict:
    """The event as the outbox stores it (JSON: times as ISO strings), with its location."""
    arrived = event.get("arrived_at")
    return {**event, "location_id": location_id, "arrived_at": arrived.isoformat() if arrived else None}
