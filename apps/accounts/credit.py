"""Credit terms of wholesale accounts: the credit limit, the open balance and the credit hold.

The open balance is a column kept in step with the invoices (apps.payments.invoices): every write
that changes what an open or overdue invoice still owes changes the balance by the same amount, in
the same transaction, with the account row locked (`credit_account_lock`). A database check keeps
it from going negative. Locking the account row is also what makes the limit hold under
concurrency: two orders on account of one business are checked one after the other, each seeing
the balance the other left, so they cannot both squeeze under the limit.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from apps.accounts.errors import CreditLimitExceeded
from apps.accounts.models import WholesaleAccount


def credit_account_lock(*, account_id: int) -> WholesaleAccount:
    """The account row, locked until the caller's transaction ends (call inside one)."""
    return WholesaleAccount.objects.select_for_update().get(pk=account_id)


def credit_accounts_lock(*, account_ids: list[int]) -> list[int]:
    """Lock several account rows, in primary-key order (so two such callers never deadlock)."""
    return list(
        WholesaleAccount.objects.select_for_update()
        .filter(pk__in=account_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def credit_check(*, account: WholesaleAccount, amount: Decimal) -> None:
    """Refuse (409 `credit_limit_exceeded`) an amount on account that would take the open balance
    above the limit; exactly at the limit is allowed. `account` must be locked."""
    if account.open_balance + amount > account.credit_limit:
        raise CreditLimitExceeded(
            f"This order of {amount} would take {account.name} over its credit limit "
            f"({account.available_credit} of {account.credit_limit} available).",
            details={
                "credit_limit": str(account.credit_limit),
                "open_balance": str(account.open_balance),
                "order_total": str(amount),
                "available_credit": str(account.available_credit),
            },
        )


def credit_balance_change(*, account: WholesaleAccount, delta: Decimal) -> WholesaleAccount:
    """Add `delta` (negative: money received or an invoice voided) to the locked account's open
    balance; called only by the invoice services, in their transaction."""
    if delta:
        WholesaleAccount.objects.filter(pk=account.pk).update(open_balance=F("open_balance") + delta)
        account.open_balance += delta
    return account


def credit_hold_place(*, account_ids: list[int]) -> int:
    """Put these accounts on credit hold (an invoice is overdue). Returns how many were not already."""
    return WholesaleAccount.objects.filter(pk__in=account_ids, credit_hold=False).update(
        credit_hold=True, credit_hold_at=timezone.now()
    )


def credit_hold_lift(*, account: WholesaleAccount) -> WholesaleAccount:
    """Lift the hold of the locked account (its overdue invoices are paid or void)."""
    if account.credit_hold:
        WholesaleAccount.objects.filter(pk=account.pk).update(credit_hold=False, credit_hold_at=None)
        account.credit_hold, account.credit_hold_at = False, None
    return account


def credit_summary(*, account: WholesaleAccount) -> dict:
    """What the business may still order on account, and what it owes."""
    from apps.payments.invoices import invoice_totals

    return {
        "account_id": account.pk,
        "name": account.name,
        "credit_limit": account.credit_limit,
        "payment_terms": account.payment_terms,
        "open_balance": account.open_balance,
        "available_credit": account.available_credit,
        "credit_hold": account.credit_hold,
        "credit_hold_at": account.credit_hold_at,
        **invoice_totals(account=account),
    }
