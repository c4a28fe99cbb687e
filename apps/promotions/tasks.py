"""Promotion jobs, queued per tenant by the beat fan-out (see PERIODIC_TENANT_TASKS)."""

from celery import shared_task

from apps.promotions.services import birthday_coupons_issue, winback_coupons_issue


@shared_task(name="promotions.birthday_coupons_issue")
def birthday_coupons_issue_task() -> int:
    return birthday_coupons_issue()


@shared_task(name="promotions.winback_coupons_issue")
def winback_coupons_issue_task() -> int:
    return winback_coupons_issue()
