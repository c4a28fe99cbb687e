"""Procurement analytics (apps.stock.procurement, /api/v1/procurement/*): exact figures from
purchase orders sent and received on known days, the period and the filters, CSV, store-manager
scoping, permissions, errors and a constant number of statements however many rows.

The fixture (tenant timezone America/Chicago; the period is 2026-01-01..2026-02-28):

| order | supplier     | sent (CT)     | lines                         | received                         |
|-------|--------------|---------------|-------------------------------|----------------------------------|
| PO1   | Alpha Farm   | Jan 5 10:00   | A 100 @ 5.00, B 50 @ 2.00     | all, Jan 10 10:00 (5 days)       |
| PO2   | Alpha Farm   | Feb 1 10:00   | A 100 @ 6.00                  | 60 of 100 (not complete)         |
| PO3   | Beta Bottler | Feb 10 10:00  | A 40 @ 4.00 (at the store)    | all, Feb 13 22:00 (3.5 days)     |
| PO4   | Beta Bottler | 2025-11-01    | C 10 @ 8.00                   | all (before the period)          |
| PO5   | Alpha Farm   | never (draft) | B 999 @ 1.00                  | -                                |
| PO6   | Beta Bottler | Jan 20 (then cancelled) | B 70 @ 1.50         | -                                |

Catalog offers: A from Alpha 5.00, Beta 4.50 and archived Zeta 1.00; B from Alpha 2.00.
Prices: A 10.00, B 4.00, C 20.00.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from apps.accounts import services as account_services
from apps.accounts.models import User
from apps.catalog.models import Supplier, SupplierVariant, Variant
from apps.stock import procurement, services
from apps.stock.models import Location, PurchaseOrder
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A

CT = ZoneInfo("America/Chicago")
PERIOD = {"from": "2026-01-01", "to": "2026-02-28"}
SUPPLIERS = "/api/v1/procurement/suppliers"
VARIANTS = "/api/v1/procurement/variants"


def at(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CT)


def order(supplier, location, lines, *, sent=None, receive=None, received_at=None, status=None) -> PurchaseOrder:
    """A purchase order through the services; `receive` = units per line index; dates set after."""
    po = services.purchase_order_create(supplier=supplier, location=location, lines=lines)
    if sent is not None:
        services.purchase_order_send(order=po)
        PurchaseOrder.objects.filter(pk=po.pk).update(sent_at=sent)
    if receive:
        ids = list(po.lines.order_by("id").values_list("id", flat=True))
        services.purchase_order_receive(
            order=po, receipts=[services.PurchaseReceipt(ids[i], qty) for i, qty in receive.items()]
        )
        po.refresh_from_db()
        if po.received_at is not None:
            PurchaseOrder.objects.filter(pk=po.pk).update(received_at=received_at)
    if status:
        PurchaseOrder.objects.filter(pk=po.pk).update(status=status)
    return po


@pytest.fixture
def world(tenant_a):
    with tenant_context(tenant_a):
        warehouse, store = f.location(kind="warehouse"), f.location()
        a, b, c = f.variant(sku="A-250", price="10.00"), f.variant(sku="B-500", price="4.00"), f.variant(sku="C-1")
        c.price = Decimal("20.00")
        c.save(update_fields=["price"])
        alpha = Supplier.objects.create(name="Alpha Farm", lead_time_days=5)
        beta = Supplier.objects.create(name="Beta Bottler", lead_time_days=3)
        zeta = Supplier.objects.create(name="Zeta (archived)", is_archived=True)
        SupplierVariant.objects.create(supplier=alpha, variant=a, cost="5.00")
        SupplierVariant.objects.create(supplier=beta, variant=a, cost="4.50")
        SupplierVariant.objects.create(supplier=zeta, variant=a, cost="1.00")
        SupplierVariant.objects.create(supplier=alpha, variant=b, cost="2.00")
        D = Decimal
        pos = {
            "po1": order(
                alpha,
                warehouse,
                [(a, 100, D("5.00")), (b, 50, D("2.00"))],
                sent=at(1, 5),
                receive={0: 100, 1: 50},
                received_at=at(1, 10),
            ),
            "po2": order(alpha, warehouse, [(a, 100, D("6.00"))], sent=at(2, 1), receive={0: 60}),
            "po3": order(
                beta, store, [(a, 40, D("4.00"))], sent=at(2, 10), receive={0: 40}, received_at=at(2, 13, 22)
            ),
            "po4": order(
                beta,
                warehouse,
                [(c, 10, D("8.00"))],
                sent=at(11, 1, year=2025),
                receive={0: 10},
                received_at=at(11, 4, year=2025),
            ),
            "po5": order(alpha, warehouse, [(b, 999, D("1.00"))]),
            "po6": order(beta, warehouse, [(b, 70, D("1.50"))], sent=at(1, 20), status="cancelled"),
        }
        return {
            "warehouse": warehouse,
            "store": store,
            "a": a,
            "b": b,
            "c": c,
            "alpha": alpha,
            "beta": beta,
            **pos,
        }


@pytest.fixture
def owner(tenant_a):
    return Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(tenant_a, "owner"))


def manager_of(tenant, location) -> Client:
    with tenant_context(tenant):
        user = User.objects.create_user("manager-proc@example.com", p.PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name="Store Manager"))
        location.managers.add(user)
        pair = account_services.session_start(user=user)
    return Client(HTTP_HOST=TENANT_A.domain, **p.bearer(pair.access))


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_suppliers_report_exact_figures(world, owner):
    response = owner.get(SUPPLIERS, PERIOD)
    body = response.json()
    assert body["count"] == 2 and body["previous"] is None and body["next"] is None
    alpha, beta = body["results"]
    assert alpha == {
        "supplier_id": world["alpha"].pk,
        "supplier_name": "Alpha Farm",
        "orders": 2,  # PO1, PO2 (the draft PO5 was never sent)
        "orders_received": 1,
        "variants": 2,
        "units_ordered": 250,
        "units_received": 210,
        "value_ordered": "1200.0000",  # 500 + 100 + 600
        "value_received": "960.0000",  # 500 + 100 + 60 x 6
        "fill_rate": "0.8400",
        "lead_days_avg": "5.00",  # PO1 only: PO2 is not received in full
        "lead_days_max": "5.00",
        "last_sent_at": alpha["last_sent_at"],
    }
    assert dt.datetime.fromisoformat(alpha["last_sent_at"]) == at(2, 1)
    assert beta["supplier_name"] == "Beta Bottler"  # PO3 only: PO4 before the period, PO6 cancelled
    assert (beta["orders"], beta["units_ordered"], beta["units_received"], beta["value_received"]) == (
        1,
        40,
        40,
        "160.0000",
    )
    assert (beta["fill_rate"], beta["lead_days_avg"], beta["lead_days_max"]) == ("1.0000", "3.50", "3.50")


def test_variants_report_costs_trend_lead_margin_and_cheapest_supplier(world, owner):
    a, b = rows(owner.get(VARIANTS, PERIOD))  # by SKU; C was only ordered before the period
    assert a == {
        "variant_id": world["a"].pk,
        "sku": "A-250",
        "variant_name": "250 ml",
        "price": "10.00",
        "orders": 3,
        "suppliers": 2,
        "units_ordered": 240,
        "units_received": 200,
        "value_received": "1020.0000",  # 500 + 360 + 160
        "fill_rate": "0.8333",
        "avg_unit_cost": "5.2500",  # (100 x 5 + 100 x 6 + 40 x 4) / 240
        "first_unit_cost": "5.0000",
        "last_unit_cost": "4.0000",
        "last_supplier_id": world["beta"].pk,
        "last_supplier_name": "Beta Bottler",
        "cost_change_pct": "-20.00",
        "monthly_costs": [
            {"month": "2026-01", "avg_unit_cost": "5.0000"},
            {"month": "2026-02", "avg_unit_cost": "5.4286"},  # (600 + 160) / 140
        ],
        "lead_days_avg": "4.25",  # (5 + 3.5) / 2
        "lead_days_max": "5.00",
        "margin": "6.0000",
        "margin_pct": "60.00",
        "margin_on_avg_cost": "4.7500",
        "margin_on_avg_cost_pct": "47.50",
        "cheapest_supplier_id": world["beta"].pk,  # 4.50; the archived Zeta's 1.00 does not count
        "cheapest_supplier_name": "Beta Bottler",
        "cheapest_supplier_cost": "4.5000",
    }
    assert b["sku"] == "B-500"  # the cancelled PO6 and the draft PO5 do not count
    assert (b["units_ordered"], b["units_received"], b["avg_unit_cost"], b["last_unit_cost"]) == (
        50,
        50,
        "2.0000",
        "2.0000",
    )
    assert (b["cost_change_pct"], b["margin"], b["margin_pct"], b["cheapest_supplier_name"]) == (
        "0.00",
        "2.0000",
        "50.00",
        "Alpha Farm",
    )
    assert b["monthly_costs"] == [{"month": "2026-01", "avg_unit_cost": "2.0000"}]


def test_the_period_excludes_orders_sent_outside_it(world, owner):
    (alpha, beta) = rows(owner.get(SUPPLIERS, {"from": "2026-02-01", "to": "2026-02-28"}))
    assert (alpha["orders"], alpha["units_ordered"], alpha["units_received"]) == (1, 100, 60)  # PO2 only
    assert (alpha["fill_rate"], alpha["lead_days_avg"], alpha["lead_days_max"]) == ("0.6000", None, None)
    assert beta["orders"] == 1
    (a,) = rows(owner.get(VARIANTS, {"from": "2026-02-01", "to": "2026-02-28"}))
    assert (a["first_unit_cost"], a["last_unit_cost"], a["cost_change_pct"]) == ("6.0000", "4.0000", "-33.33")
    (c,) = rows(owner.get(VARIANTS, {"from": "2025-11-01", "to": "2025-11-30"}))
    assert (c["sku"], c["margin"], c["margin_pct"], c["cheapest_supplier_id"]) == ("C-1", "12.0000", "60.00", None)


def test_the_period_ends_at_midnight_of_the_tenant_timezone(world, owner, tenant_a):
    with tenant_context(tenant_a):  # 23:30 in Chicago on Feb 28 is already March 1 in UTC
        order(world["beta"], world["warehouse"], [(world["b"], 10, Decimal("3.00"))], sent=at(2, 28, 23, 30))
        order(world["beta"], world["warehouse"], [(world["b"], 7, Decimal("3.00"))], sent=at(3, 1, 0, 30))
    (_, b) = rows(owner.get(VARIANTS, PERIOD))
    assert b["units_ordered"] == 60 and b["last_unit_cost"] == "3.0000"
    assert b["monthly_costs"][-1] == {"month": "2026-02", "avg_unit_cost": "3.0000"}


def test_filters_by_supplier_sku_variant_and_location(world, owner):
    (a,) = rows(owner.get(VARIANTS, {**PERIOD, "supplier": world["beta"].pk}))
    assert (a["sku"], a["orders"], a["units_ordered"], a["avg_unit_cost"]) == ("A-250", 1, 40, "4.0000")
    (b,) = rows(owner.get(VARIANTS, {**PERIOD, "sku": "B-500"}))
    assert b["units_ordered"] == 50
    (b,) = rows(owner.get(VARIANTS, {**PERIOD, "variant": world["b"].pk}))
    assert b["sku"] == "B-500"
    (beta,) = rows(owner.get(SUPPLIERS, {**PERIOD, "location": world["store"].pk}))
    assert (beta["supplier_name"], beta["units_ordered"]) == ("Beta Bottler", 40)
    (alpha,) = rows(owner.get(SUPPLIERS, {**PERIOD, "sku": "B-500"}))
    assert (alpha["supplier_name"], alpha["units_ordered"], alpha["variants"]) == ("Alpha Farm", 50, 1)
    assert rows(owner.get(VARIANTS, {**PERIOD, "sku": "NO-SUCH"})) == []
    assert rows(owner.get(SUPPLIERS, {**PERIOD, "supplier": 999999})) == []


def test_a_store_manager_sees_only_the_orders_of_their_locations(world, tenant_a):
    manager = manager_of(tenant_a, world["store"])
    (beta,) = rows(manager.get(SUPPLIERS, PERIOD))
    assert (beta["supplier_name"], beta["orders"]) == ("Beta Bottler", 1)
    (a,) = rows(manager.get(VARIANTS, PERIOD))
    assert (a["units_ordered"], a["last_unit_cost"]) == (40, "4.0000")
    assert rows(manager.get(SUPPLIERS, {**PERIOD, "location": world["warehouse"].pk})) == []


def test_orders_of_a_location_closed_since_still_count_and_stay_within_a_managers_scope(world, tenant_a, owner):
    # The store that received PO3 is deactivated later: its purchases happened all the same.
    with tenant_context(tenant_a):
        Location.objects.filter(pk=world["store"].pk).update(is_active=False)
    (beta,) = [r for r in rows(owner.get(SUPPLIERS, PERIOD)) if r["supplier_name"] == "Beta Bottler"]
    assert (beta["orders"], beta["units_ordered"]) == (1, 40)
    (a,) = rows(owner.get(VARIANTS, {**PERIOD, "sku": "A-250"}))
    assert a["units_ordered"] == 240
    (beta,) = rows(owner.get(SUPPLIERS, {**PERIOD, "location": world["store"].pk}))
    assert beta["units_ordered"] == 40
    manager = manager_of(tenant_a, world["store"])
    assert [r["units_ordered"] for r in rows(manager.get(SUPPLIERS, PERIOD))] == [40]
    with tenant_context(tenant_a):
        user = User.objects.create_user("manager-wh@example.com", p.PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name="Store Manager"))
        world["warehouse"].managers.add(user)
        pair = account_services.session_start(user=user)
    other = Client(HTTP_HOST=TENANT_A.domain, **p.bearer(pair.access))
    assert rows(other.get(SUPPLIERS, {**PERIOD, "location": world["store"].pk})) == []


def test_warehouse_staff_may_read_and_customers_and_partner_keys_may_not(world, tenant_a):
    warehouse = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(tenant_a, "warehouse"))
    assert warehouse.get(SUPPLIERS, PERIOD).status_code == 200
    for headers in (
        p.customer_headers(tenant_a, "retail"),
        p.customer_headers(tenant_a, "wholesale"),
        p.api_key_headers(tenant_a, p.all_scopes()),
    ):
        client = Client(HTTP_HOST=TENANT_A.domain, **headers)
        for url in (SUPPLIERS, VARIANTS):
            response = client.get(url, PERIOD)
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "permission_denied"
    assert Client(HTTP_HOST=TENANT_A.domain).get(SUPPLIERS).status_code == 401


def test_a_period_without_orders_answers_an_empty_page(world, owner):
    for url in (SUPPLIERS, VARIANTS):
        response = owner.get(url, {"from": "2020-01-01", "to": "2020-01-31"})
        assert response.status_code == 200
        assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
        empty_csv = owner.get(url, {"from": "2020-01-01", "to": "2020-01-31", "format": "csv"})
        assert empty_csv.status_code == 200 and len(empty_csv.content.decode().splitlines()) == 1  # the header


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"supplier": "x"}, "supplier"),
        ({"location": "0"}, "location"),
        ({"location": "42024007479405314048"}, "location"),  # past bigint
        ({"variant": "1.5"}, "variant"),
        ({"sku": "x" * 65}, "sku"),
    ],
)
def test_bad_dates_and_filters_answer_400_in_the_error_shape(owner, tenant_a, query, field):
    for url in (SUPPLIERS, VARIANTS):
        for extra in ({}, {"format": "csv"}):
            response = owner.get(url, {**query, **extra})
            assert response.status_code == 400
            assert response["Content-Type"].startswith("application/json")
            error = response.json()["error"]
            assert error["code"] == "validation_error" and field in error["details"] and error["message"]


def test_a_to_date_in_year_one_without_from_starts_the_period_on_the_first_day_not_a_500(owner):
    # `to` minus 89 days would be before 0001-01-01 (an OverflowError answered 500).
    for url in (SUPPLIERS, VARIANTS):
        for to in ("0001-01-01", "0001-03-01"):
            response = owner.get(url, {"to": to})
            assert response.status_code == 200, response.content
            assert response.json()["count"] == 0


def test_without_dates_the_period_is_the_last_90_days(world, owner, tenant_a):
    with tenant_context(tenant_a):
        today = dt.datetime.now(CT)
        order(
            world["alpha"], world["warehouse"], [(world["b"], 5, Decimal("2.50"))], sent=today - dt.timedelta(days=89)
        )
        order(
            world["alpha"], world["warehouse"], [(world["b"], 9, Decimal("2.50"))], sent=today - dt.timedelta(days=91)
        )
    (alpha,) = rows(owner.get(SUPPLIERS))
    assert alpha["units_ordered"] == 5


def _csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="procurement-')
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_csv_with_format_or_accept_header(world, owner):
    by_format = _csv_rows(owner.get(SUPPLIERS, {**PERIOD, "format": "csv"}))
    by_accept = _csv_rows(owner.get(SUPPLIERS, PERIOD, HTTP_ACCEPT="text/csv"))
    assert by_format == by_accept
    assert [(r["supplier_name"], r["units_received"], r["value_received"], r["fill_rate"]) for r in by_format] == [
        ("Alpha Farm", "210", "960.0000", "0.8400"),
        ("Beta Bottler", "40", "160.0000", "1.0000"),
    ]
    assert by_format[0]["lead_days_avg"] == "5.00"
    variants = _csv_rows(owner.get(VARIANTS, {**PERIOD, "format": "csv"}))
    assert list(variants[0])[:4] == ["variant_id", "sku", "variant_name", "price"]
    a, b = variants
    assert (a["sku"], a["avg_unit_cost"], a["last_unit_cost"], a["margin_pct"]) == (
        "A-250",
        "5.2500",
        "4.0000",
        "60.00",
    )
    assert a["monthly_costs"] == "2026-01:5.0000;2026-02:5.4286"
    assert (b["sku"], b["cheapest_supplier_name"], b["lead_days_max"]) == ("B-500", "Alpha Farm", "5.00")
    on_page = owner.get(VARIANTS, {**PERIOD, "format": "csv", "page_size": 1})
    assert len(_csv_rows(on_page)) == 2  # CSV is every row, not a page


def test_csv_cells_never_start_a_spreadsheet_formula_but_the_json_keeps_the_names(world, owner, tenant_a):
    with tenant_context(tenant_a):
        Supplier.objects.filter(pk=world["alpha"].pk).update(name='=HYPERLINK("http://x.example","Alpha")')
        Variant.objects.filter(pk=world["b"].pk).update(name="@SUM(1+1)")
    suppliers = _csv_rows(owner.get(SUPPLIERS, {**PERIOD, "format": "csv"}))
    assert suppliers[0]["supplier_name"] == '\'=HYPERLINK("http://x.example","Alpha")'
    variants = {r["sku"]: r for r in _csv_rows(owner.get(VARIANTS, {**PERIOD, "format": "csv"}))}
    assert variants["B-500"]["variant_name"] == "'@SUM(1+1)"
    assert variants["A-250"]["cost_change_pct"] == "-20.00"  # numbers stay numbers
    (alpha, _beta) = rows(owner.get(SUPPLIERS, PERIOD))
    assert alpha["supplier_name"] == '=HYPERLINK("http://x.example","Alpha")'


def test_pages(world, owner):
    first = owner.get(VARIANTS, {**PERIOD, "page_size": 1}).json()
    assert first["count"] == 2 and [r["sku"] for r in first["results"]] == ["A-250"] and first["next"]
    second = owner.get(VARIANTS, {**PERIOD, "page_size": 1, "page": 2}).json()
    assert [r["sku"] for r in second["results"]] == ["B-500"]
    assert owner.get(VARIANTS, {**PERIOD, "page": 3, "page_size": 1}).status_code == 404


def _statements(client: Client, url: str, query: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, query)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_statements_per_request_do_not_grow_with_rows(tenant_a, owner):
    """1 variant on 1 order against 20 variants on 40 orders from 4 suppliers: same statements,
    and the report's own share is one count and one page (one statement for CSV)."""
    with tenant_context(tenant_a):
        loc = f.location(kind="warehouse")
        first = Supplier.objects.create(name="Supplier 0")
        one = f.variant(price="3.00")
        SupplierVariant.objects.create(supplier=first, variant=one, cost="1.00")
        order(first, loc, [(one, 10, Decimal("1.00"))], sent=at(1, 5), receive={0: 10}, received_at=at(1, 8))
    query = {**PERIOD, "page_size": 50}
    small = {url: _statements(owner, url, query) for url in (SUPPLIERS, VARIANTS)}
    small_csv = {url: _statements(owner, url, {**query, "format": "csv"}) for url in (SUPPLIERS, VARIANTS)}
    with tenant_context(tenant_a):
        suppliers = [first, *(Supplier.objects.create(name=f"Supplier {i}") for i in range(1, 4))]
        variants = [one, *(f.variant(price="3.00") for _ in range(19))]
        for i, variant in enumerate(variants):
            for j in range(2):
                supplier = suppliers[(i + j) % 4]
                SupplierVariant.objects.get_or_create(supplier=supplier, variant=variant, defaults={"cost": "1.10"})
                order(
                    supplier,
                    loc,
                    [(variant, 10 + i, Decimal("1.20"))],
                    sent=at(2, 1 + j),
                    receive={0: 5},
                )
    large = {url: _statements(owner, url, query) for url in (SUPPLIERS, VARIANTS)}
    large_csv = {url: _statements(owner, url, {**query, "format": "csv"}) for url in (SUPPLIERS, VARIANTS)}
    assert len(rows(owner.get(VARIANTS, query))) == 20 and len(rows(owner.get(SUPPLIERS, query))) == 4
    assert small == large and small_csv == large_csv
    for url in (SUPPLIERS, VARIANTS):
        assert large[url] - large_csv[url] == 1  # the page's count statement


