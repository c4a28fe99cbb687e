"""The dashboards' reads: aggregated in SQL, scoped to one location, a fixed number of queries per
page whatever the number of orders. Dashboards only read; every change goes through the domain
services (apps.orders.services, apps.stock.services, apps.reviews.services)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDay, TruncWeek
from django.utils import timezone

from apps.dashboards.formatting import local_day_start, tenant_zone
from apps.orders.models import Order, OrderLine, OrderStatus
from apps.orders.services import HANDOFF, TRANSITIONS
from apps.stock.models import Location, LotStock, Movement, PurchaseOrder, ReorderSuggestion, StockItem

S = OrderStatus
OPEN_STATUSES = [S.PLACED, S.ON_HOLD, S.CONFIRMED, S.PAID, S.PREPARING, S.READY, S.OUT_FOR_DELIVERY]
# What counts as a sale in the figures: every order past payment (or confirmed on account) that was
# neither cancelled nor refunded.
NOT_SALES = [S.PLACED, S.ON_HOLD, S.CANCELLED, S.REFUNDED]  # on hold: waiting on the credit hold
MONEY = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0"), output_field=MONEY)


# ---------------------------------------------------------------------------------------------
# Today


def status_counts(*, location: Location, since: dt.datetime) -> dict[str, int]:
    """Open orders of any day and today's others, by status (one query)."""
    rows = (
        Order.objects.filter(location=location)
        .filter(Q(status__in=OPEN_STATUSES) | Q(placed_at__gte=since))
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    )
    found = {row["status"]: row["n"] for row in rows}
    return {value: found.get(value, 0) for value, _ in S.choices}


def ready_queue(*, location: Location, limit: int = 20) -> list[Order]:
    return list(
        Order.objects.filter(location=location, status=S.READY)
        .select_related("customer")
        .order_by("ready_at", "id")[:limit]
    )


def low_stock(*, location: Location, limit: int = 20) -> list[StockItem]:
    """Items at or below their reorder point (a reorder point of 0 means none set)."""
    return list(
        StockItem.objects.filter(location=location, reorder_point__gt=0)
        .annotate(available_units=F("on_hand") - F("reserved"))
        .filter(available_units__lte=F("reorder_point"))
        .select_related("variant__product")
        .order_by("available_units", "variant__sku")[:limit]
    )


@dataclass(frozen=True)
class SoFar:
    revenue: Decimal
    orders: int
    revenue_last_week: Decimal
    orders_last_week: int

    @property
    def revenue_change(self) -> Decimal | None:
        if not self.revenue_last_week:
            return None
        return ((self.revenue - self.revenue_last_week) / self.revenue_last_week * 100).quantize(Decimal("1"))


def sales_so_far(*, location: Location, now: dt.datetime | None = None) -> SoFar:
    """Revenue and orders since the tenant's midnight, and the same span on the same weekday a
    week ago (one query)."""
    now = now or timezone.now()
    start = local_day_start(now, tenant_zone())
    week = dt.timedelta(days=7)
    today = Q(placed_at__gte=start, placed_at__lte=now)
    last = Q(placed_at__gte=start - week, placed_at__lte=now - week)
    row = (
        Order.objects.filter(location=location)
        .exclude(status__in=NOT_SALES)
        .filter(today | last)
        .aggregate(
            revenue=Coalesce(Sum("total", filter=today), ZERO),
            orders=Count("id", filter=today),
            revenue_last_week=Coalesce(Sum("total", filter=last), ZERO),
            orders_last_week=Count("id", filter=last),
        )
    )
    return SoFar(**row)


# ---------------------------------------------------------------------------------------------
# Orders

# The one-click moves a counter offers (payment, cancellation and refunds stay with the API/admin).
STAFF_MOVES = {
    S.PREPARING: "Prepare",
    S.READY: "Ready",
    S.OUT_FOR_DELIVERY: "Out for delivery",
    S.COMPLETED: "Complete",
}


def next_moves(order: Order) -> list[tuple[str, str]]:
    """(action, label) pairs allowed from the order's status, following the state machine."""
    allowed = TRANSITIONS.get(order.status, set())
    moves = []
    for to, label in STAFF_MOVES.items():
        if to not in allowed:
            continue
        if to in {S.READY, S.OUT_FOR_DELIVERY} and HANDOFF[order.fulfilment] != to:
            continue
        if to == S.PREPARING and order.status == S.CONFIRMED and not order.on_account:
            continue
        if to == S.COMPLETED and order.fulfilment == Order.Fulfilment.CURBSIDE:
            moves.append(("hand_over", "Hand over"))
            continue
        moves.append((to, label))
    if S.SHIPPED in allowed and HANDOFF[order.fulfilment] == S.SHIPPED:
        moves.append(("ship", "Ship"))
    return moves


