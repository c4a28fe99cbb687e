"""Wholesale credit terms: the credit limit on orders on account (to the cent, and under
concurrency), invoices with net 15/30/60 due dates, staff payments (partial, full, overpaid), the
overdue job's credit hold and held orders, and who may see which invoices."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts import services as account_services
from apps.accounts.models import WholesaleAccount
from apps.orders.models import Order
from apps.payments.invoices import invoices_mark_overdue
from apps.payments.models import Invoice, InvoicePayment
from apps.payments.tasks import invoices_mark_overdue_task
from apps.stock.models import StockItem
from apps.tenants.models import Tenant
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A

CHIPS_PRICE = "10.00"


@pytest.fixture
def shop(tenant_a):
    with tenant_context(tenant_a):
        store = f.location(code="credit-store", pickup_enabled=True)
        chips = f.variant(sku="CREDIT-CHIPS", price=CHIPS_PRICE)
        f.receive(store, chips, 1000)
    return {"tenant": tenant_a, "store": store, "chips": chips}


def business(tenant, *, limit: str = "1000.00", terms: int = 30, approved: bool = True, name: str = "Corner Deli"):
    """An approved business account with one buyer: (account, buyer client)."""
    with tenant_context(tenant):
        account = WholesaleAccount.objects.create(
            name=name,
            tax_id="12-3456789",
            billing_address="1 Main St",
            is_approved=approved,
            approved_at=timezone.now() if approved else None,
            credit_limit=Decimal(limit),
            payment_terms=terms,
        )
        buyer = p.user_of_kind("wholesale", wholesale_account=account)
        pair = account_services.session_start(user=buyer)
    return account, Client(HTTP_HOST=TENANT_A.domain, **p.bearer(pair.access))


def staff(tenant, role: str = "owner") -> Client:
    return Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(tenant, role))


def order_on_account(client: Client, shop, quantity: int = 1, *, on_account: bool = True):
    return client.post(
        "/api/v1/orders",
        {
            "fulfilment": "pickup",
            "location_id": shop["store"].pk,
            "on_account": on_account,
            "lines": [{"sku": "CREDIT-CHIPS", "quantity": quantity}],
        },
        content_type="application/json",
    )


def pay(client: Client, invoice_id: int, amount: str, method: str = "bank_transfer"):
    return client.post(
        f"/api/v1/invoices/{invoice_id}/payments",
        {"amount": amount, "method": method, "reference": f"TX-{uuid.uuid4().hex[:6]}"},
        content_type="application/json",
    )


def fresh(tenant, account: WholesaleAccount) -> WholesaleAccount:
    with tenant_context(tenant):
        return WholesaleAccount.objects.get(pk=account.pk)


def assert_balance_is_the_unpaid_invoices(tenant, account: WholesaleAccount) -> Decimal:
    """The open balance column equals what the account's open and overdue invoices still owe (less
    what credit notes settled)."""
    with tenant_context(tenant):
        owed = Invoice.objects.filter(account=account, status__in=["open", "overdue"]).aggregate(
            owed=Sum(F("amount") - F("amount_paid") - F("amount_credited"), default=Decimal("0"))
        )["owed"]
        balance = WholesaleAccount.objects.get(pk=account.pk).open_balance
    assert balance == owed
    return balance


def total_of_one(shop) -> Decimal:
    """What one unit costs on account (tax included as the tenant adds it), learnt from a real order
    that is then cancelled (its invoice void, the balance back to zero)."""
    account, buyer = business(shop["tenant"], limit="100000.00", name="Probe")
    placed = order_on_account(buyer, shop)
    assert placed.status_code == 201, placed.content
    cancelled = buyer.post(f"/api/v1/orders/{placed.json()['id']}/cancel", content_type="application/json")
    assert cancelled.status_code == 200, cancelled.content
    with tenant_context(shop["tenant"]):
        assert Invoice.objects.get(order_id=placed.json()["id"]).status == "void"
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0
    return Decimal(placed.json()["total"])


def test_an_order_one_cent_over_the_available_credit_is_refused_with_the_figures(shop):
    total = total_of_one(shop)
    account, buyer = business(shop["tenant"], limit=str(total - Decimal("0.01")))

    refused = order_on_account(buyer, shop)

    assert refused.status_code == 409, refused.content
    error = refused.json()["error"]
    assert error["code"] == "credit_limit_exceeded"
    assert error["details"] == {
        "credit_limit": str(total - Decimal("0.01")),
        "open_balance": "0.00",
        "order_total": str(total),
        "available_credit": str(total - Decimal("0.01")),
    }
    with tenant_context(shop["tenant"]):
        assert not Order.objects.filter(customer__wholesale_account=account).exists()
        assert not Invoice.objects.filter(account=account).exists()
        assert StockItem.objects.get(variant=shop["chips"], location=shop["store"]).reserved == 0
    assert fresh(shop["tenant"], account).open_balance == 0


def test_an_order_exactly_at_the_limit_is_accepted_and_invoiced_and_the_next_cent_is_not(shop):
    total = total_of_one(shop)
    account, buyer = business(shop["tenant"], limit=str(total))

    placed = order_on_account(buyer, shop)

    assert placed.status_code == 201, placed.content
    assert (placed.json()["status"], placed.json()["on_account"]) == ("confirmed", True)
    with tenant_context(shop["tenant"]):
        invoice = Invoice.objects.get(order_id=placed.json()["id"])
        assert (invoice.account_id, invoice.amount, invoice.amount_paid, invoice.status) == (
            account.pk,
            total,
            0,
            "open",
        )
        assert invoice.number == f"INV-{placed.json()['number']}"
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == total
    summary = buyer.get("/api/v1/wholesale/account/credit").json()
    assert (summary["open_balance"], summary["available_credit"], summary["open_invoices"]) == (str(total), "0.00", 1)
    again = order_on_account(buyer, shop)
    assert again.status_code == 409 and again.json()["error"]["details"]["available_credit"] == "0.00"


@pytest.mark.parametrize("terms", [15, 30, 60])
def test_the_invoice_is_due_the_terms_after_the_issue_day_in_the_business_timezone(shop, terms):
    _, buyer = business(shop["tenant"], terms=terms)
    placed = order_on_account(buyer, shop)
    assert placed.status_code == 201, placed.content
    with tenant_context(shop["tenant"]):
        invoice = Invoice.objects.get(order_id=placed.json()["id"])
    issue_day = invoice.issued_at.astimezone(ZoneInfo(TENANT_A.timezone)).date()
    assert invoice.payment_terms == terms
    assert invoice.due_date == issue_day + dt.timedelta(days=terms)
    detail = buyer.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (detail["due_date"], detail["payment_terms"], detail["amount_due"]) == (
        str(invoice.due_date),
        terms,
        placed.json()["total"],
    )


def _make_overdue(tenant, invoice_id: int, days: int = 1) -> None:
    with tenant_context(tenant):
        today = timezone.now().astimezone(ZoneInfo(TENANT_A.timezone)).date()
        Invoice.objects.filter(pk=invoice_id).update(due_date=today - dt.timedelta(days=days))


def test_the_overdue_job_holds_the_account_and_its_next_order_waits_on_hold_until_staff_release_it(shop):
    account, buyer = business(shop["tenant"])
    first = order_on_account(buyer, shop).json()
    with tenant_context(shop["tenant"]):
        invoice_id = Invoice.objects.get(order_id=first["id"]).pk
        # Due today is not overdue yet.
        today = timezone.now().astimezone(ZoneInfo(TENANT_A.timezone)).date()
        Invoice.objects.filter(pk=invoice_id).update(due_date=today)
        assert invoices_mark_overdue_task.apply().get() == 0
    _make_overdue(shop["tenant"], invoice_id)

    with tenant_context(shop["tenant"]):
        assert invoices_mark_overdue_task.apply().get() == 1
        assert invoices_mark_overdue() == 0  # a second run changes nothing
        assert Invoice.objects.get(pk=invoice_id).status == "overdue"
    held_account = fresh(shop["tenant"], account)
    assert held_account.credit_hold and held_account.credit_hold_at is not None
    balance = assert_balance_is_the_unpaid_invoices(shop["tenant"], account)

    held = order_on_account(buyer, shop)

    assert held.status_code == 201, held.content
    assert (held.json()["status"], held.json()["confirmed_at"]) == ("on_hold", None)
    assert held.json()["on_hold_at"] is not None
    with tenant_context(shop["tenant"]):
        assert not Invoice.objects.filter(order_id=held.json()["id"]).exists()  # invoiced once released
        assert StockItem.objects.get(variant=shop["chips"], location=shop["store"]).reserved == 2  # stock kept
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == balance
    assert buyer.get("/api/v1/wholesale/account/credit").json()["credit_hold"] is True
    # A held order cannot be prepared or paid; staff release it (confirmed, and now invoiced).
    owner = staff(shop["tenant"])
    url = f"/api/v1/orders/{held.json()['id']}/transitions"
    early = owner.post(url, {"to": "preparing"}, content_type="application/json")
    assert early.status_code == 409 and early.json()["error"]["code"] == "invalid_transition"
    released = owner.post(url, {"to": "confirmed", "reason": "customer called"}, content_type="application/json")
    assert released.status_code == 200, released.content
    assert released.json()["status"] == "confirmed"
    with tenant_context(shop["tenant"]):
        assert Invoice.objects.get(order_id=held.json()["id"]).status == "open"
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == balance + Decimal(held.json()["total"])


def test_releasing_a_held_order_checks_the_limit_again(shop):
    total = total_of_one(shop)
    account, buyer = business(shop["tenant"], limit=str(total * 2))
    first = order_on_account(buyer, shop).json()
    with tenant_context(shop["tenant"]):
        _make_overdue(shop["tenant"], Invoice.objects.get(order_id=first["id"]).pk)
        invoices_mark_overdue()
    held = order_on_account(buyer, shop).json()
    assert held["status"] == "on_hold"
    with tenant_context(shop["tenant"]):
        WholesaleAccount.objects.filter(pk=account.pk).update(credit_limit=total)  # staff lowered it meanwhile

    refused = staff(shop["tenant"]).post(
        f"/api/v1/orders/{held['id']}/transitions", {"to": "confirmed"}, content_type="application/json"
    )

    assert refused.status_code == 409 and refused.json()["error"]["code"] == "credit_limit_exceeded"
    with tenant_context(shop["tenant"]):
        assert Order.objects.get(pk=held["id"]).status == "on_hold"
        assert not Invoice.objects.filter(order_id=held["id"]).exists()


def test_partial_payments_add_up_and_the_last_one_marks_the_invoice_paid(shop):
    account, buyer = business(shop["tenant"])
    placed = order_on_account(buyer, shop, quantity=3).json()
    total = Decimal(placed["total"])
    with tenant_context(shop["tenant"]):
        invoice_id = Invoice.objects.get(order_id=placed["id"]).pk
    owner = staff(shop["tenant"])
    part = (total / 3).quantize(Decimal("0.01"))

    first = pay(owner, invoice_id, str(part))

    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["invoice"]["status"], body["invoice"]["amount_paid"], body["invoice"]["amount_due"]) == (
        "open",
        str(part),
        str(total - part),
    )
    assert body["payment"]["method"] == "bank_transfer" and body["payment"]["recorded_by"].startswith("owner-")
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == total - part

    rest = pay(owner, invoice_id, str(total - part), method="cheque")

    assert rest.status_code == 201, rest.content
    assert (rest.json()["invoice"]["status"], rest.json()["invoice"]["amount_due"]) == ("paid", "0.00")
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0
    detail = owner.get(f"/api/v1/invoices/{invoice_id}").json()
    assert [p_["amount"] for p_ in detail["payments"]] == [str(part), str(total - part)]
    assert detail["paid_at"] is not None
    after = pay(owner, invoice_id, "0.01")
    assert after.status_code == 409 and after.json()["error"]["code"] == "invoice_payment_not_possible"


def test_an_overpayment_is_refused_and_changes_nothing(shop):
    account, buyer = business(shop["tenant"])
    placed = order_on_account(buyer, shop).json()
    total = Decimal(placed["total"])
    with tenant_context(shop["tenant"]):
        invoice_id = Invoice.objects.get(order_id=placed["id"]).pk
    owner = staff(shop["tenant"])

    over = pay(owner, invoice_id, str(total + Decimal("0.01")))

    assert over.status_code == 409
    assert over.json()["error"]["code"] == "overpayment"
    assert over.json()["error"]["details"] == {"amount": str(total + Decimal("0.01")), "amount_due": str(total)}
    with tenant_context(shop["tenant"]):
        assert not InvoicePayment.objects.filter(invoice_id=invoice_id).exists()
        assert Invoice.objects.get(pk=invoice_id).amount_paid == 0
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == total
    for bad in ("0", "-5.00", "1.001", "abc"):
        response = pay(owner, invoice_id, bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error", bad
    assert pay(owner, invoice_id, "1.00", method="bitcoin").status_code == 400


def test_paying_off_every_overdue_invoice_lifts_the_hold(shop):
    account, buyer = business(shop["tenant"])
    orders = [order_on_account(buyer, shop).json() for _ in range(2)]
    with tenant_context(shop["tenant"]):
        invoices = [Invoice.objects.get(order_id=o["id"]) for o in orders]
    for invoice in invoices:
        _make_overdue(shop["tenant"], invoice.pk)
    with tenant_context(shop["tenant"]):
        assert invoices_mark_overdue() == 2
    owner = staff(shop["tenant"])

    assert pay(owner, invoices[0].pk, str(invoices[0].amount)).json()["invoice"]["status"] == "paid"
    assert fresh(shop["tenant"], account).credit_hold  # one invoice still overdue
    half = (invoices[1].amount / 2).quantize(Decimal("0.01"))
    pay(owner, invoices[1].pk, str(half))
    assert fresh(shop["tenant"], account).credit_hold  # partly paid is still overdue
    pay(owner, invoices[1].pk, str(invoices[1].amount - half))

    lifted = fresh(shop["tenant"], account)
    assert (lifted.credit_hold, lifted.credit_hold_at) == (False, None)
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0
    assert order_on_account(buyer, shop).json()["status"] == "confirmed"  # orders on account flow again


def test_cancelling_an_overdue_order_voids_its_invoice_and_lifts_the_hold(shop):
    account, buyer = business(shop["tenant"])
    placed = order_on_account(buyer, shop).json()
    with tenant_context(shop["tenant"]):
        invoice_id = Invoice.objects.get(order_id=placed["id"]).pk
    _make_overdue(shop["tenant"], invoice_id)
    with tenant_context(shop["tenant"]):
        invoices_mark_overdue()
    assert fresh(shop["tenant"], account).credit_hold

    cancelled = staff(shop["tenant"]).post(
        f"/api/v1/orders/{placed['id']}/transitions", {"to": "cancelled"}, content_type="application/json"
    )

    assert cancelled.status_code == 200, cancelled.content
    with tenant_context(shop["tenant"]):
        assert Invoice.objects.get(pk=invoice_id).status == "void"
    assert not fresh(shop["tenant"], account).credit_hold
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == 0


def test_changing_the_lines_of_an_order_on_account_reprices_its_invoice_within_the_limit(shop):
    total = total_of_one(shop)
    account, buyer = business(shop["tenant"], limit=str(total * 2))
    placed = order_on_account(buyer, shop).json()
    url = f"/api/v1/orders/{placed['id']}/lines"

    grown = buyer.patch(url, {"lines": [{"sku": "CREDIT-CHIPS", "quantity": 2}]}, content_type="application/json")
    assert grown.status_code == 200, grown.content
    assert assert_balance_is_the_unpaid_invoices(shop["tenant"], account) == Decimal(grown.json()["total"])

    too_much = buyer.patch(url, {"lines": [{"sku": "CREDIT-CHIPS", "quantity": 3}]}, content_type="application/json")
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "credit_limit_exceeded"
    with tenant_context(shop["tenant"]):
        assert Invoice.objects.get(order_id=placed["id"]).amount == Decimal(grown.json()["total"])
        assert Order.objects.get(pk=placed["id"]).lines.get().quantity == 2  # all or nothing


def test_the_open_balance_cannot_go_negative_in_the_database(shop):
    account, _ = business(shop["tenant"])
    with tenant_context(shop["tenant"]), pytest.raises(IntegrityError), transaction.atomic():
        WholesaleAccount.objects.filter(pk=account.pk).update(open_balance=Decimal("-0.01"))


def test_a_buyer_of_another_business_sees_none_of_its_invoices_or_credit(shop):
    account, buyer = business(shop["tenant"])
    placed = order_on_account(buyer, shop).json()
    with tenant_context(shop["tenant"]):
        invoice_id = Invoice.objects.get(order_id=placed["id"]).pk
    _, other = business(shop["tenant"], name="Other Grocer")

    assert buyer.get("/api/v1/invoices").json()["count"] == 1
    assert other.get("/api/v1/invoices").json()["count"] == 0
    hidden = other.get(f"/api/v1/invoices/{invoice_id}")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    assert other.get("/api/v1/wholesale/account/credit").json()["open_balance"] == "0.00"
    assert other.get(f"/api/v1/wholesale/accounts/{account.pk}/credit").status_code == 403  # staff only
    assert pay(buyer, invoice_id, "1.00").status_code == 403  # customers never record payments


def test_staff_see_and_filter_every_invoice_and_any_account_credit(shop):
    _, buyer_one = business(shop["tenant"])
    second, buyer_two = business(shop["tenant"], name="Other Grocer", terms=15)
    order_on_account(buyer_one, shop)
    order_on_account(buyer_two, shop)
    owner = staff(shop["tenant"])

    assert owner.get("/api/v1/invoices").json()["count"] == 2
    assert [i["account"] for i in owner.get(f"/api/v1/invoices?account={second.pk}").json()["results"]] == [
        "Other Grocer"
    ]
    assert owner.get("/api/v1/invoices?status=paid").json()["count"] == 0
    page = owner.get("/api/v1/invoices?page_size=1").json()
    assert (page["count"], len(page["results"]), page["next"] is not None) == (2, 1, True)
    credit = owner.get(f"/api/v1/wholesale/accounts/{second.pk}/credit").json()
    assert (credit["payment_terms"], credit["open_invoices"], credit["credit_limit"]) == (15, 1, "1000.00")
    assert staff(shop["tenant"], "store_manager").get("/api/v1/invoices").status_code == 200
    assert staff(shop["tenant"], "warehouse").get("/api/v1/invoices").status_code == 403
    assert owner.get("/api/v1/wholesale/accounts/999999/credit").status_code == 404


def test_a_store_manager_sees_only_the_invoices_of_their_locations_orders(shop):
    from apps.accounts.models import User

    _, buyer = business(shop["tenant"])
    own_invoice = order_on_account(buyer, shop).json()["id"]
    with tenant_context(shop["tenant"]):
        elsewhere = f.location(code="credit-elsewhere", pickup_enabled=True)
        f.receive(elsewhere, shop["chips"], 10)
    other = buyer.post(
        "/api/v1/orders",
        {
            "fulfilment": "pickup",
            "location_id": elsewhere.pk,
            "on_account": True,
            "lines": [{"sku": "CREDIT-CHIPS", "quantity": 1}],
        },
        content_type="application/json",
    )
    assert other.status_code == 201
    manager = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(shop["tenant"], "store_manager"))
    with tenant_context(shop["tenant"]):
        shop["store"].managers.add(User.objects.filter(groups__name="Store Manager").order_by("-id").first())
        own_invoice, other_invoice = (
            Invoice.objects.get(order_id=own_invoice).pk,
            Invoice.objects.get(order_id=other.json()["id"]).pk,
        )

    assert [i["id"] for i in manager.get("/api/v1/invoices").json()["results"]] == [own_invoice]
    assert manager.get(f"/api/v1/invoices/{own_invoice}").status_code == 200
    assert manager.get(f"/api/v1/invoices/{other_invoice}").status_code == 404
    assert staff(shop["tenant"]).get("/api/v1/invoices").json()["count"] == 2  # the owner sees both


def test_a_retail_customer_cannot_order_on_account_or_read_invoices(shop):
    retail = Client(HTTP_HOST=TENANT_A.domain, **p.customer_headers(shop["tenant"], "retail"))

    refused = order_on_account(retail, shop)

    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"on_account": ["Wholesale accounts only."]}
    assert retail.get("/api/v1/invoices").status_code == 403
    assert retail.get("/api/v1/wholesale/account/credit").status_code == 403
    assert order_on_account(retail, shop, on_account=False).status_code == 201  # paying by card is fine


def test_an_unapproved_business_cannot_order_on_account_whatever_its_limit(shop):
    _, pending = business(shop["tenant"], approved=False)
    refused = order_on_account(pending, shop)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "wholesale_not_approved"


@pytest.mark.slow
def test_concurrent_orders_on_account_never_take_the_balance_over_the_limit(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        store = f.location(code="credit-race", pickup_enabled=True)
        f.receive(store, f.variant(sku="CREDIT-CHIPS", price=CHIPS_PRICE), 1000)
    shop = {"tenant": tenant, "store": store}
    _, probe_buyer = business(tenant, limit="100000.00", name="Probe")
    total = Decimal(order_on_account(probe_buyer, shop).json()["total"])
    # Room for three orders and a bit: of 12 racing orders exactly three fit.
    account, _ = business(tenant, limit=str(total * 3 + total / 2))
    with tenant_context(tenant):
        clients = []
        for _ in range(12):
            buyer = p.user_of_kind("wholesale", wholesale_account=account)
            pair = account_services.session_start(user=buyer)
            clients.append(Client(HTTP_HOST=TENANT_A.domain, **p.bearer(pair.access)))
    barrier = threading.Barrier(12)

    def order_one(client):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=30)
        try:
            response = order_on_account(client, shop)
            return response.status_code, response.json().get("error", {}).get("code")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(order_one, clients))

    assert sorted(results, key=str).count((201, None)) == 3, results
    assert results.count((409, "credit_limit_exceeded")) == 9, results
    assert assert_balance_is_the_unpaid_invoices(tenant, account) == total * 3
    with tenant_context(tenant):
        assert Invoice.objects.filter(account=account).count() == 3
        assert WholesaleAccount.objects.get(pk=account.pk).open_balance <= account.credit_limit


def test_the_invoice_list_reads_a_constant_number_of_statements_whatever_its_length(shop):
    from django.test.utils import CaptureQueriesContext

    _, buyer = business(shop["tenant"])
    owner = staff(shop["tenant"])
    owner.get("/api/v1/invoices")  # warm: the session and the roles are read once per request anyway

    def statements() -> int:
        with CaptureQueriesContext(connection) as context:
            response = owner.get("/api/v1/invoices")
        assert response.status_code == 200
        return len(context.captured_queries)

    order_on_account(buyer, shop)
    one = statements()
    for _ in range(4):
        order_on_account(buyer, shop)
    five = statements()

    assert owner.get("/api/v1/invoices").json()["count"] == 5
    assert five == one <= 8, (one, five)
