"""After a commit that recorded outbox events: publish them on the live streams and kick the webhook
relay (debounced per tenant), so deliveries do not wait for the minute's scheduled relay."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.dispatch import receiver

from apps.core.redis import get_redis
from apps.core.services import outbox_committed
from apps.integrations.services import relay_kick_key
from apps.integrations.streams import streams_publish

logger = logging.getLogger(__name__)
KICK_SECONDS = 5  # at most one queued relay per tenant in this window (the relay clears it first)


@receiver(outbox_committed, dispatch_uid="integrations.outbox_committed")
def _on_outbox_committed(sender: object, events: list, **kwargs: object) -> None:
    schema = connection.schema_name
    try:
        streams_publish(schema=schema, events=[(e.pk, e.topic, e.payload) for e in events])
    except Exception:  # the change is committed; a live stream missing it must not fail the request
        logger.exception("Publishing %d events to the live streams failed", len(events))
    try:
        if get_redis(settings.REDIS_URL).set(relay_kick_key(schema), "1", nx=True, ex=KICK_SECONDS):
            from apps.integrations.tasks import webhooks_relay_kick_task

            webhooks_relay_kick_task.delay()
    except Exception:  # the scheduled relay picks the events up within a minute
        logger.exception("Kicking the webhook relay failed")
