from celery import shared_task

from apps.payments.services import payments_reconcile_creating


@shared_task(name="payments.reconcile_creating")
def payments_reconcile_creating_task() -> int:
    """Payments left `creating` by a crash mid-call adopt the intent Stripe made for them."""
    return payments_reconcile_creating()
