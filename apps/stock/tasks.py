"""Stock jobs, queued per tenant by the beat fan-out (see PERIODIC_TENANT_TASKS)."""

from celery import shared_task

from apps.stock.services import reorder_suggestions_compute, reservations_expire_due


@shared_task(name="stock.reservations_expire")
def reservations_expire_task() -> int:
    return reservations_expire_due()


@shared_task(name="stock.reorder_suggestions")
def reorder_suggestions_task() -> int:
    return reorder_suggestions_compute()


@shared_task(name="stock.restock_alerts_notify")
def restock_alerts_notify_task() -> int:
    """E-mail the locations' managers their open restock alerts not yet notified (one digest each)."""
    from apps.stock.notifications import restock_alerts_notify

    return restock_alerts_notify()
