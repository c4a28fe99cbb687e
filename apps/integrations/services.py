"""Outgoing webhooks: endpoints and secrets, the outbox relay, delivery with retries, replay, ping.

* The relay takes committed, unpublished outbox events in batches (`FOR UPDATE SKIP LOCKED`, so
  several relays can run at once), creates one delivery per (event, subscribed endpoint) — a unique
  constraint makes a second one impossible — and marks the events published, all in one
  transaction. A relay killed mid-batch rolls back; the next one takes the same events.
* A delivery is claimed with a lease (one conditional UPDATE), sent outside any transaction, and its
  outcome written only if the lease is still ours. A worker killed mid-request loses its lease when
  it runs out and the relay hands the delivery to another worker: at least once, with a stable
  `webhook-id` the receiver deduplicates on.
* Per aggregate (an order, a stock row) only the oldest open delivery to an endpoint is sent;
  the next one is queued when it finishes (succeeded or given up).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.errors import InvalidInput
from apps.core.models import OutboxEvent
from apps.core.redis import get_redis
from apps.integrations import signing, targets
from apps.integrations.catalogue import SUBSCRIPTION_PATTERNS, aggregate_of
from apps.integrations.errors import EndpointDisabled, WebhookTargetRefused
from apps.integrations.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)
S = WebhookDelivery.Status
OPEN = (S.PENDING, S.SENDING)


# ---------------------------------------------------------------------------------------------
# Endpoints and secrets


def _check_event_types(event_types: Sequence[str]) -> list[str]:
    unknown = [t for t in event_types if t not in SUBSCRIPTION_PATTERNS]
    if not event_types or unknown:
        raise InvalidInput(
            "Subscribe to at least one known event type.",
            code="validation_error",
            details={"event_types": [f"Unknown: {', '.join(unknown)}." if unknown else "Empty."]},
        )
    return sorted(set(event_types))


@transaction.atomic
def webhook_endpoint_create(
    *, url: str, event_types: Sequence[str], description: str = "", created_by_key: object | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned here only; shown once)."""
    targets.target_check(url)
    secret = signing.secret_generate()
    endpoint = WebhookEndpoint(
        url=url,
        event_types=_check_event_types(event_types),
        description=description[:200],
        secret=secret,
        created_by_key=created_by_key,
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    fields = []
    if url is not None and url != endpoint.url:
        targets.target_check(url)
        endpoint.url = url
        fields.append("url")
    if event_types is not None:
        endpoint.event_types = _check_event_types(event_types)
        fields.append("event_types")
    if description is not None:
        endpoint.description = description[:200]
        fields.append("description")
    if is_active is not None and is_active != endpoint.is_active:
        endpoint.is_active = is_active
        fields.append("is_active")
        if is_active:  # enabled again: a fresh failure window; what waited goes out
            endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = None, "", None
            fields += ["disabled_at", "disabled_reason", "failing_since"]
            transaction.on_commit(webhook_deliveries_queue_due)
        else:
            endpoint.disabled_at, endpoint.disabled_reason = timezone.now(), "disabled by a user"
            fields += ["disabled_at", "disabled_reason"]
    if fields:
        endpoint.full_clean()
        endpoint.save(update_fields=fields)
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, grace_seconds: int | None = None) -> str:
    """A new secret; the old one keeps signing (a second signature) for the grace period."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    grace = settings.WEBHOOK_SECRET_GRACE_SECONDS if grace_seconds is None else grace_seconds
    locked.previous_secret = locked.secret if grace > 0 else ""
    locked.previous_secret_expires_at = timezone.now() + dt.timedelta(seconds=grace) if grace > 0 else None
    locked.secret = signing.secret_generate()
    locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    endpoint.secret, endpoint.previous_secret = locked.secret, locked.previous_secret
    endpoint.previous_secret_expires_at = locked.previous_secret_expires_at
    return locked.secret


def _secrets_in_use(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    found = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        found.append(endpoint.previous_secret)
    return found


# ---------------------------------------------------------------------------------------------
# The relay: outbox -> deliveries


def relay_kick_key(schema: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "fnb")
    return f"{prefix}:webhooks-relay-kick:{schema}"


def webhooks_relay(*, batch_size: int | None = None, sweep: bool = True) -> int:
    """Turn the current tenant's committed, unpublished outbox events into deliveries and queue the
    new ones that may go now; with `sweep` (the scheduled run) also everything else that is due
    (retries, deliveries whose worker died). Returns how many events were relayed."""
    size = batch_size or settings.WEBHOOK_RELAY_BATCH
    # A commit from now on kicks another relay (this one may already have passed its events).
    get_redis(settings.REDIS_URL).delete(relay_kick_key(connection.schema_name))
    relayed = 0
    while True:
        with transaction.atomic():
            events = list(
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(published_at__isnull=True)
                .order_by("id")
                .only("id", "topic", "payload")[:size]
            )
            if not events:
                break
            endpoints = list(WebhookEndpoint.objects.filter(is_active=True).only("id", "event_types"))
            now = timezone.now()
            rows = [
                WebhookDelivery(
                    endpoint_id=endpoint.pk,
                    event_id=event.pk,
                    topic=event.topic,
                    aggregate=aggregate_of(event.topic, event.payload)[:100],
                    next_attempt_at=now,
                )
                for event in events
                for endpoint in endpoints
                if endpoint.subscribes_to(event.topic)
            ]
            WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
            OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(published_at=now)
            if rows:
                first, last = events[0].pk, events[-1].pk
                transaction.on_commit(
                    lambda first=first, last=last: webhook_deliveries_queue_due(events=(first, last))
                )
        relayed += len(events)
        if len(events) < size:
            break
    if sweep:
        webhook_deliveries_queue_due()
    return relayed


_DUE_SQL = """
SELECT d.id FROM integrations_webhookdelivery d
JOIN integrations_webhookendpoint e ON e.id = d.endpoint_id AND e.is_active
WHERE ((d.status = 'pending' AND d.next_attempt_at <= %(now)s)
       OR (d.status = 'sending' AND d.lease_until < %(now)s))
  AND d.event_id BETWEEN %(first)s AND %(last)s
  AND (d.aggregate = '' OR NOT EXISTS (
        SELECT 1 FROM integrations_webhookdelivery o
        WHERE o.endpoint_id = d.endpoint_id AND o.aggregate = d.aggregate
          AND o.status IN ('pending', 'sending') AND o.event_id < d.event_id))
