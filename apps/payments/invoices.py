"""Invoices of orders on account (wholesale credit terms) and the money received against them.

* **Issued** when an order on account is confirmed: at placement, or when staff release an order
  that waited on credit hold. Due on the issue day (the business's timezone) + the account's terms.
* **Open balance.** Every change of what an open or overdue invoice still owes (issue, payment,
  void, a repriced order) changes the account's open balance by the same amount in the same
  transaction, with the account row locked first and then the invoice (always in that order, so
  these writes never deadlock); see apps.accounts.credit.
* **Payments** are recorded by staff (bank transfer, cheque, ...): partial payments add up, a
  payment above what is still owed is refused (409 `overpayment`), the last one marks it paid.
* **Credit notes.** A return received on an order on account, or the order refunded, is a credit
  note against its invoice (InvoiceCredit), once per return or refund (its `source`): it settles
  what the invoice still owes first (`amount_credited`; the open balance goes down by as much),
  the rest (the invoice was paid) is the business's credit with us, for staff to pay back or set
  off. Never more is credited than the invoice was for.
* **Overdue.** A scheduled job marks invoices past their due date overdue and puts their accounts
  on credit hold: new orders on account then wait `on_hold` for staff. When no overdue invoice is
  left (paid, or void), the hold is lifted.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, F, Min, Q, Sum
from django.utils import timezone

from apps.accounts import credit
from apps.accounts.models import WholesaleAccount
from apps.core.errors import InvalidInput
from apps.orders.models import Order, ReturnRequest
from apps.payments.errors import InvoicePaymentNotPossible, Overpayment
from apps.payments.models import Invoice, InvoiceCredit, InvoicePayment

UNPAID = (Invoice.Status.OPEN, Invoice.Status.OVERDUE)
CENT = Decimal("0.01")


def tenant_today(at: dt.datetime | None = None) -> dt.date:
    """The business's calendar day at `at` (now): due dates and overdue follow its timezone."""
    name = getattr(getattr(connection, "tenant", None), "timezone", None) or "UTC"
    return (at or timezone.now()).astimezone(ZoneInfo(name)).date()


def invoice_issue(*, order: Order, account: WholesaleAccount) -> Invoice:
    """The invoice of an order on account, its amount added to the open balance. The caller holds
    the account's lock and has checked the credit limit (apps.accounts.credit.credit_check)."""
    now = timezone.now()
    invoice = Invoice.objects.create(
        number=f"INV-{order.number}",
        account=account,
        order=order,
        currency=order.currency,
        amount=order.total,
        issued_at=now,
        due_date=tenant_today(now) + dt.timedelta(days=account.payment_terms),
        payment_terms=account.payment_terms,
    )
    credit.credit_balance_change(account=account, delta=invoice.amount)
    return invoice


@transaction.atomic
def invoice_issue_on_release(*, order: Order) -> Invoice:
    """Staff release an order that waited on credit hold: the limit is checked again (the balance
    may have grown meanwhile) and the invoice issued."""
    account = credit.credit_account_lock(account_id=order.customer.wholesale_account_id)
    credit.credit_check(account=account, amount=order.total)
    return invoice_issue(order=order, account=account)


def _locked(invoice_id: int, account_id: int) -> tuple[WholesaleAccount, Invoice]:
    account = credit.credit_account_lock(account_id=account_id)
    return account, Invoice.objects.select_for_update().get(pk=invoice_id)


def _hold_lift_if_clear(account: WholesaleAccount) -> None:
    if account.credit_hold and not Invoice.objects.filter(account=account, status=Invoice.Status.OVERDUE).exists():
        credit.credit_hold_lift(account=account)


@transaction.atomic
def invoice_void_for_order(*, order: Order) -> Invoice | None:
    """The order on account was cancelled before its invoice was paid: the invoice is void and what
    it still owed leaves the open balance (money already received against it stays recorded, for
    staff to refund or credit). A refund is `invoice_credit_for_refund`."""
    found = Invoice.objects.filter(order=order).values_list("pk", "account_id").first()
    if found is None:
        return None
    account, invoice = _locked(*found)
    if invoice.status not in UNPAID:
        return invoice
    owed = invoice.amount_due
    invoice.status, invoice.voided_at = Invoice.Status.VOID, timezone.now()
    invoice.save(update_fields=["status", "voided_at"])
    credit.credit_balance_change(account=account, delta=-owed)
    _hold_lift_if_clear(account)
    return invoice


