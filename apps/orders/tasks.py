from celery import shared_task

from apps.orders.services import orders_expire_unpaid


@shared_task(name="orders.expire_unpaid")
def orders_expire_unpaid_task() -> int:
    """Cancel unpaid orders past their payment window (their stock is released)."""
    return orders_expire_unpaid()
