"""A live stream opened while Redis restarts (found by `python -m bench.load fault redis-restart`):
the channel's reader died on its first command, so the subscriber waited on it for good (headers
sent, then nothing, not even a heartbeat). Now the reader keeps trying while someone listens, and a
subscriber waits a bounded time (then the response ends and the client reconnects)."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
from django.test import override_settings

from apps.integrations.stream_app import Hub


class _FlakyHub(Hub):
    """Redis refuses the first `down` commands, then answers; XREAD blocks as on an idle stream."""

    def __init__(self, down: int) -> None:  # no real connections
        self.channels = {}
        self.down = down
        self.calls = 0

        class _Readers:
            async def xread(self, *args: object, **kwargs: object) -> list:
                await asyncio.sleep(0.05)
                return []

        self.readers = _Readers()

    async def top(self, key: str) -> str:
        self.calls += 1
        if self.calls <= self.down:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return "0-0"


@pytest.mark.timeout(30)  # the bug was a wait forever
def test_a_reader_started_while_redis_is_down_starts_when_redis_is_back():
    async def scenario() -> tuple[int, bool]:
        hub = _FlakyHub(down=2)
        queue = await hub.subscribe("fnb:stream:t:curbside:1")  # waits through two refusals
        ready = hub.channels["fnb:stream:t:curbside:1"].ready.is_set()
        hub.unsubscribe("fnb:stream:t:curbside:1", queue)
        return hub.calls, ready

    with override_settings(STREAM_HEARTBEAT_SECONDS=5):
        calls, ready = asyncio.run(scenario())
    assert calls == 3 and ready


@pytest.mark.timeout(30)
def test_a_subscriber_does_not_wait_forever_while_redis_stays_down():
    async def scenario() -> Hub:
        hub = _FlakyHub(down=10**6)
        with pytest.raises(TimeoutError):
            await hub.subscribe("fnb:stream:t:curbside:1")
        return hub

    with override_settings(STREAM_HEARTBEAT_SECONDS=1):
        hub = asyncio.run(scenario())
    assert "fnb:stream:t:curbside:1" not in hub.channels  # unsubscribed: its reader stops trying


@pytest.mark.timeout(30)
def test_a_stream_opened_while_the_database_restarts_is_refused_with_a_503(monkeypatch):
    # Found by `python -m bench.load fault postgres-restart`: the stream process answered 500.
    import psycopg
    from django.db import OperationalError

    from apps.integrations import stream_app

    def authorize(*args: object) -> None:
        error = OperationalError("connection failed: connection refused")
        error.__cause__ = psycopg.OperationalError("connection failed: connection refused")
        raise error

    monkeypatch.setattr(stream_app, "_authorize", authorize)
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    scope = {"type": "http", "path": "/api/v1/streams/locations/1/curbside", "method": "GET", "headers": []}
    asyncio.run(stream_app.StreamApp(fallback=None)(scope, receive, send))
    start, body = sent
    assert start["status"] == 503 and (b"retry-after", b"5") in start["headers"]
    error = json.loads(body["body"])["error"]
    assert error["code"] == "service_unavailable" and error["details"] == {"retry_after": 5}
