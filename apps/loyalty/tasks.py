from celery import shared_task

from apps.loyalty.models import Account
from apps.loyalty.services import customer_evaluate, loyalty_nightly


@shared_task(name="loyalty.customer_evaluate")
def customer_evaluate_task(account_id: int) -> dict | None:
    """Achievements and the streak of one customer, after a paid order or a refund committed."""
    account = Account.objects.filter(pk=account_id).first()
    return customer_evaluate(account=account) if account is not None else None


@shared_task(name="loyalty.nightly")
def loyalty_nightly_task() -> dict | None:
    """Fanned out every hour; acts in a tenant from 03:00 local, once per local day."""
    run = loyalty_nightly()
    return {"run_date": run.run_date.isoformat(), "counts": run.counts} if run is not None else None
