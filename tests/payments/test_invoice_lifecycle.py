"""Invoices of orders on account after the sale: a return or a refund is a credit note against the
invoice (what it still owes first, the rest the business's credit), once per return or refund, and
an order on account is never marked paid except through its invoice. After each step the open
balance equals what the open and overdue invoices still owe."""

from __future__ import annotations

from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django_tenants.utils import tenant_context

from apps.orders.models import ReturnRequest
from apps.payments import invoices
from apps.payments.models import Invoice, InvoiceCredit
from tests import factories as f
from tests.accounts.test_credit_terms import (
    _make_overdue,
    assert_balance_is_the_unpaid_invoices,
    business,
    fresh,
    order_on_account,
    pay,
    staff,
)


@pytest.fixture
def shop(tenant_a):
    with tenant_context(tenant_a):
        store = f.location(code="lifecycle-store", pickup_enabled=True)
        chips = f.variant(sku="CREDIT-CHIPS", price="10.00")
        f.receive(store, chips, 1000)
    return {"tenant": tenant_a, "store": store, "chips": chips}


def move(owner: Client, order_id: int, *steps: str) -> None:
    for to in steps:
        response = owner.post(f"/api/v1/orders/{order_id}/transitions", {"to": to}, content_type="application/json")
        assert response.status_code == 200, (to, response.content)


def completed_on_account(shop, quantity: int = 3, *, limit: str = "1000.00"):
    """A business, its completed pickup order on account and the order's invoice."""
    account, buyer = business(shop["tenant"], limit=limit)
    placed = order_on_account(buyer, shop, quantity=quantity)
    assert placed.status_code == 201, placed.content
    order = placed.json()
    owner = staff(shop["tenant"])
    move(owner, order["id"], "preparing", "ready", "completed")
    with tenant_context(shop["tenant"]):
        invoice = Invoice.objects.get(order_id=order["id"])
    return account, buyer, owner, order, invoice


def return_received(buyer: Client, owner: Client, order_id: int, quantity: int = 1) -> dict:
    requested = buyer.post(
        f"/api/v1/orders/{order_id}/returns",
        {"reason": "damp", "lines": [{"sku": "CREDIT-CHIPS", "quantity": quantity}]},
        content_type="application/json",
    )
    assert requested.status_code == 201, requested.content
    ret = requested.json()
    decided = owner.post(f"/api/v1/returns/{ret['id']}/decision", {"approve": True}, content_type="application/json")
    assert decided.status_code == 200, decided.content
    received = owner.post(
        f"/api/v1/returns/{ret['id']}/receive",
        {"lines": [{"line_id": ret["lines"][0]["id"], "quantity": quantity, "condition": "resaleable"}]},
        content_type="application/json",
    )
    assert received.status_code == 200, received.content
    return received.json()


def invoice_of(tenant, invoice: Invoice) -> Invoice:
    with tenant_context(tenant):
        return Invoice.objects.get(pk=invoice.pk)


def test_a_return_received_on_an_unpaid_invoice_credits_it_and_lowers_the_open_balance(shop):
    account, buyer, owner, order, invoice = completed_on_account(shop)
    total = Decimal(order["total"])
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == total

    ret = return_received(buyer, owner, order["id"])

    refund = Decimal(ret["refund_amount"])
    assert 0 < refund < total
    credited = invoice_of(shop["tenant"], invoice)
    assert (credited.status, credited.amount, credited.amount_paid, credited.amount_credited) == (
        "open",
        total,
        0,
        refund,
    )
    assert credited.amount_due == total - refund
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == total - refund
    detail = buyer.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (detail["amount_credited"], detail["amount_due"]) == (str(refund), str(total - refund))
    assert [(c["source"], c["amount"], c["applied"], c["unapplied"]) for c in detail["credits"]] == [
        (f"return-{ret['id']}", str(refund), str(refund), "0.00")
    ]
    summary = buyer.get("/api/v1/wholesale/account/credit").json()
    assert (summary["open_balance"], summary["account_credit"]) == (str(total - refund), "0.00")
    # Audited like the other invoice writes: the credit note and the invoice change, by the staff user.
    with tenant_context(shop["tenant"]):
        note = InvoiceCredit.objects.get(invoice=invoice)
        (created,) = LogEntry.objects.get_for_object(note)
        changed = LogEntry.objects.get_for_object(credited).get(action=LogEntry.Action.UPDATE)
    assert created.action == LogEntry.Action.CREATE
    assert changed.changes["amount_credited"] == ["0.00", str(refund)]
    assert changed.additional_data["actor"]["kind"] == "user"