ORDER BY d.event_id
LIMIT %(limit)s
"""


def webhook_deliveries_queue_due(*, limit: int = 5000, events: tuple[int, int] | None = None) -> int:
    """Queue a delivery task for every delivery that may go now: due, at the head of its aggregate,
    to an active endpoint (and those whose worker's lease ran out); `events`: only those of the
    outbox ids in that range (what one relay batch just created)."""
    first, last = events or (0, 2**62)
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL, {"now": timezone.now(), "limit": limit, "first": first, "last": last})
        ids = [row[0] for row in cursor.fetchall()]
    _queue(ids)
    return len(ids)


def _queue(ids: Sequence[int], *, countdown: float | None = None) -> None:
    from apps.integrations.tasks import webhook_delivery_attempt_task

    for pk in ids:
        webhook_delivery_attempt_task.apply_async((pk,), countdown=countdown)


# ---------------------------------------------------------------------------------------------
# One delivery attempt


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    latency_ms: int
    error: str
    excerpt: str
    retry_after: float | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        if self.status_code is None:
            return self.error != "refused"  # timeouts and connection errors; not an SSRF refusal
        return self.status_code >= 500 or self.status_code in {408, 429}


def message_id(schema: str, event_id: int) -> str:
    """The stable `webhook-id` of an event: the same on every attempt and replay."""
    return f"evt_{schema}_{event_id}"


def message_body(*, schema: str, event: OutboxEvent) -> bytes:
    body = {
        "id": message_id(schema, event.pk),
        "type": event.topic,
        "created_at": event.created_at.isoformat(),
        "tenant": schema,
        "data": event.payload,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def _send(endpoint: WebhookEndpoint, msg_id: str, body: bytes) -> SendResult:
    now = timezone.now()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "fnb-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(_secrets_in_use(endpoint, now), msg_id, timestamp, body),
    }
    started = time.monotonic()
    try:
        targets.target_check(endpoint.url)
        response = requests.post(
            endpoint.url,
            data=body,
            headers=headers,
            timeout=(min(5.0, settings.WEBHOOK_TIMEOUT_SECONDS), settings.WEBHOOK_TIMEOUT_SECONDS),
            allow_redirects=False,
        )
    except WebhookTargetRefused as exc:
        return SendResult(None, 0, "refused", exc.message[:500], None)
    except requests.Timeout:
        return SendResult(None, int((time.monotonic() - started) * 1000), "timeout", "", None)
    except requests.RequestException as exc:
        return SendResult(None, int((time.monotonic() - started) * 1000), "connection_error", str(exc)[:500], None)
    latency = int((time.monotonic() - started) * 1000)
    return SendResult(
        response.status_code,
        latency,
        "",
        response.text[:500] if response.content else "",
        _retry_after(response.headers.get("Retry-After")),
    )


def retry_delay(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: exponential (base x 2^(n-1), capped) with jitter (half
    fixed, half random), or what the receiver's `Retry-After` asked for (capped)."""
    cap = settings.WEBHOOK_RETRY_MAX_SECONDS
    if retry_after is not None:
        return min(cap, retry_after)
    delay = min(cap, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (jitter, not cryptography)


_CLAIM_SQL = """
UPDATE integrations_webhookdelivery SET status = 'sending', lease_token = %(token)s, lease_until = %(until)s
WHERE id = %(id)s AND ((status = 'pending' AND next_attempt_at <= %(now)s)
                       OR (status = 'sending' AND lease_until < %(now)s))
RETURNING id
"""


def _blocked(delivery: WebhookDelivery) -> str:
    """`older_open`: an older delivery of the same aggregate to this endpoint is still open (it
    queues this one when it finishes). `relaying`: an older event is not relayed yet (another relay's
    batch in flight; it may hold an older event of this aggregate): look again in a moment."""
    if not delivery.aggregate:
        return ""
    if WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id, aggregate=delivery.aggregate, status__in=OPEN, event_id__lt=delivery.event_id
    ).exists():
        return "older_open"
    if OutboxEvent.objects.filter(published_at__isnull=True, pk__lt=delivery.event_id).exists():
        return "relaying"
    return ""


def webhook_delivery_attempt(*, delivery_id: int) -> str:
    """Send one delivery if it is due and ours to send; record the attempt and what comes next.
    Returns the outcome: succeeded, retrying, failed, or why nothing was sent."""
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    if delivery.status in {S.SUCCEEDED, S.FAILED}:
        return "done"
    if not delivery.endpoint.is_active:
        return "endpoint_disabled"
    blocked = _blocked(delivery)
    if blocked == "relaying":
        _queue([delivery.pk], countdown=1.0)
    if blocked:
        return "waiting"
    token = str(uuid.uuid4())
    with connection.cursor() as cursor:
        now = timezone.now()
        until = now + dt.timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
        cursor.execute(_CLAIM_SQL, {"token": token, "until": until, "id": delivery.pk, "now": now})
        if cursor.fetchone() is None:
            return "not_due"
    schema = connection.schema_name
    result = _send(
        delivery.endpoint, message_id(schema, delivery.event_id), message_body(schema=schema, event=delivery.event)
    )
    return _record(delivery, token, result)


@transaction.atomic
def _record(delivery: WebhookDelivery, token: str, result: SendResult) -> str:
    now = timezone.now()
    attempts = delivery.attempts + 1
    DeliveryAttempt.objects.create(
        endpoint_id=delivery.endpoint_id,
        delivery=delivery,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        succeeded=result.succeeded,
        error=result.error,
        response_excerpt=result.excerpt,
    )
    update = {
        "attempts": attempts,
        "last_status_code": result.status_code,
        "last_error": result.error,
        "lease_token": "",
    }
    delay = 0.0
    if result.succeeded:
        outcome = "succeeded"
        update |= {"status": S.SUCCEEDED, "delivered_at": now, "lease_until": None}
    elif result.retryable and attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        outcome, delay = "retrying", retry_delay(attempts, result.retry_after)
        update |= {"status": S.PENDING, "next_attempt_at": now + dt.timedelta(seconds=delay), "lease_until": None}
    else:
        outcome = "failed"
        update |= {"status": S.FAILED, "lease_until": None}
    mine = WebhookDelivery.objects.filter(pk=delivery.pk, status=S.SENDING, lease_token=token).update(**update)
    if not mine:
        return "lease_lost"  # another worker took over after our lease ran out; its outcome stands
    _endpoint_health(delivery.endpoint, ok=result.succeeded, now=now)
    if outcome == "retrying":
        transaction.on_commit(lambda: _queue([delivery.pk], countdown=delay))
    else:
        transaction.on_commit(lambda: _queue_next(delivery))
    return outcome


def _queue_next(delivery: WebhookDelivery) -> None:
    if not delivery.aggregate:
        return
    following = (
        WebhookDelivery.objects.filter(endpoint_id=delivery.endpoint_id, aggregate=delivery.aggregate, status__in=OPEN)
        .order_by("event_id")
        .values_list("pk", flat=True)
        .first()
    )
    if following:
        _queue([following])


def _endpoint_health(endpoint: WebhookEndpoint, *, ok: bool, now: dt.datetime) -> None:
    """A success clears the failure window; failing for WEBHOOK_DISABLE_AFTER_SECONDS disables."""
    if ok:
        if endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        return
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    limit = now - dt.timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS)
    reason = f"failing since more than {settings.WEBHOOK_DISABLE_AFTER_SECONDS} s"
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True, failing_since__lte=limit).update(
        is_active=False, disabled_at=now, disabled_reason=reason
    )
    if disabled:
        url, schema = endpoint.url, connection.schema_name
        transaction.on_commit(lambda: _tell_owners_disabled(url, schema))


