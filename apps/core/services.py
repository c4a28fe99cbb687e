"""Writes owned by the core app."""

from datetime import datetime

from django.utils import timezone

from apps.core.models import IdempotencyKey


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete the current tenant's expired idempotency keys. Returns how many were deleted."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


def events_record(events: list[tuple[str, dict]]) -> None:
    """Write domain events to the outbox, in the caller's transaction (one INSERT)."""
    from apps.core.models import OutboxEvent

    if events:
        OutboxEvent.objects.bulk_create([OutboxEvent(topic=topic, payload=payload) for topic, payload in events])