def order_queue(
    *, location: Location, fulfilment: str = "", status: str = "", search: str = "", limit: int = 50
) -> tuple[list[Order], dict[tuple[str, str], int]]:
    """The queue (open orders unless a status is asked for) and its counts by (fulfilment, status):
    two queries."""
    orders = Order.objects.filter(location=location)
    orders = orders.filter(status=status) if status else orders.filter(status__in=OPEN_STATUSES)
    if fulfilment:
        orders = orders.filter(fulfilment=fulfilment)
    if search:
        term = search.strip()
        orders = orders.filter(
            Q(number__icontains=term) | Q(customer__email__icontains=term) | Q(customer__full_name__icontains=term)
        )
    counts = {
        (row["fulfilment"], row["status"]): row["n"]
        for row in orders.order_by().values("fulfilment", "status").annotate(n=Count("id"))
    }
    rows = list(orders.select_related("customer").order_by("placed_at", "id")[:limit])
    return rows, counts


def order_for_location(*, location: Location, order_id: int) -> Order | None:
    """One order of the location with its lines and trail (three queries), or None."""
    return (
        Order.objects.filter(location=location, pk=order_id)
        .select_related("customer")
        .prefetch_related("lines", "events")
        .first()
    )


# ---------------------------------------------------------------------------------------------
# Stock


def stock_rows(
    *,
    location: Location,
    search: str = "",
    low: bool = False,
    expiring_days: int | None = None,
    category_id: int | None = None,
    today: dt.date,
    limit: int = 200,
) -> list[StockItem]:
    next_expiry = (
        LotStock.objects.filter(location=OuterRef("location"), lot__variant=OuterRef("variant"), on_hand__gt=0)
        .order_by("lot__expiry_date")
        .values("lot__expiry_date")[:1]
    )
    items = (
        StockItem.objects.filter(location=location)
        .select_related("variant__product__category")
        .annotate(available_units=F("on_hand") - F("reserved"), next_expiry=Subquery(next_expiry))
    )
    if search:
        term = search.strip()
        items = items.filter(Q(variant__sku__icontains=term) | Q(variant__product__name__icontains=term))
    if low:
        items = items.filter(reorder_point__gt=0, available_units__lte=F("reorder_point"))
    if expiring_days is not None:
        items = items.filter(next_expiry__lte=today + dt.timedelta(days=expiring_days))
    if category_id:
        items = items.filter(variant__product__category_id=category_id)
    return list(items.order_by("variant__sku")[:limit])


def lots_at(*, location: Location, limit: int = 50) -> list[LotStock]:
    """The location's lots with units, soonest expiry first."""
    return list(
        LotStock.objects.filter(location=location, on_hand__gt=0)
        .select_related("lot__variant")
        .order_by(F("lot__expiry_date").asc(nulls_last=True), "lot__batch_number")[:limit]
    )


def ledger_recent(*, location: Location, limit: int = 20) -> list[Movement]:
    return list(
        Movement.objects.filter(location=location)
        .select_related("variant", "lot")
        .order_by("-created_at", "-id")[:limit]
    )


def categories() -> list:
    from apps.catalog.models import Category

    return list(Category.objects.order_by("name"))


def variants_at(*, location: Location) -> list[tuple[str, str]]:
    """(sku, name) of what the location stocks, for the forms' suggestions."""
    return list(
        StockItem.objects.filter(location=location)
        .order_by("variant__sku")
        .values_list("variant__sku", "variant__product__name")
    )


# ---------------------------------------------------------------------------------------------
# Sales


@dataclass(frozen=True)
class SalesReport:
    start: dt.date
    end: dt.date
    granularity: str
    series: list[dict]  # period, revenue, orders
    by_category: list[dict]  # category, units, revenue
    top_products: list[dict]  # product, sku, units, revenue
    orders: int
    revenue: Decimal
    average_basket: Decimal
    tier_mix: list[dict] | None  # tier, orders (None: no loyalty app)


def _span(start: dt.date, end: dt.date) -> Q:
    zone = tenant_zone()
    begin = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    stop = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return Q(placed_at__gte=begin, placed_at__lt=stop)