@transaction.atomic
def invoice_reprice_for_order(*, order: Order, total: Decimal) -> Invoice | None:
    """The lines of a confirmed order on account changed: its invoice follows the new total, and an
    increase must fit the credit limit like a new order."""
    found = Invoice.objects.filter(order=order).values_list("pk", "account_id").first()
    if found is None:
        return None
    account, invoice = _locked(*found)
    if invoice.status not in UNPAID:
        raise InvoicePaymentNotPossible(
            "The invoice of this order is already settled.", details={"invoice": invoice.number}
        )
    delta = total - invoice.amount
    if total < invoice.amount_paid + invoice.amount_credited:
        raise Overpayment(
            "More was already paid on this order's invoice than the new total.",
            details={"amount_paid": str(invoice.amount_paid), "new_total": str(total)},
        )
    if delta > 0:
        credit.credit_check(account=account, amount=delta)
    invoice.amount = total
    fields = ["amount"]
    if invoice.amount_due == 0:
        invoice.status, invoice.paid_at = Invoice.Status.PAID, timezone.now()
        fields += ["status", "paid_at"]
    invoice.save(update_fields=fields)
    credit.credit_balance_change(account=account, delta=delta)
    if invoice.status == Invoice.Status.PAID:
        _hold_lift_if_clear(account)
    return invoice


@transaction.atomic
def invoice_payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    reference: str = "",
    recorded_by: object | None = None,
) -> InvoicePayment:
    """Staff record money received against an invoice. Partial payments add up; more than the
    invoice still owes is refused; the payment that settles it marks it paid, lowers the open
    balance and, once no invoice of the account is overdue, lifts its credit hold."""
    amount = Decimal(amount)
    if amount <= 0 or amount != amount.quantize(CENT):
        raise InvalidInput(
            "A payment is a positive amount in cents.",
            code="validation_error",
            details={"amount": ["Positive, 2 decimals."]},
        )
    if method not in InvoicePayment.Method.values:
        raise InvalidInput(
            "Unknown payment method.",
            code="validation_error",
            details={"method": [f"One of {', '.join(InvoicePayment.Method.values)}."]},
        )
    account, locked = _locked(invoice.pk, invoice.account_id)
    if locked.status not in UNPAID:
        raise InvoicePaymentNotPossible(
            f"Invoice {locked.number} is {locked.status}: there is nothing to pay.",
            details={"status": locked.status},
        )
    if amount > locked.amount_due:
        raise Overpayment(
            f"Invoice {locked.number} still owes {locked.amount_due}; {amount} is more than that.",
            details={"amount": str(amount), "amount_due": str(locked.amount_due)},
        )
    payment = InvoicePayment.objects.create(
        invoice=locked,
        amount=amount,
        method=method,
        reference=reference[:120],
        recorded_by=recorded_by if getattr(recorded_by, "pk", None) else None,
    )
    _settle(account, locked, "amount_paid", amount)
    invoice.amount_paid, invoice.status, invoice.paid_at = locked.amount_paid, locked.status, locked.paid_at
    return payment


def _settle(account: WholesaleAccount, invoice: Invoice, field: str, amount: Decimal) -> None:
    """`amount` more paid or credited on the locked invoice: paid once nothing is due, the account's
    open balance down by as much, and its credit hold lifted if nothing is overdue any more."""
    setattr(invoice, field, getattr(invoice, field) + amount)
    fields = [field]
    if invoice.amount_due == 0:
        invoice.status, invoice.paid_at = Invoice.Status.PAID, timezone.now()
        fields += ["status", "paid_at"]
    invoice.save(update_fields=fields)
    credit.credit_balance_change(account=account, delta=-amount)
    if invoice.status == Invoice.Status.PAID:
        _hold_lift_if_clear(account)


def invoice_of_order(*, order: Order) -> Invoice | None:
    return Invoice.objects.filter(order=order).first()


def _credit(
    account: WholesaleAccount, invoice: Invoice, *, source: str, amount: Decimal, reason: str
) -> InvoiceCredit | None:
    """A credit note of `amount` (at most what the invoice was for and is not credited yet) against
    the locked invoice: what it still owes first, the rest the account's credit. Once per `source`:
    the note already made for it is returned and nothing changes."""
    existing = InvoiceCredit.objects.filter(source=source).first()
    if existing is not None:
        return existing
    credited = InvoiceCredit.objects.filter(invoice=invoice).aggregate(total=Sum("amount", default=Decimal("0")))
    amount = min(amount, invoice.amount - credited["total"])
    if amount <= 0:
        return None
    applied = min(amount, invoice.amount_due) if invoice.status in UNPAID else Decimal("0")
    note = InvoiceCredit.objects.create(invoice=invoice, source=source, amount=amount, applied=applied, reason=reason)
    if applied:
        _settle(account, invoice, "amount_credited", applied)
    return note