def _tell_owners_disabled(url: str, schema: str) -> None:
    from apps.accounts.models import User

    owners = list(
        User.objects.filter(is_active=True, is_staff=True, groups__name="Owner").values_list("email", flat=True)
    )
    if owners:
        send_mail(
            "A webhook endpoint was disabled",
            f"Deliveries to {url} kept failing, so the endpoint was disabled ({schema}). Fix the receiver, "
            "enable the endpoint again and replay what it missed.",
            settings.DEFAULT_FROM_EMAIL,
            owners,
            fail_silently=True,
        )


# ---------------------------------------------------------------------------------------------
# Replay and ping


@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send again (same `webhook-id`), with a fresh retry budget."""
    if not delivery.endpoint.is_active:
        raise EndpointDisabled()
    WebhookDelivery.objects.filter(pk=delivery.pk).exclude(status=S.SENDING).update(
        status=S.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    transaction.on_commit(webhook_deliveries_queue_due)
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def webhook_endpoint_replay_since(*, endpoint: WebhookEndpoint, since: dt.datetime) -> int:
    """Every event since `since` this endpoint subscribes to, again (missing deliveries created,
    finished ones re-opened). Returns how many deliveries will go out."""
    if not endpoint.is_active:
        raise EndpointDisabled()
    now = timezone.now()
    events = OutboxEvent.objects.filter(created_at__gte=since, published_at__isnull=False).only(
        "id", "topic", "payload"
    )
    matching = [e for e in events.order_by("id").iterator(chunk_size=2000) if endpoint.subscribes_to(e.topic)]
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=e.pk,
                topic=e.topic,
                aggregate=aggregate_of(e.topic, e.payload)[:100],
                next_attempt_at=now,
            )
            for e in matching
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    count = (
        WebhookDelivery.objects.filter(endpoint=endpoint, event_id__in=[e.pk for e in matching])
        .filter(~Q(status=S.SENDING))
        .update(status=S.PENDING, attempts=0, next_attempt_at=now)
    )
    transaction.on_commit(webhook_deliveries_queue_due)
    return count


def webhook_endpoint_ping(*, endpoint: WebhookEndpoint) -> DeliveryAttempt:
    """A signed `webhook.ping` sent now; the attempt is recorded (without a delivery)."""
    schema = connection.schema_name
    msg_id = f"ping_{uuid.uuid4().hex}"
    body = json.dumps(
        {"id": msg_id, "type": "webhook.ping", "created_at": timezone.now().isoformat(), "tenant": schema, "data": {}},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    result = _send(endpoint, msg_id, body)
    return DeliveryAttempt.objects.create(
        endpoint=endpoint,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        succeeded=result.succeeded,
        error=result.error,
        response_excerpt=result.excerpt,
    )


# ---------------------------------------------------------------------------------------------
# Partner sync


def stock_sync(*, lines: Sequence[dict], mode: str, locations: object, reference: str = "") -> dict:
    """Counted on-hand levels by SKU and location code. `all_or_nothing`: any bad line and nothing
    is applied (every bad line reported); `per_line`: good lines applied, a result per line."""
    from apps.catalog.models import Variant
    from apps.stock import services as stock
    from apps.stock.errors import InvalidStockRequest

    variants = {
        sku: (pk, lots, archived)
        for sku, pk, lots, archived in Variant.objects.filter(sku__in={ln["sku"] for ln in lines}).values_list(
            "sku", "pk", "tracks_lots", "is_archived"
        )
    }
    codes = {
        code: pk for code, pk in locations.filter(code__in={ln["location"] for ln in lines}).values_list("code", "pk")
    }
    results: dict[int, tuple[str, int | None]] = {}
    level_lines, index_of = [], []
    for index, line in enumerate(lines):
        variant = variants.get(line["sku"])
        if variant is None or variant[2]:
            results[index] = ("unknown_sku", None)
        elif line["location"] not in codes:
            results[index] = ("unknown_location", None)
        else:
            level_lines.append(stock.LevelLine(variant[0], codes[line["location"]], line["on_hand"], variant[1]))
            index_of.append(index)
    all_or_nothing = mode == "all_or_nothing"
    if all_or_nothing and results:
        raise InvalidStockRequest(
            f"{len(results)} of {len(lines)} lines are not valid; nothing was applied.",
            details={"lines": {str(i): [code] for i, (code, _) in sorted(results.items())}},
        )
    try:
        applied = stock.stock_levels_sync(lines=level_lines, all_or_nothing=all_or_nothing, reference=reference)
    except InvalidStockRequest as exc:  # indices of the stock call -> indices of the request
        exc.details = {"lines": {str(index_of[int(i)]): codes_ for i, codes_ in exc.details["lines"].items()}}
        raise
    for position, outcome in applied.items():
        results[index_of[position]] = outcome
    rows = [{"index": i, "result": results[i][0], "delta": results[i][1]} for i in range(len(lines))]
    ok = sum(1 for r in rows if r["result"] in {"applied", "unchanged"})
    return {"mode": mode, "applied": ok, "rejected": len(rows) - ok, "lines": rows}