def _periods(start: dt.date, end: dt.date, granularity: str) -> list[dt.date]:
    """Every day (or every Monday-started week) of the range, so empty ones show as zero."""
    if granularity == "week":
        first = start - dt.timedelta(days=start.weekday())
        return [first + dt.timedelta(weeks=n) for n in range((end - first).days // 7 + 1)]
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def sales_report(*, location: Location, start: dt.date, end: dt.date, granularity: str = "day") -> SalesReport:
    """Five queries: the series, categories, top products, the totals, the tier mix."""
    zone = tenant_zone()
    sales = Order.objects.filter(location=location).filter(_span(start, end)).exclude(status__in=NOT_SALES)
    trunc = TruncWeek if granularity == "week" else TruncDay
    series = list(
        sales.annotate(period=trunc("placed_at", tzinfo=zone))
        .order_by()
        .values("period")
        .annotate(revenue=Coalesce(Sum("total"), ZERO), orders=Count("id"))
        .order_by("period")
    )
    found = {row["period"].astimezone(zone).date(): row for row in series}
    series = [
        {**found.get(period, {"revenue": Decimal("0"), "orders": 0}), "period": period}
        for period in _periods(start, end, granularity)
    ]
    paid = ExpressionWrapper(F("line_total") - F("discount"), output_field=MONEY)
    lines = OrderLine.objects.filter(order__in=sales.values("pk"))
    by_category = list(
        lines.order_by()
        .values(category=Coalesce("variant__product__category__name", Value("Uncategorised")))
        .annotate(units=Sum("quantity"), revenue=Coalesce(Sum(paid), ZERO))
        .order_by("-revenue", "category")
    )
    top_products = list(
        lines.order_by()
        .values("sku", product=F("variant__product__name"))
        .annotate(units=Sum("quantity"), revenue=Coalesce(Sum(paid), ZERO))
        .order_by("-revenue", "sku")[:10]
    )
    totals = sales.aggregate(orders=Count("id"), revenue=Coalesce(Sum("total"), ZERO), average=Avg("total"))
    tier_mix = None
    if apps.is_installed("apps.loyalty"):
        from apps.loyalty.models import Account

        tier = Subquery(Account.objects.filter(user=OuterRef("customer")).values("tier")[:1])
        tier_mix = list(
            sales.annotate(tier=Coalesce(tier, Value("none")))
            .order_by()
            .values("tier")
            .annotate(orders=Count("id"), revenue=Coalesce(Sum("total"), ZERO))
            .order_by("-orders", "tier")
        )
    return SalesReport(
        start=start,
        end=end,
        granularity=granularity,
        series=series,
        by_category=by_category,
        top_products=top_products,
        orders=totals["orders"],
        revenue=totals["revenue"],
        average_basket=(totals["average"] or Decimal("0")),
        tier_mix=tier_mix,
    )


# ---------------------------------------------------------------------------------------------
# Reorder


def reorder_rows(*, location: Location) -> list[ReorderSuggestion]:
    return list(
        ReorderSuggestion.objects.filter(stock_item__location=location)
        .select_related("stock_item__variant__product", "supplier")
        .annotate(available_units=F("stock_item__on_hand") - F("stock_item__reserved"))
        .order_by(F("days_of_cover").asc(nulls_last=True), "stock_item__variant__sku")
    )


def purchase_orders_recent(*, location: Location, limit: int = 10) -> list[PurchaseOrder]:
    return list(
        PurchaseOrder.objects.filter(location=location)
        .select_related("supplier")
        .annotate(line_count=Count("lines"), units=Coalesce(Sum("lines__quantity"), 0))
        .order_by("-created_at", "-id")[:limit]
    )


# ---------------------------------------------------------------------------------------------
# Reviews


def reviews_enabled() -> bool:
    return apps.is_installed("apps.reviews")


def reviews_of_location(*, location: Location) -> QuerySet:
    """Reviews of the location and of the products it stocks (any status but deleted)."""
    from apps.reviews.models import Review

    stocked = StockItem.objects.filter(location=location).values("variant__product_id")
    return Review.objects.filter(Q(location=location) | Q(product_id__in=Subquery(stocked)), is_deleted=False)


def reviews_recent(*, location: Location, limit: int = 30) -> list:
    return list(
        reviews_of_location(location=location)
        .select_related("customer", "product", "location", "reply")
        .order_by("-created_at", "-id")[:limit]
    )