def test_a_return_on_a_paid_invoice_is_account_credit_and_the_balance_stays_zero(shop):
    account, buyer, owner, order, invoice = completed_on_account(shop)
    assert pay(owner, invoice.pk, order["total"]).json()["invoice"]["status"] == "paid"
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0

    ret = return_received(buyer, owner, order["id"])

    refund = Decimal(ret["refund_amount"])
    after = invoice_of(shop["tenant"], invoice)
    assert (after.status, after.amount_credited, after.amount_due) == ("paid", 0, 0)
    with tenant_context(shop["tenant"]):
        note = InvoiceCredit.objects.get(invoice=invoice)
    assert (note.amount, note.applied, note.unapplied) == (refund, 0, refund)
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0
    summary = buyer.get("/api/v1/wholesale/account/credit").json()
    assert (summary["open_balance"], summary["account_credit"]) == ("0.00", str(refund))


def test_a_return_worth_more_than_is_still_owed_settles_the_invoice_lifts_the_hold_and_credits_the_rest(shop):
    account, buyer, owner, order, invoice = completed_on_account(shop)
    total = Decimal(order["total"])
    pay(owner, invoice.pk, str(total - Decimal("1.00")))  # one dollar still owed
    _make_overdue(shop["tenant"], invoice.pk)
    with tenant_context(shop["tenant"]):
        assert invoices.invoices_mark_overdue() == 1
    assert fresh(shop["tenant"], account).credit_hold

    ret = return_received(buyer, owner, order["id"])

    refund = Decimal(ret["refund_amount"])
    assert refund > 1
    after = invoice_of(shop["tenant"], invoice)
    assert (after.status, after.amount_credited, after.amount_due) == ("paid", Decimal("1.00"), 0)
    assert after.paid_at is not None
    with tenant_context(shop["tenant"]):
        note = InvoiceCredit.objects.get(invoice=invoice)
    assert (note.applied, note.unapplied) == (Decimal("1.00"), refund - Decimal("1.00"))
    assert not fresh(shop["tenant"], account).credit_hold
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0


def test_the_same_return_applied_twice_credits_once(shop):
    account, buyer, owner, order, invoice = completed_on_account(shop)
    total = Decimal(order["total"])
    ret = return_received(buyer, owner, order["id"])
    refund = Decimal(ret["refund_amount"])

    with tenant_context(shop["tenant"]):
        again = invoices.invoice_credit_for_return(request=ReturnRequest.objects.get(pk=ret["id"]))
        notes = list(InvoiceCredit.objects.filter(invoice=invoice))
    received_twice = owner.post(
        f"/api/v1/returns/{ret['id']}/receive",
        {"lines": [{"line_id": ret["lines"][0]["id"], "quantity": 1, "condition": "resaleable"}]},
        content_type="application/json",
    )

    assert notes == [again] and again.amount == refund
    assert received_twice.status_code == 409 and received_twice.json()["error"]["code"] == "invalid_transition"
    assert invoice_of(shop["tenant"], invoice).amount_credited == refund
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == total - refund