def test_the_report_is_two_statements_in_the_selector(world, tenant_a):
    with tenant_context(tenant_a):
        flt = procurement.ProcurementFilter(
            start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28), locations=Location.objects.all()
        )
        with CaptureQueriesContext(connection) as captured:
            report = procurement.variant_report(flt=flt)
            count, page = report.count(), report[0:50]
        assert (count, [r["sku"] for r in page]) == (2, ["A-250", "B-500"])
        statements = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET search_path")]
        assert len(statements) == 2


def _admin_client(tenant, role: str | None, *, superuser: bool = False, manages=None) -> Client:
    with tenant_context(tenant):
        if superuser:
            user = User.objects.create_superuser(f"{role.replace(' ', '-').lower()}-admin@example.com", p.PASSWORD)
        else:
            user = User.objects.create_user(
                f"{role.replace(' ', '-').lower()}-admin@example.com", p.PASSWORD, is_staff=True
            )
            user.groups.add(Group.objects.get(name=role))
        if manages is not None:
            manages.managers.add(user)
        client = Client(HTTP_HOST=TENANT_A.domain)
        client.force_login(user)
    return client


ADMIN_REPORT = "/admin/stock/purchaseorder/procurement/"


def test_the_admin_report_renders_the_table_and_downloads_csv(world, tenant_a):
    client = _admin_client(tenant_a, "owner", superuser=True)
    changelist = client.get("/admin/stock/purchaseorder/")
    assert changelist.status_code == 200 and ADMIN_REPORT in changelist.content.decode()
    page = client.get(ADMIN_REPORT, {"report": "suppliers", "start": "2026-01-01", "end": "2026-02-28"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Alpha Farm" in html and "960.0000" in html and "0.8400" in html and "Download CSV" in html
    variants = client.get(ADMIN_REPORT, {"report": "variants", "start": "2026-01-01", "end": "2026-02-28"})
    assert "2026-01:5.0000;2026-02:5.4286" in variants.content.decode()
    download = client.get(
        ADMIN_REPORT, {"report": "variants", "start": "2026-01-01", "end": "2026-02-28", "format": "csv"}
    )
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert [r["sku"] for r in csv.DictReader(io.StringIO(download.content.decode()))] == ["A-250", "B-500"]
    assert client.get(ADMIN_REPORT).status_code == 200  # no filters: the last 90 days
    empty = client.get(ADMIN_REPORT, {"report": "suppliers", "start": "2020-01-01", "end": "2020-01-31"})
    assert "No purchase orders were sent in this period." in empty.content.decode()
    bad = client.get(ADMIN_REPORT, {"report": "suppliers", "start": "2026-03-01", "end": "2026-02-01"})
    assert bad.status_code == 400 and "Must be on or before" in bad.content.decode()


def test_the_admin_report_is_for_staff_who_see_purchase_orders_or_suppliers(world, tenant_a):
    warehouse = _admin_client(tenant_a, "Warehouse Staff")
    assert warehouse.get(ADMIN_REPORT, {"start": "2026-01-01", "end": "2026-02-28"}).status_code == 200
    manager = _admin_client(tenant_a, "Store Manager", manages=world["store"])
    assert manager.get(ADMIN_REPORT).status_code == 403  # no purchase order or supplier permission
    assert Client(HTTP_HOST=TENANT_A.domain).get(ADMIN_REPORT).status_code == 302  # to the sign-in page


def test_the_admin_report_with_an_end_in_year_one_and_no_start_renders_not_a_500(tenant_a):
    client = _admin_client(tenant_a, "owner", superuser=True)
    page = client.get(ADMIN_REPORT, {"report": "variants", "end": "0001-01-02"})
    assert page.status_code == 200
    assert "No purchase orders were sent in this period." in page.content.decode()
