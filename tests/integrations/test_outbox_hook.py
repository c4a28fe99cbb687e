"""After a commit that recorded outbox events: the live streams' XADDs and the relay kick's SET NX
go to Redis in one round trip; one relay is queued per tenant and window; Redis down is logged and
the committed change stands."""

import redis
from django.conf import settings
from django.db import transaction
from django_tenants.utils import tenant_context

from apps.core.audit import audit_batch, system_actor
from apps.core.models import OutboxEvent
from apps.core.redis import get_redis
from apps.core.services import events_record
from apps.integrations import signals
from apps.integrations.services import relay_kick_key


def _commit_event(topic, capture):
    with capture(execute=True), transaction.atomic(), audit_batch():
        events_record([(topic, {"n": 1})])


def test_one_relay_is_queued_per_window_and_the_kick_rides_with_the_streams(
    tenant_a, django_capture_on_commit_callbacks, monkeypatch
):
    queued, executes = [], []
    monkeypatch.setattr("apps.integrations.tasks.webhooks_relay_kick_task.delay", lambda: queued.append(1))
    real_execute = redis.client.Pipeline.execute

    def counting_execute(self, *args, **kwargs):
        executes.append(len(self.command_stack))
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", counting_execute)
    with tenant_context(tenant_a), system_actor("test"):
        get_redis(settings.REDIS_URL).delete(relay_kick_key(tenant_a.schema_name))
        _commit_event("test.kick.first", django_capture_on_commit_callbacks)
        _commit_event("test.kick.second", django_capture_on_commit_callbacks)
        assert get_redis(settings.REDIS_URL).ttl(relay_kick_key(tenant_a.schema_name)) > 0
    assert queued == [1]  # the second commit fell in the first one's window
    assert len(executes) == 2 and all(n >= 1 for n in executes)  # one round trip per commit


def test_redis_down_is_logged_and_the_committed_events_stand(
    tenant_a, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    queued = []
    monkeypatch.setattr("apps.integrations.tasks.webhooks_relay_kick_task.delay", lambda: queued.append(1))
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    monkeypatch.setattr(signals, "get_redis", lambda url: down)
    with tenant_context(tenant_a), system_actor("test"):
        _commit_event("test.kick.down", django_capture_on_commit_callbacks)
        assert OutboxEvent.objects.filter(topic="test.kick.down").exists()
    assert queued == []
    assert "kicking the webhook relay failed" in caplog.text
