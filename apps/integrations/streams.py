"""Live streams: outbox events on Redis Streams, one per tenant and channel, with a bounded length
(`XADD ... MAXLEN ~ STREAM_MAXLEN`), so a client that reconnects with `Last-Event-ID` gets what it
missed. Written right after the commit that recorded the events; read by the `stream` process
(apps.integrations.stream_app)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from django.conf import settings

from apps.integrations.catalogue import channels_of

logger = logging.getLogger(__name__)


def stream_key(schema: str, channel: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "fnb")
    return f"{prefix}:stream:{schema}:{channel}"


def streams_queue(pipe: object, *, schema: str, events: Iterable[tuple[int | None, str, dict]]) -> int:
    """Queue an XADD of every (outbox id, topic, payload) to its channels' streams on `pipe` (a redis
    pipeline the caller executes, with its other commands in the same round trip). Returns how many
    were queued."""
    count = 0
    for event_id, topic, payload in events:
        data = json.dumps(payload, default=str)
        for channel in channels_of(topic, payload):
            fields = {"topic": topic, "data": data, "event": str(event_id or "")}
            pipe.xadd(stream_key(schema, channel), fields, maxlen=settings.STREAM_MAXLEN, approximate=True)
            count += 1
    return count
