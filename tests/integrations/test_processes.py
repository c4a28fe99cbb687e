"""A relay or a worker killed (SIGKILL, real processes) mid-work loses no event and doubles no
delivery: the relay's batch rolls back, the worker's lease runs out and the sweep hands it on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from apps.core.models import OutboxEvent
from apps.core.services import events_record
from apps.integrations import services
from apps.integrations.models import WebhookDelivery
from apps.tenants.models import Tenant
from tests.conftest import TENANT_A
from tests.integrations.receiver import Receiver, Reply
from tests.integrations.test_streams import database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _env(**extra: str) -> dict:
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "TEST_REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "ERROR",
        **extra,
    }


def _wait(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def test_the_db_is_ready(db):  # first in the module: sets the test database up (see test_streams)
    assert connection.vendor == "postgresql"


RELAY = """
import django; django.setup()
from django_tenants.utils import schema_context
from apps.integrations.services import webhooks_relay
with schema_context("%s"):
    webhooks_relay(batch_size=20)
"""


def test_a_relay_killed_mid_batch_loses_and_doubles_nothing(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        for n in range(2):
            services.webhook_endpoint_create(url=f"http://127.0.0.1:9/{n}", event_types=["*"])
        for start in range(0, 6000, 1000):
            events_record([("stock.changed", {"variant_id": i, "location_id": 1}) for i in range(start, start + 1000)])
        relay = subprocess.Popen([sys.executable, "-c", RELAY % TENANT_A.schema], cwd=ROOT, env=_env())
        try:
            assert _wait(lambda: WebhookDelivery.objects.exists(), 30, 0.01)
            relay.send_signal(signal.SIGKILL)
            relay.wait(10)
        finally:
            if relay.poll() is None:
                relay.kill()
        published = OutboxEvent.objects.filter(published_at__isnull=False).count()
        assert 0 < published < 6000  # killed part-way
        assert WebhookDelivery.objects.count() == 2 * published  # its open batch rolled back whole
        services.webhooks_relay()  # another relay finishes the job
        assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
        assert WebhookDelivery.objects.count() == 12000
        assert WebhookDelivery.objects.values("endpoint", "event").distinct().count() == 12000


def _worker() -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "ERROR"]
    return subprocess.Popen(command, cwd=ROOT, env=_env(WEBHOOK_LEASE_SECONDS="2"))


def test_a_worker_killed_mid_delivery_loses_nothing_and_the_receiver_sees_one_webhook_id_per_event(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with Receiver() as receiver, tenant_context(tenant):
        receiver.script.append(Reply(200, delay=3))  # the first request hangs: the worker dies in it
        services.webhook_endpoint_create(url=receiver.url, event_types=["order.*"])
        for n in range(20):
            events_record([("order.placed", {"number": f"K{n:02d}"})])
        services.webhooks_relay()  # 20 deliveries, queued
        first = _worker()
        second = None
        try:
            assert _wait(lambda: len(receiver.received) >= 1, 30)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            in_flight = WebhookDelivery.objects.get(status=WebhookDelivery.Status.SENDING)
            second = _worker()
            time.sleep(2.2)  # the dead worker's lease runs out
            services.webhook_deliveries_queue_due()  # what the minute's relay does
            done = lambda: WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED).count() == 20  # noqa: E731
            assert _wait(done, 40, 0.2)
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(10)
        ids = receiver.ids()
        events = list(OutboxEvent.objects.order_by("id").values_list("pk", flat=True))
        assert sorted(set(ids)) == sorted(f"evt_{TENANT_A.schema}_{pk}" for pk in events)  # none lost
        # At least once: only the request the worker died in was sent twice, with the same id.
        doubled = {i for i in ids if ids.count(i) > 1}
        assert doubled == {f"evt_{TENANT_A.schema}_{in_flight.event_id}"} and len(ids) == 21
        assert WebhookDelivery.objects.count() == 20
