"""Stock jobs, queued per tenant by the beat fan-out (see PERIODIC_TENANT_TASKS)."""

from celery import shared_task

from apps.stock.services import reorder_suggestions_compute, reservations_expire_due


@shared_task(name="stock.reservations_expire")
def reservations_expire_task() -> int:
    return reservations_expire_due()


@shared_task(name="stock.reorder_suggestions")
def reorder_suggestions_task() -> int:
    return reorder_suggestions_compute()