def test_the_same_refund_applied_twice_credits_once(shop):
    account, buyer, owner, order, invoice = completed_on_account(shop)
    total = Decimal(order["total"])
    pay(owner, invoice.pk, order["total"])

    move(owner, order["id"], "refunded")
    with tenant_context(shop["tenant"]):
        from apps.orders.models import Order

        again = invoices.invoice_credit_for_refund(order=Order.objects.get(pk=order["id"]))
        notes = list(InvoiceCredit.objects.filter(invoice=invoice))
    refunded_twice = owner.post(
        f"/api/v1/orders/{order['id']}/transitions", {"to": "refunded"}, content_type="application/json"
    )

    assert notes == [again]
    assert (again.source, again.amount, again.applied) == (f"refund-{order['id']}", total, 0)
    assert refunded_twice.status_code == 409
    assert invoice_of(shop["tenant"], invoice).status == "paid"
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0
    assert buyer.get("/api/v1/wholesale/account/credit").json()["account_credit"] == str(total)


def test_refunding_an_order_with_a_partly_paid_invoice_voids_it_and_credits_what_was_paid(shop):
    account, _buyer, owner, order, invoice = completed_on_account(shop)
    pay(owner, invoice.pk, "5.00")

    move(owner, order["id"], "refunded")

    after = invoice_of(shop["tenant"], invoice)
    assert (after.status, after.amount_paid) == ("void", Decimal("5.00"))
    with tenant_context(shop["tenant"]):
        note = InvoiceCredit.objects.get(invoice=invoice)
    assert (note.amount, note.applied, note.unapplied) == (Decimal("5.00"), 0, Decimal("5.00"))
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0
    assert fresh(shop["tenant"], account).open_balance == 0


def test_a_return_then_a_refund_never_credit_more_than_the_invoice(shop):
    account, buyer, owner, order, invoice = completed_on_account(shop)
    total = Decimal(order["total"])
    pay(owner, invoice.pk, order["total"])
    ret = return_received(buyer, owner, order["id"])

    move(owner, order["id"], "refunded")

    with tenant_context(shop["tenant"]):
        notes = {n.source: n.amount for n in InvoiceCredit.objects.filter(invoice=invoice)}
        late = invoices.invoice_credit_for_return(request=ReturnRequest.objects.get(pk=ret["id"]))
    refund = Decimal(ret["refund_amount"])
    assert notes == {f"return-{ret['id']}": refund, f"refund-{order['id']}": total - refund}
    assert sum(notes.values()) == total
    assert late.amount == refund  # the return's note, not a new one
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0
    assert buyer.get("/api/v1/wholesale/account/credit").json()["account_credit"] == str(total)


def test_a_return_of_an_unpaid_invoice_then_a_refund_voids_only_what_is_still_owed(shop):
    account, buyer, owner, order, invoice = completed_on_account(shop)
    ret = return_received(buyer, owner, order["id"])
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == Decimal(order["total"]) - Decimal(
        ret["refund_amount"]
    )

    move(owner, order["id"], "refunded")

    assert invoice_of(shop["tenant"], invoice).status == "void"
    with tenant_context(shop["tenant"]):
        assert InvoiceCredit.objects.filter(invoice=invoice).count() == 1  # nothing was paid: no refund note
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0
    assert fresh(shop["tenant"], account).open_balance == 0


def test_marking_an_order_on_account_paid_is_refused_and_points_to_its_invoice(shop):
    account, buyer = business(shop["tenant"])
    order = order_on_account(buyer, shop).json()
    with tenant_context(shop["tenant"]):
        invoice = Invoice.objects.get(order_id=order["id"])
    owner = staff(shop["tenant"])

    refused = owner.post(
        f"/api/v1/orders/{order['id']}/transitions",
        {"to": "paid", "reason": "cheque"},
        content_type="application/json",
    )

    assert refused.status_code == 409, refused.content
    error = refused.json()["error"]
    assert error["code"] == "invalid_transition"
    assert error["details"] == {"from": "confirmed", "to": "paid", "invoice_id": invoice.pk, "invoice": invoice.number}
    assert f"/invoices/{invoice.pk}/payments" in error["message"]
    assert owner.get(f"/api/v1/orders/{order['id']}").json()["status"] == "confirmed"
    assert invoice_of(shop["tenant"], invoice).status == "open"
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == Decimal(order["total"])
    # Recording the payment on the invoice is the way: it closes the invoice and the balance with it.
    assert pay(owner, invoice.pk, order["total"]).json()["invoice"]["status"] == "paid"
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0
