"""The `stream` process: server-sent events on one event loop (uvicorn workers under gunicorn).

A request is authorised once, in a worker thread (tenant from the hostname, bearer token or admin
session, the channel's object-level rule, the snapshot), then the connection lives on the event
loop: no thread and no database connection is held while it is open. Per process and channel one
reader task follows the Redis Stream (`XREAD BLOCK`) and fans entries out to the channel's
subscribers; a client resuming with `Last-Event-ID` first gets what it missed (`XRANGE`).

Paths (any other goes to the Django ASGI application):
    /api/v1/streams/locations/<id>/stock       staff (store managers: their locations)
    /api/v1/streams/locations/<id>/curbside    staff, as above (also /api/v1/locations/<id>/curbside/stream)
    /api/v1/streams/orders/<id>                the customer who owns the order
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

logger = logging.getLogger(__name__)

ROUTES = [
    (re.compile(r"^/api/v1/streams/locations/(\d+)/stock/?$"), "stock"),
    (re.compile(r"^/api/v1/streams/locations/(\d+)/curbside/?$"), "curbside"),
    (re.compile(r"^/api/v1/locations/(\d+)/curbside/stream/?$"), "curbside"),
    (re.compile(r"^/api/v1/streams/orders/(\d+)/?$"), "order"),
]
_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Grant:
    key: str  # the Redis Stream
    snapshot: list[tuple[str, dict]] = field(default_factory=list)


def _sid(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


# ---------------------------------------------------------------------------------------------
# Authorisation (sync, once per connection, in a worker thread)


def _authorize(host: str, headers: dict[str, str], kind: str, object_id: int) -> Grant:
    from django.db import close_old_connections, connection
    from django.http import HttpRequest

    from apps.accounts.errors import TokenRejected
    from apps.tenants.middleware import _lookup

    close_old_connections()
    connection.set_schema_to_public()
    tenant = _lookup(host.split(":")[0].lower()) if host else None
    if tenant is None:
        raise Refused(404, "tenant_not_found", "No business is served at this address.")
    if not tenant.is_active:
        raise Refused(403, "tenant_suspended", "This business is suspended.")
    connection.set_tenant(tenant)
    try:
        request = HttpRequest()
        request.META = {"HTTP_AUTHORIZATION": headers.get("authorization", ""), "HTTP_HOST": host}
        try:
            user, auth = _authenticate(request, headers)
        except TokenRejected as exc:
            raise Refused(401, exc.stable_code, str(exc.detail)) from exc
        if user is None:
            raise Refused(401, "not_authenticated", "Authentication credentials were not provided.")
        return _grant(tenant.schema_name, kind, object_id, user, auth)
    finally:
        connection.set_schema_to_public()


def _authenticate(request: Any, headers: dict[str, str]) -> tuple[Any, Any]:
    from django.contrib.auth import get_user
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.request import Request

    from apps.accounts.authentication import SessionTokenAuthentication

    found = SessionTokenAuthentication().authenticate(Request(request))
    if found is not None:
        return found
    cookies = SimpleCookie(headers.get("cookie", ""))
    morsel = cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return None, None
    request.session = SessionStore(morsel.value)
    user = get_user(request)  # checks the session's auth hash, as the admin does
    return (user, None) if user.is_authenticated else (None, None)


def _grant(schema: str, kind: str, object_id: int, user: Any, auth: Any) -> Grant:
    from types import SimpleNamespace

    from apps.accounts.policy import principal_of
    from apps.integrations.streams import stream_key

    principal = principal_of(SimpleNamespace(_request=SimpleNamespace(api_key=None), user=user, auth=auth))
    if kind in {"stock", "curbside"}:
        from apps.orders.services import curbside_waiting
        from apps.stock.selectors import location_list

        if principal.kind != "staff" or not principal.roles:
            raise Refused(403, "permission_denied", "You are not allowed to do this.")
        if not location_list(principal=principal, user=user).filter(pk=object_id).exists():
            raise Refused(404, "not_found", "No such location.")
        snapshot = []
        if kind == "curbside":
            snapshot = [("curbside.waiting", event) for event in curbside_waiting(location_id=object_id)]
        return Grant(stream_key(schema, f"{kind}:{object_id}"), snapshot)
    from apps.orders.models import Order

    if principal.kind not in {"guest", "retail", "wholesale"}:
        raise Refused(403, "permission_denied", "You are not allowed to do this.")
    order = Order.objects.filter(pk=object_id, customer=user).only("number", "status").first()
    if order is None:
        raise Refused(404, "not_found", "No such order.")
    return Grant(
        stream_key(schema, f"order:{order.number}"),
        [("order.status", {"number": order.number, "status": order.status})],
    )


# ---------------------------------------------------------------------------------------------
# One reader per channel and process, fanning out to its subscribers


class Channel:
    def __init__(self, hub: Hub, key: str) -> None:
        self.hub, self.key = hub, key
        self.subscribers: set[asyncio.Queue] = set()
        self.task: asyncio.Task | None = None
        self.ready = asyncio.Event()  # set once the reader knows where it starts

    async def run(self) -> None:
        # Where to start. Redis may be down (a restart): keep trying while anyone listens; a reader
        # that died here left its subscribers waiting on `ready` for good (found by the load
        # harness's redis-restart fault: a stream opened during the outage got its headers and then
        # nothing, not even a heartbeat).
        while True:
            try:
                last = await self.hub.top(self.key)
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Starting the reader of %s failed; retrying", self.key, exc_info=True)
                if not self.subscribers:
                    return
                await asyncio.sleep(1)
        self.ready.set()
        while self.subscribers:
            try:
                found = await self.hub.readers.xread({self.key: last}, block=5000, count=500)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Reading %s failed; retrying", self.key)
                await asyncio.sleep(1)
                continue
            for _key, entries in found or []:
                for entry_id, fields in entries:
                    last = entry_id
                    for queue in list(self.subscribers):
                        try:
                            queue.put_nowait((entry_id, fields))
                        except asyncio.QueueFull:  # a client too slow: it reconnects and resumes
                            self.subscribers.discard(queue)
                            _overflow(queue)


def _overflow(queue: asyncio.Queue) -> None:
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(None)


class Hub:
    def __init__(self) -> None:
        import redis.asyncio as aredis

        # Short commands (XRANGE, XREVRANGE at connect) share a bounded pool: a thousand clients
        # connecting at once wait for a connection instead of opening a thousand. Each channel's
        # reader holds its own connection for its blocking XREAD.
        pool = aredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=settings.STREAM_REDIS_CONNECTIONS, timeout=30, decode_responses=True
        )
        self.redis = aredis.Redis(connection_pool=pool)
        self.readers = aredis.Redis.from_url(settings.REDIS_URL, decode_responses=True, health_check_interval=30)
        self.channels: dict[str, Channel] = {}

    async def top(self, key: str) -> str:
        last = await self.redis.xrevrange(key, count=1)
        return last[0][0] if last else "0-0"

    async def subscribe(self, key: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        channel = self.channels.get(key)
        if channel is None:
            channel = self.channels[key] = Channel(self, key)
        channel.subscribers.add(queue)
        if channel.task is None or channel.task.done():  # (no await before this: one reader per channel)
            channel.task = asyncio.get_running_loop().create_task(channel.run())
        # A subscriber's catch-up (XRANGE) must start after the reader's starting point, so nothing
        # falls between the two. Not forever: while Redis is unreachable the response ends and the
        # client reconnects (EventSource's `retry`) instead of waiting without a heartbeat.
        try:
            await asyncio.wait_for(channel.ready.wait(), timeout=max(1.0, settings.STREAM_HEARTBEAT_SECONDS))
        except TimeoutError:
            self.unsubscribe(key, queue)
            raise
        return queue

    def unsubscribe(self, key: str, queue: asyncio.Queue) -> None:
        channel = self.channels.get(key)
        if channel is None:
            return
        channel.subscribers.discard(queue)
        if not channel.subscribers:
            self.channels.pop(key, None)
            if channel.task is not None:
                channel.task.cancel()


_hub: Hub | None = None


def hub() -> Hub:
    global _hub
    if _hub is None:
        _hub = Hub()
    return _hub


# ---------------------------------------------------------------------------------------------
# The ASGI application


def _event(entry_id: str | None, topic: str, data: str) -> bytes:
    head = f"id: {entry_id}\n" if entry_id else ""
    return f"{head}event: {topic}\ndata: {data}\n\n".encode()


async def _refuse(send: Any, refused: Refused, details: dict | None = None, retry_after: int | None = None) -> None:
    from apps.core.errors import error_body

    body = json.dumps(error_body(refused.code, refused.message, details)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if refused.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="api"'))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class StreamApp:
    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] == "http":
            for pattern, kind in ROUTES:
                match = pattern.match(scope["path"])
                if match and scope["method"] in {"GET", "HEAD"}:
                    return await self._stream(scope, receive, send, kind, int(match.group(1)))
        return await self.fallback(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _hub is not None:
                    with contextlib.suppress(Exception):
                        await _hub.redis.aclose()
                        await _hub.readers.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _stream(self, scope: dict, receive: Any, send: Any, kind: str, object_id: int) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(p.partition("=")[::2] for p in scope.get("query_string", b"").decode().split("&") if p)
        last_id = headers.get("last-event-id") or query.get("last_event_id") or ""
        if last_id and not _ID.match(last_id):
            return await _refuse(send, Refused(400, "validation_error", "Last-Event-ID is not a stream id."))
        try:
            grant = await sync_to_async(_authorize, thread_sensitive=False)(
                headers.get("host", ""), headers, kind, object_id
            )
        except Refused as refused:
            return await _refuse(send, refused)
        except Exception as exc:
            # PostgreSQL (or Redis) restarting: a 503 to retry, as the web process answers, not a 500.
            from apps.core.errors import RETRY_AFTER_UNAVAILABLE, unavailable_service

            service = unavailable_service(exc)
            if service is None:
                raise
            logger.warning("%s unavailable, stream refused with 503: %s", service, exc)
            message = f"The service is briefly unavailable ({service}). Try again in a few seconds."
            return await _refuse(
                send,
                Refused(503, "service_unavailable", message),
                {"retry_after": RETRY_AFTER_UNAVAILABLE},
                RETRY_AFTER_UNAVAILABLE,
            )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        if scope["method"] == "HEAD":
            return await send({"type": "http.response.body", "body": b""})
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.get_running_loop().create_task(watch())
        streams = hub()
        queue = None
        try:
            queue = await streams.subscribe(grant.key)
            await self._pump(send, streams, grant, queue, last_id, gone)
        except OSError:  # the client went away mid-write
            pass
        except Exception:  # Redis trouble: end the response; the client resumes from its Last-Event-ID
            logger.exception("Stream %s ended on an error", grant.key)
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            if queue is not None:
                streams.unsubscribe(grant.key, queue)
            watcher.cancel()

    async def _pump(
        self, send: Any, streams: Hub, grant: Grant, queue: asyncio.Queue, last_id: str, gone: asyncio.Event
    ) -> None:
        async def write(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        hello = b"retry: 2000\n\n"
        if last_id:
            cursor = last_id
        else:
            cursor = await streams.top(grant.key)
            hello += b"".join(_event(None, topic, json.dumps(data, default=str)) for topic, data in grant.snapshot)
        await write(hello)
        # What the client missed (or what arrived between subscribing and now).
        missed = await streams.redis.xrange(grant.key, min=f"({cursor}", max="+", count=settings.STREAM_MAXLEN)
        for entry_id, fields in missed:
            await write(_event(entry_id, fields.get("topic", "message"), fields.get("data", "{}")))
            cursor = entry_id
        ends = time.monotonic() + settings.STREAM_LIFETIME_SECONDS
        beat = settings.STREAM_HEARTBEAT_SECONDS
        position = _sid(cursor)
        while not gone.is_set():
            left = ends - time.monotonic()
            if left <= 0:
                break
            getter = asyncio.ensure_future(queue.get())
            stopper = asyncio.ensure_future(gone.wait())
            done, _pending = await asyncio.wait(
                {getter, stopper}, timeout=min(beat, left), return_when=asyncio.FIRST_COMPLETED
            )
            stopper.cancel()
            if getter not in done:
                getter.cancel()
                if not gone.is_set():
                    await write(b": keepalive\n\n")
                continue
            item = getter.result()
            if item is None:  # overflowed: end; the client resumes from its Last-Event-ID
                break
            entry_id, fields = item
            if _sid(entry_id) <= position:
                continue  # already sent from the catch-up
            position = _sid(entry_id)
            await write(_event(entry_id, fields.get("topic", "message"), fields.get("data", "{}")))
        if not gone.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})
