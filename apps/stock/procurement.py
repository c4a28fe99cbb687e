"""Procurement analytics: what was ordered from each supplier, what arrived, at what unit cost and
how fast, and what that leaves as margin on each variant. Reads only.

The period selects purchase orders by the day they were sent (`sent_at`, in the tenant's
timezone, both ends inclusive); drafts (never sent) and cancelled orders do not count. Every
figure describes the lines of those orders:

* units ordered / received: `quantity` / `received_quantity` (received so far, whenever it arrived);
  value ordered / received: the same units times the line's `unit_cost` (lines without a cost add
  units but no value);
* fill rate: units received / units ordered;
* lead time: for the orders received in full, from `sent_at` to `received_at` in days (average and
  maximum; an order still partly received has no lead time yet, only a fill rate below 1);
* unit costs (per variant): average = the lines' cost weighted by the units ordered; first and
  last = the cost on the earliest / latest sent line; trend = the change from first to last in
  percent, and the weighted average per calendar month (tenant timezone);
* margin (per variant): the variant's retail `price` minus its last unit cost (and minus the
  average one), absolute and in percent of the price;
* cheapest supplier (per variant): the lowest current catalog offer (`SupplierVariant.cost`) of a
  supplier that is not archived (ties: supplier name), whatever the supplier filter says.

Everything is computed in SQL: one statement counts a report's rows, one returns a page of them
(or all of them, for CSV), however many rows, orders or lines there are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import QuerySet

from apps.stock.models import Location, PurchaseOrder

COUNTED_STATUSES = (
    PurchaseOrder.Status.SENT,
    PurchaseOrder.Status.PARTIALLY_RECEIVED,
    PurchaseOrder.Status.RECEIVED,
)


@dataclass(frozen=True)
class ProcurementFilter:
    start: dt.date
    end: dt.date  # inclusive
    locations: QuerySet[Location]  # the caller's visible locations (optionally narrowed to one)
    supplier_id: int | None = None
    variant_id: int | None = None
    sku: str | None = None


def _tenant_timezone() -> str:
    return getattr(getattr(connection, "tenant", None), "timezone", None) or "UTC"


def _lines(flt: ProcurementFilter) -> tuple[str, list[Any]]:
    """The purchase order lines the report covers, as a CTE body, with its parameters."""
    tz = ZoneInfo(_tenant_timezone())
    since = dt.datetime.combine(flt.start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(flt.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    locations_sql, locations_params = flt.locations.order_by().values("id").query.sql_with_params()
    where = [
        "po.sent_at >= %s",
        "po.sent_at < %s",
        "po.status IN (%s, %s, %s)",
        f"po.location_id IN ({locations_sql})",
    ]
    params: list[Any] = [since, until, *(str(s) for s in COUNTED_STATUSES), *locations_params]
    if flt.supplier_id is not None:
        where.append("po.supplier_id = %s")
        params.append(flt.supplier_id)
    if flt.variant_id is not None:
        where.append("l.variant_id = %s")
        params.append(flt.variant_id)
    if flt.sku:
        where.append("l.variant_id IN (SELECT id FROM catalog_variant WHERE sku = %s)")
        params.append(flt.sku)
    sql = f"""SELECT l.id AS line_id, l.variant_id, l.quantity, l.received_quantity, l.unit_cost,
                     po.id AS po_id, po.supplier_id, po.sent_at, po.received_at
              FROM stock_purchaseorderline l JOIN stock_purchaseorder po ON po.id = l.purchase_order_id
              WHERE {" AND ".join(where)}"""
    return sql, params


_SUPPLIERS_SQL = """
WITH lines AS ({lines}),
per_supplier AS (
    SELECT supplier_id, COUNT(DISTINCT po_id) AS orders, COUNT(DISTINCT variant_id) AS variants,
           SUM(quantity) AS units_ordered, SUM(received_quantity) AS units_received,
           SUM(quantity * unit_cost) AS value_ordered, SUM(received_quantity * unit_cost) AS value_received,
           MAX(sent_at) AS last_sent_at
    FROM lines GROUP BY supplier_id
),
lead AS (
    SELECT supplier_id, COUNT(*) AS orders_received,
           AVG(EXTRACT(EPOCH FROM received_at - sent_at)) / 86400 AS avg_days,
           MAX(EXTRACT(EPOCH FROM received_at - sent_at)) / 86400 AS max_days
    FROM (SELECT DISTINCT supplier_id, po_id, sent_at, received_at FROM lines WHERE received_at IS NOT NULL) o
    GROUP BY supplier_id
)
SELECT s.id AS supplier_id, s.name AS supplier_name, p.orders, COALESCE(l.orders_received, 0) AS orders_received,
       p.variants, p.units_ordered, p.units_received,
       COALESCE(p.value_ordered, 0) AS value_ordered, COALESCE(p.value_received, 0) AS value_received,
       ROUND(p.units_received::numeric / NULLIF(p.units_ordered, 0), 4) AS fill_rate,
       ROUND(l.avg_days, 2) AS lead_days_avg, ROUND(l.max_days, 2) AS lead_days_max, p.last_sent_at
