"""Webhook jobs: the relay (every minute per tenant through core.fan_out, and kicked right after a
commit that recorded events) and one delivery attempt."""

from celery import shared_task

from apps.integrations.services import webhook_delivery_attempt, webhooks_relay


@shared_task(name="integrations.webhooks_relay")
def webhooks_relay_task() -> int:
    """Scheduled: relay, then hand on everything due (retries, leases run out)."""
    return webhooks_relay()


@shared_task(name="integrations.webhooks_relay_kick")
def webhooks_relay_kick_task() -> int:
    """After a commit: relay and queue just the new deliveries."""
    return webhooks_relay(sweep=False)


@shared_task(name="integrations.webhook_delivery_attempt")
def webhook_delivery_attempt_task(delivery_id: int) -> str:
    return webhook_delivery_attempt(delivery_id=delivery_id)