@transaction.atomic
def invoice_credit_for_return(*, request: ReturnRequest) -> InvoiceCredit | None:
    """A return of an order on account was received: its refund is a credit note against the
    order's invoice (none for a void invoice, one already fully credited, or nothing refunded).
    Applying the same return again credits nothing more."""
    found = Invoice.objects.filter(order_id=request.order_id).values_list("pk", "account_id").first()
    if found is None or request.refund_amount <= 0:
        return None
    account, invoice = _locked(*found)
    if invoice.status == Invoice.Status.VOID:
        return None
    return _credit(
        account,
        invoice,
        source=f"return-{request.pk}",
        amount=request.refund_amount,
        reason=f"return {request.pk} of order {request.order.number}",
    )


@transaction.atomic
def invoice_credit_for_refund(*, order: Order) -> InvoiceCredit | None:
    """The order on account was refunded. An unpaid invoice is void (what it still owed leaves the
    open balance); the money already received against it, less what earlier credit notes already
    gave back, is a credit note to the account. Applying the same refund again changes nothing."""
    found = Invoice.objects.filter(order=order).values_list("pk", "account_id").first()
    if found is None:
        return None
    account, invoice = _locked(*found)
    if invoice.status == Invoice.Status.VOID and not invoice.amount_paid:
        return None
    source = f"refund-{order.pk}"
    if invoice.status in UNPAID:
        owed = invoice.amount_due
        invoice.status, invoice.voided_at = Invoice.Status.VOID, timezone.now()
        invoice.save(update_fields=["status", "voided_at"])
        credit.credit_balance_change(account=account, delta=-owed)
        _hold_lift_if_clear(account)
    unapplied = InvoiceCredit.objects.filter(invoice=invoice).aggregate(
        total=Sum(F("amount") - F("applied"), default=Decimal("0"))
    )["total"]
    return _credit(
        account,
        invoice,
        source=source,
        amount=invoice.amount_paid - unapplied,
        reason=f"order {order.number} refunded",
    )


def invoices_mark_overdue(*, now: dt.datetime | None = None) -> int:
    """Invoices still open after their due date (the business's day) become overdue and their
    accounts go on credit hold. Accounts are locked before their invoices, as every other invoice
    write does. Returns how many invoices became overdue."""
    today = tenant_today(now)
    due = Invoice.objects.filter(status=Invoice.Status.OPEN, due_date__lt=today)
    account_ids = sorted(set(due.values_list("account_id", flat=True)))
    if not account_ids:
        return 0
    with transaction.atomic():
        credit.credit_accounts_lock(account_ids=account_ids)
        # The status condition is re-checked after any row lock wait: an invoice paid meanwhile stays paid.
        # Every invoice write locks its account first: with these locks held the set cannot change.
        due = due.filter(account_id__in=account_ids)
        holds = sorted(set(due.values_list("account_id", flat=True)))
        count = due.update(status=Invoice.Status.OVERDUE, overdue_at=timezone.now())
        credit.credit_hold_place(account_ids=holds)
    return count


def invoice_totals(*, account: WholesaleAccount) -> dict:
    """Counts and sums of the account's unpaid invoices (one query), and its account credit: the
    credit notes not set against an invoice (a second one)."""
    row = Invoice.objects.filter(account=account, status__in=UNPAID).aggregate(
        open_invoices=Count("pk", filter=Q(status=Invoice.Status.OPEN)),
        overdue_invoices=Count("pk", filter=Q(status=Invoice.Status.OVERDUE)),
        overdue_amount=Sum(
            F("amount") - F("amount_paid") - F("amount_credited"),
            filter=Q(status=Invoice.Status.OVERDUE),
            default=Decimal("0"),
        ),
        next_due_date=Min("due_date"),
    )
    row["account_credit"] = InvoiceCredit.objects.filter(invoice__account=account).aggregate(
        total=Sum(F("amount") - F("applied"), default=Decimal("0"))
    )["total"]
    return row