FROM per_supplier p
JOIN catalog_supplier s ON s.id = p.supplier_id
LEFT JOIN lead l ON l.supplier_id = p.supplier_id
ORDER BY s.name, s.id
"""

_VARIANTS_SQL = """
WITH lines AS ({lines}),
per_variant AS (
    SELECT variant_id, COUNT(DISTINCT po_id) AS orders, COUNT(DISTINCT supplier_id) AS suppliers,
           SUM(quantity) AS units_ordered, SUM(received_quantity) AS units_received,
           SUM(received_quantity * unit_cost) AS value_received,
           SUM(quantity * unit_cost) / NULLIF(SUM(quantity) FILTER (WHERE unit_cost IS NOT NULL), 0) AS avg_cost,
           (ARRAY_AGG(unit_cost ORDER BY sent_at, line_id) FILTER (WHERE unit_cost IS NOT NULL))[1] AS first_cost,
           (ARRAY_AGG(unit_cost ORDER BY sent_at DESC, line_id DESC)
               FILTER (WHERE unit_cost IS NOT NULL))[1] AS last_cost,
           (ARRAY_AGG(supplier_id ORDER BY sent_at DESC, line_id DESC)
               FILTER (WHERE unit_cost IS NOT NULL))[1] AS last_supplier_id
    FROM lines GROUP BY variant_id
),
lead AS (
    SELECT variant_id, AVG(EXTRACT(EPOCH FROM received_at - sent_at)) / 86400 AS avg_days,
           MAX(EXTRACT(EPOCH FROM received_at - sent_at)) / 86400 AS max_days
    FROM (SELECT DISTINCT variant_id, po_id, sent_at, received_at FROM lines WHERE received_at IS NOT NULL) o
    GROUP BY variant_id
),
monthly AS (
    SELECT variant_id, JSON_AGG(JSON_BUILD_OBJECT('month', month, 'avg_unit_cost', avg_cost::text) ORDER BY month)
               AS series
    FROM (SELECT variant_id, TO_CHAR(sent_at AT TIME ZONE %s, 'YYYY-MM') AS month,
                 ROUND(SUM(quantity * unit_cost) / SUM(quantity), 4) AS avg_cost
          FROM lines WHERE unit_cost IS NOT NULL GROUP BY 1, 2) m
    GROUP BY variant_id
),
cheapest AS (
    SELECT DISTINCT ON (o.variant_id) o.variant_id, o.supplier_id, s.name, o.cost
    FROM catalog_suppliervariant o JOIN catalog_supplier s ON s.id = o.supplier_id
    WHERE NOT s.is_archived AND o.variant_id IN (SELECT variant_id FROM per_variant)
    ORDER BY o.variant_id, o.cost, s.name, s.id
),
page AS (
    SELECT pv.*, v.sku, v.name, v.price FROM per_variant pv JOIN catalog_variant v ON v.id = pv.variant_id
    ORDER BY v.sku, v.id {limit}
)
SELECT p.variant_id, p.sku, p.name AS variant_name, p.price, p.orders, p.suppliers,
       p.units_ordered, p.units_received, COALESCE(p.value_received, 0) AS value_received,
       ROUND(p.units_received::numeric / NULLIF(p.units_ordered, 0), 4) AS fill_rate,
       ROUND(p.avg_cost, 4) AS avg_unit_cost, p.first_cost AS first_unit_cost, p.last_cost AS last_unit_cost,
       p.last_supplier_id, ls.name AS last_supplier_name,
       ROUND((p.last_cost - p.first_cost) * 100 / NULLIF(p.first_cost, 0), 2) AS cost_change_pct,
       COALESCE(m.series, '[]'::json) AS monthly_costs,
       ROUND(l.avg_days, 2) AS lead_days_avg, ROUND(l.max_days, 2) AS lead_days_max,
       p.price - p.last_cost AS margin, ROUND((p.price - p.last_cost) * 100 / NULLIF(p.price, 0), 2) AS margin_pct,
       ROUND(p.price - p.avg_cost, 4) AS margin_on_avg_cost,
       ROUND((p.price - p.avg_cost) * 100 / NULLIF(p.price, 0), 2) AS margin_on_avg_cost_pct,
       c.supplier_id AS cheapest_supplier_id, c.name AS cheapest_supplier_name, c.cost AS cheapest_supplier_cost
