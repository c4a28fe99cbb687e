"""Writes owned by the core app."""

from datetime import datetime

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from apps.core.models import IdempotencyKey

# Sent after the transaction that recorded outbox events committed, with `events` (the rows).
outbox_committed = Signal()


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete the current tenant's expired idempotency keys. Returns how many were deleted."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


def events_record(events: list[tuple[str, dict]]) -> None:
    """Write domain events to the outbox, in the caller's transaction (one INSERT; inside a
    request's `audit_batch` they join its single INSERT at the end of the request)."""
    from apps.core.audit import defer
    from apps.core.models import OutboxEvent

    if not events:
        return
    rows = [OutboxEvent(topic=t, payload=p) for t, p in events]
    if defer(OutboxEvent, rows):
        return
    OutboxEvent.objects.bulk_create(rows)
    outbox_announce(rows)


def outbox_announce(rows: list) -> None:
    """After the commit, listeners (live streams, the webhook relay's kick) hear of the written
    outbox rows at once."""
    from apps.core.models import OutboxEvent

    transaction.on_commit(lambda: outbox_committed.send(sender=OutboxEvent, events=rows))
