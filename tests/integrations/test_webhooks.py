"""Webhooks against a real local receiver: signatures (standardwebhooks, rotation), retries with
backoff and Retry-After, no retry for 4xx, disabling and e-mail, the relay's exactly-one delivery
per (event, endpoint), per-aggregate order, replay, ping and the SSRF guard."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from apps.core.models import OutboxEvent
from apps.core.services import events_record
from apps.integrations import services
from apps.integrations.errors import WebhookTargetRefused
from apps.integrations.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from tests.conftest import TENANT_A, make_staff
from tests.integrations.receiver import Receiver, Reply

S = WebhookDelivery.Status


@pytest.fixture
def in_a(tenant_a):
    with tenant_context(tenant_a):
        yield tenant_a


def endpoint(url: str, types=("order.*",)) -> tuple[WebhookEndpoint, str]:
    return services.webhook_endpoint_create(url=url, event_types=list(types))


def send_all(max_rounds: int = 20) -> None:
    """Attempt every open delivery that is due, oldest event first, until none is left to send."""
    for _ in range(max_rounds):
        due = list(
            WebhookDelivery.objects.filter(status=S.PENDING, next_attempt_at__lte=timezone.now())
            .order_by("event_id")
            .values_list("pk", flat=True)
        )
        if not due:
            return
        for pk in due:
            services.webhook_delivery_attempt(delivery_id=pk)


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def verify(secret: str, received) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


def test_a_delivery_is_signed_per_standard_webhooks_and_verifies_after_a_rotation(in_a, settings):
    with Receiver() as receiver:
        ep, first_secret = endpoint(receiver.url)
        events_record([("order.paid", {"number": "A1", "status": "paid"})])
        services.webhooks_relay()
        send_all()
        got = receiver.received[0]
        body = verify(first_secret, got)
        event = OutboxEvent.objects.get()
        assert got.headers["webhook-id"] == f"evt_{TENANT_A.schema}_{event.pk}"
        assert body["type"] == "order.paid" and body["data"] == {"number": "A1", "status": "paid"}

        # Rotation: during the grace period both secrets verify (two signatures are sent).
        new_secret = services.webhook_endpoint_rotate_secret(endpoint=ep, grace_seconds=3600)
        assert new_secret != first_secret and new_secret.startswith("whsec_")
        events_record([("order.ready", {"number": "A1", "status": "ready"})])
        services.webhooks_relay()
        send_all()
        during = receiver.received[1]
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        assert verify(new_secret, during)["type"] == "order.ready"
        assert verify(first_secret, during)["type"] == "order.ready"

        # After the grace period only the new secret signs.
        WebhookEndpoint.objects.filter(pk=ep.pk).update(previous_secret_expires_at=timezone.now())
        events_record([("order.completed", {"number": "A1", "status": "completed"})])
        services.webhooks_relay()
        send_all()
        after = receiver.received[2]
        assert verify(new_secret, after)["type"] == "order.completed"
        with pytest.raises(WebhookVerificationError):
            verify(first_secret, after)


def test_5xx_and_timeouts_are_retried_with_growing_jittered_delays_and_every_attempt_is_recorded(in_a, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    with Receiver() as receiver:
        receiver.script.extend([Reply(500, body=b"boom"), Reply(200, delay=1.0), Reply(503), Reply(204)])
        endpoint(receiver.url)
        events_record([("order.placed", {"number": "R1"})])
        services.webhooks_relay()
        delivery = WebhookDelivery.objects.get()
        delays = []
        for _ in range(4):
            before = timezone.now()
            outcome = services.webhook_delivery_attempt(delivery_id=delivery.pk)
            delivery.refresh_from_db()
            if outcome == "retrying":
                delays.append((delivery.next_attempt_at - before).total_seconds())
                assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "not_due"  # backing off
                make_due(delivery)
        assert outcome == "succeeded" and delivery.status == S.SUCCEEDED and delivery.attempts == 4
        # base 10 s doubling, half of it random: attempt n waits within [5·2^(n-1), 10·2^(n-1)].
        assert 5 <= delays[0] <= 10.5 and 10 <= delays[1] <= 20.5 and 20 <= delays[2] <= 40.5
        attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("id"))
        assert [(a.status_code, a.error) for a in attempts] == [(500, ""), (None, "timeout"), (503, ""), (204, "")]
        assert attempts[0].response_excerpt == "boom" and attempts[1].latency_ms >= 250
        assert [a.succeeded for a in attempts] == [False, False, False, True]
        assert len(receiver.received) == 4 and len(set(receiver.ids())) == 1  # one webhook-id throughout


def test_a_429s_retry_after_is_respected_and_a_connection_error_is_retried(in_a, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    with Receiver() as receiver:
        receiver.script.append(Reply(429, headers={"Retry-After": "120"}))
        endpoint(receiver.url)
        events_record([("order.placed", {"number": "T1"})])
        services.webhooks_relay()
        delivery = WebhookDelivery.objects.get()
        before = timezone.now()
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "retrying"
        delivery.refresh_from_db()
        assert 119 <= (delivery.next_attempt_at - before).total_seconds() <= 121
    # The receiver is gone now: a connection error is retried too.
    make_due(delivery)
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "retrying"
    assert DeliveryAttempt.objects.filter(delivery=delivery).order_by("-id").first().error == "connection_error"


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_a_4xx_other_than_408_and_429_is_not_retried(in_a, status):
    with Receiver(Reply(status)) as receiver:
        endpoint(receiver.url)
        events_record([("order.placed", {"number": "N1"})])
        services.webhooks_relay()
        delivery = WebhookDelivery.objects.get()
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "failed"
        delivery.refresh_from_db()
        assert delivery.status == S.FAILED and delivery.attempts == 1 and delivery.last_status_code == status


def test_408_is_retried(in_a):
    with Receiver(Reply(408)) as receiver:
        endpoint(receiver.url)
        events_record([("order.placed", {"number": "N2"})])
        services.webhooks_relay()
        assert services.webhook_delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk) == "retrying"


def test_attempts_stop_after_the_maximum(in_a, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    with Receiver(Reply(502)) as receiver:
        endpoint(receiver.url)
        events_record([("order.placed", {"number": "M1"})])
        services.webhooks_relay()
        delivery = WebhookDelivery.objects.get()
        outcomes = []
        for _ in range(3):
            outcomes.append(services.webhook_delivery_attempt(delivery_id=delivery.pk))
            make_due(delivery)
        assert outcomes == ["retrying", "retrying", "failed"]


def test_an_endpoint_failing_for_the_configured_span_is_disabled_and_the_owners_are_emailed(
    in_a, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 60
    owner = make_staff(in_a, "owner@alpha.test", "Owner")
    make_staff(in_a, "clerk@alpha.test", "Warehouse Staff")
    with Receiver(Reply(500)) as receiver:
        ep, _ = endpoint(receiver.url)
        events_record([("order.placed", {"number": "D1"})])
        services.webhooks_relay()
        delivery = WebhookDelivery.objects.get()
        services.webhook_delivery_attempt(delivery_id=delivery.pk)
        ep.refresh_from_db()
        assert ep.is_active and ep.failing_since is not None  # the failure window opened
        WebhookEndpoint.objects.filter(pk=ep.pk).update(failing_since=timezone.now() - dt.timedelta(seconds=61))
        make_due(delivery)
        with django_capture_on_commit_callbacks(execute=True):
            services.webhook_delivery_attempt(delivery_id=delivery.pk)
        ep.refresh_from_db()
        assert not ep.is_active and ep.disabled_at is not None
        assert [m.to for m in mail.outbox] == [[owner.email]]
        assert receiver.url in mail.outbox[0].body
        # Disabled: nothing is sent, and new events get no deliveries.
        make_due(delivery)
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "endpoint_disabled"
        events_record([("order.paid", {"number": "D1"})])
        services.webhooks_relay()
        assert WebhookDelivery.objects.count() == 1


def test_a_success_closes_the_failure_window(in_a):
    with Receiver() as receiver:
        receiver.script.append(Reply(500))
        ep, _ = endpoint(receiver.url)
        events_record([("order.placed", {"number": "W1"})])
        services.webhooks_relay()
        delivery = WebhookDelivery.objects.get()
        services.webhook_delivery_attempt(delivery_id=delivery.pk)
        make_due(delivery)
        services.webhook_delivery_attempt(delivery_id=delivery.pk)
        ep.refresh_from_db()
        assert ep.failing_since is None


def test_the_relay_makes_one_delivery_per_subscribed_endpoint_and_never_a_second(in_a):
    orders, _ = endpoint("http://127.0.0.1:9/orders", ["order.*"])
    stock_low, _ = endpoint("http://127.0.0.1:9/stock", ["stock.low"])
    everything, _ = endpoint("http://127.0.0.1:9/all", ["*"])
    events_record(
        [
            ("order.placed", {"number": "X"}),
            ("stock.changed", {"variant_id": 1, "location_id": 1}),
            ("stock.low", {"variant_id": 1, "location_id": 1}),
        ]
    )
    assert services.webhooks_relay() == 3
    assert services.webhooks_relay() == 0  # published once
    OutboxEvent.objects.update(published_at=None)  # even if the events were relayed again
    services.webhooks_relay()
    got = sorted(WebhookDelivery.objects.values_list("endpoint_id", "topic"))
    assert got == sorted(
        [
            (orders.pk, "order.placed"),
            (stock_low.pk, "stock.low"),
            (everything.pk, "order.placed"),
            (everything.pk, "stock.changed"),
            (everything.pk, "stock.low"),
        ]
    )


@pytest.mark.slow
def test_concurrent_relays_split_the_outbox_and_no_event_is_delivered_twice(committed_db):
    from apps.tenants.models import Tenant

    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        endpoint("http://127.0.0.1:9/hook", ["*"])
        for start in range(0, 3000, 500):
            events_record([("stock.changed", {"variant_id": i, "location_id": 1}) for i in range(start, start + 500)])
    counts, errors = [], []

    def relay() -> None:
        try:
            with tenant_context(tenant):
                counts.append(services.webhooks_relay(batch_size=100))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with tenant_context(tenant):
        assert sum(counts) == 3000 and len([c for c in counts if c]) >= 2  # the work was shared
        assert WebhookDelivery.objects.count() == 3000
        assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


def test_an_aggregates_events_reach_an_endpoint_in_order(in_a):
    with Receiver() as receiver:
        receiver.script.append(Reply(503))  # the first event fails once
        endpoint(receiver.url)
        events_record([("order.placed", {"number": "O1"}), ("order.placed", {"number": "O2"})])
        events_record([("order.paid", {"number": "O1"})])
        events_record([("order.ready", {"number": "O1"})])
        services.webhooks_relay()
        first, other, paid, ready = WebhookDelivery.objects.order_by("event_id")
        assert services.webhook_delivery_attempt(delivery_id=first.pk) == "retrying"
        # While O1's first event waits for its retry, O1's later events wait; O2 goes.
        assert services.webhook_delivery_attempt(delivery_id=ready.pk) == "waiting"
        assert services.webhook_delivery_attempt(delivery_id=paid.pk) == "waiting"
        assert services.webhook_delivery_attempt(delivery_id=other.pk) == "succeeded"
        make_due(first)
        send_all()
        seen = [(r.json["data"]["number"], r.json["type"]) for r in receiver.received]
        o1 = [t for n, t in seen if n == "O1"]
        assert o1 == ["order.placed", "order.placed", "order.paid", "order.ready"]  # failed once, then in order


def test_replay_one_delivery_and_all_since_a_time(in_a):
    with Receiver() as receiver:
        ep, _ = endpoint(receiver.url)
        events_record([("order.placed", {"number": "P1"})])
        events_record([("order.placed", {"number": "P2"})])
        services.webhooks_relay()
        send_all()
        assert len(receiver.received) == 2
        one = WebhookDelivery.objects.order_by("event_id").first()
        services.webhook_delivery_replay(delivery=one)
        send_all()
        assert len(receiver.received) == 3 and receiver.ids()[2] == receiver.ids()[0]  # the same webhook-id
        count = services.webhook_endpoint_replay_since(endpoint=ep, since=timezone.now() - dt.timedelta(hours=1))
        send_all()
        assert count == 2 and len(receiver.received) == 5
        assert WebhookDelivery.objects.count() == 2  # replays reuse the deliveries


def test_a_ping_is_signed_and_recorded(in_a):
    with Receiver() as receiver:
        ep, secret = endpoint(receiver.url)
        attempt = services.webhook_endpoint_ping(endpoint=ep)
        assert attempt.succeeded and attempt.status_code == 200 and attempt.delivery is None
        assert verify(secret, receiver.received[0])["type"] == "webhook.ping"


def test_private_and_loopback_targets_are_refused_unless_allowed(in_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    for url in ("http://127.0.0.1:8000/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x"):
        with pytest.raises(WebhookTargetRefused):
            endpoint(url)
    settings.WEBHOOK_REQUIRE_HTTPS = True
    with pytest.raises(WebhookTargetRefused):
        endpoint("http://example.com/x")


def test_a_target_that_turned_private_is_refused_at_send_time_without_retry(in_a, settings):
    with Receiver() as receiver:
        endpoint(receiver.url)
        events_record([("order.placed", {"number": "S1"})])
        services.webhooks_relay()
        settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
        assert services.webhook_delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk) == "failed"
        assert receiver.received == []