FROM page p
LEFT JOIN lead l ON l.variant_id = p.variant_id
LEFT JOIN monthly m ON m.variant_id = p.variant_id
LEFT JOIN cheapest c ON c.variant_id = p.variant_id
LEFT JOIN catalog_supplier ls ON ls.id = p.last_supplier_id
ORDER BY p.sku, p.variant_id
"""


class ReportRows:
    """A report's rows as the paginator wants them: `count()` is one statement and a slice is one
    statement (LIMIT/OFFSET), whatever the number of rows; `all()` returns every row (CSV)."""

    def __init__(self, *, build: Any, count_sql: str, count_params: list[Any]) -> None:
        self._build = build  # (limit clause, extra params) -> (sql, params)
        self._count_sql, self._count_params = count_sql, count_params
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            with connection.cursor() as cursor:
                cursor.execute(self._count_sql, self._count_params)
                self._count = cursor.fetchone()[0]
        return self._count

    def __len__(self) -> int:
        return self.count()

    def _fetch(self, limit: str, extra: list[Any]) -> list[dict[str, Any]]:
        sql, params = self._build(limit, extra)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        if not isinstance(window, slice) or window.step not in (None, 1):
            raise TypeError("ReportRows supports slices only")
        start = window.start or 0
        if window.stop is None:
            return self._fetch("OFFSET %s", [start])
        return self._fetch("LIMIT %s OFFSET %s", [max(0, window.stop - start), start])

    def all(self) -> list[dict[str, Any]]:
        return self._fetch("", [])


def supplier_report(*, flt: ProcurementFilter) -> ReportRows:
    """One row per supplier with orders sent in the period, by supplier name."""
    lines_sql, params = _lines(flt)
    base = _SUPPLIERS_SQL.format(lines=lines_sql)

    def build(limit: str, extra: list[Any]) -> tuple[str, list[Any]]:
        return f"{base} {limit}", [*params, *extra]

    return ReportRows(
        build=build,
        count_sql=f"WITH lines AS ({lines_sql}) SELECT COUNT(DISTINCT supplier_id) FROM lines",
        count_params=params,
    )


def variant_report(*, flt: ProcurementFilter) -> ReportRows:
    """One row per variant ordered in the period (from any supplier, or the filtered one), by SKU."""
    lines_sql, params = _lines(flt)
    tz = _tenant_timezone()

    def build(limit: str, extra: list[Any]) -> tuple[str, list[Any]]:
        return _VARIANTS_SQL.format(lines=lines_sql, limit=limit), [*params, tz, *extra]

    return ReportRows(
        build=build,
        count_sql=f"WITH lines AS ({lines_sql}) SELECT COUNT(DISTINCT variant_id) FROM lines",
        count_params=params,
    )
