from celery import shared_task

from apps.payments.services import payments_reconcile_creating


@shared_task(name="payments.reconcile_creating")
def payments_reconcile_creating_task() -> int:
    """Payments left `creating` by a crash mid-call adopt the intent Stripe made for them."""
    return payments_reconcile_creating()


@shared_task(name="payments.invoices_mark_overdue")
def invoices_mark_overdue_task() -> int:
    """Invoices past their due date become overdue; their accounts go on credit hold."""
    from apps.payments.invoices import invoices_mark_overdue

    return invoices_mark_overdue()
