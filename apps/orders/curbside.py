"""Curbside arrivals, live: "I'm here" is published on a Redis channel per tenant and location,
and staff at that location follow it as a server-sent event stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import connection

from apps.core.redis import get_redis


def channel_for(location_id: int) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "fnb")
    return f"{prefix}:curbside:{connection.schema_name}:{location_id}"


def publish(location_id: int, event: dict) -> None:
    get_redis(settings.REDIS_URL).publish(channel_for(location_id), json.dumps(event, default=str))


def _sse(event: dict) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event, default=str)}\n\n".encode()


def stream(location_id: int, snapshot: list[dict], *, lifetime: float, heartbeat: float = 15.0) -> Iterator[bytes]:
    """The SSE body: a retry hint, the customers already waiting, then live events until `lifetime`
    ends (the browser's EventSource reconnects by itself), with comment heartbeats in between."""
    pubsub = get_redis(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel_for(location_id))
    try:
        yield b"retry: 2000\n\n"
        for event in snapshot:
            yield _sse(event)
        ends, last_beat = time.monotonic() + lifetime, time.monotonic()
        while time.monotonic() < ends:
            message = pubsub.get_message(timeout=1.0)
            if message and message.get("type") == "message":
                yield _sse(json.loads(message["data"]))
            elif time.monotonic() - last_beat >= heartbeat:
                last_beat = time.monotonic()
                yield b": keepalive\n\n"
    finally:
        pubsub.close()
