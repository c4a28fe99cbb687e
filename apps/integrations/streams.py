"""Live streams: outbox events on Redis Streams, one per tenant and channel, with a bounded length
(`XADD ... MAXLEN ~ STREAM_MAXLEN`), so a client that reconnects with `Last-Event-ID` gets what it
missed. Written right after the commit that recorded the events; read by the `stream` process
(apps.integrations.stream_app)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from django.conf import settings

from apps.core.redis import get_redis
from apps.integrations.catalogue import channels_of

logger = logging.getLogger(__name__)


def stream_key(schema: str, channel: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "fnb")
    return f"{prefix}:stream:{schema}:{channel}"


def streams_publish(*, schema: str, events: Iterable[tuple[int | None, str, dict]]) -> int:
    """XADD every (outbox id, topic, payload) to its channels' streams, one round trip."""
    pipe = get_redis(settings.REDIS_URL).pipeline(transaction=False)
    count = streams_queue(pipe, schema=schema, events=events)
    if count:
        pipe.execute()
    return count


def streams_queue(pipe: object, *, schema: str, events: Iterable[tuple[int | None, str, dict]]) -> int:
    """Queue the XADDs of `streams_publish` on `pipe` (a redis pipeline the caller executes, with
    its other commands in the same round trip). Returns how many were queued."""
    count = 0
    for event_id, topic, payload in events:
        data = json.dumps(payload, default=str)
        for channel in channels_of(topic, payload):
            fields = {"topic": topic, "data": data, "event": str(event_id or "")}
            pipe.xadd(stream_key(schema, channel), fields, maxlen=settings.STREAM_MAXLEN, approximate=True)
            count += 1
    return count
