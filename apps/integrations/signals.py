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
from apps.integrations.streams import streams_queue

logger = logging.getLogger(__name__)
KICK_SECONDS = 5  # at most one queued relay per tenant in this window (the relay clears it first)


@receiver(outbox_committed, dispatch_uid="integrations.outbox_committed")
def _on_outbox_committed(sender: object, events: list, **kwargs: object) -> None:
    """The streams' XADDs and the relay kick's SET NX in one Redis round trip (after every commit
    that recorded events: every order placed). Redis down or a command refused is logged, never
    raised: the change is committed, the scheduled relay picks the events up within a minute."""
    schema = connection.schema_name
    try:
        pipe = get_redis(settings.REDIS_URL).pipeline(transaction=False)
        queued = streams_queue(pipe, schema=schema, events=[(e.pk, e.topic, e.payload) for e in events])
        pipe.set(relay_kick_key(schema), "1", nx=True, ex=KICK_SECONDS)
        *published, kick = pipe.execute(raise_on_error=False)
    except Exception:
        logger.exception("Publishing %d events to the live streams and kicking the webhook relay failed", len(events))
        return
    failed = [result for result in published if isinstance(result, Exception)]
    if failed:
        logger.error("Publishing to the live streams failed for %d of %d entries: %s", len(failed), queued, failed[0])
    if isinstance(kick, Exception):
        logger.error("Kicking the webhook relay failed: %s", kick)
        return
    if kick:  # the first commit in this tenant's window: queue one relay
        try:
            from apps.integrations.tasks import webhooks_relay_kick_task

            webhooks_relay_kick_task.delay()
        except Exception:
            logger.exception("Kicking the webhook relay failed")
