"""Stock reads, scoped to what the caller may see: store managers see their own locations only."""

from __future__ import annotations

from django.db.models import F, QuerySet

from apps.accounts.policy import Principal
from apps.stock.models import Location, Lot, Movement, RestockAlert, StockItem


def location_list(*, principal: Principal, user: object, include_inactive: bool = False) -> QuerySet[Location]:
    """The locations the caller may see: active ones (history readers such as the procurement
    report pass `include_inactive`: a location closed since still received what it received)."""
    locations = Location.objects.all() if include_inactive else Location.objects.filter(is_active=True)
    if (
        principal.kind == "staff"
        and "store_manager" in principal.roles
        and not principal.roles & {"owner", "warehouse"}
    ):
        locations = locations.filter(managers=user)
    return locations.order_by("name")


def location_get(*, principal: Principal, user: object, location_id: int) -> Location | None:
    return location_list(principal=principal, user=user).filter(pk=location_id).first()


def stock_item_list(*, locations: QuerySet[Location]) -> QuerySet[StockItem]:
    return (
        StockItem.objects.filter(location__in=locations)
        .select_related("variant", "location")
        .annotate(available_units=F("on_hand") - F("reserved"))
        .order_by("variant__sku", "location__name")
    )


def movement_list(*, locations: QuerySet[Location]) -> QuerySet[Movement]:
    return Movement.objects.filter(location__in=locations).select_related("variant", "location", "lot")


def lot_list(*, locations: QuerySet[Location]) -> QuerySet[Lot]:
    from django.db.models import Prefetch

    from apps.stock.models import LotStock

    stocks = LotStock.objects.filter(location__in=locations).select_related("location")
    return Lot.objects.select_related("variant").prefetch_related(Prefetch("stocks", queryset=stocks))


def lot_recall(*, lot: Lot, locations: QuerySet[Location]) -> dict:
    """Where a batch is now and every movement it took part in (at the caller's locations)."""
    return {
        "lot": lot,
        "stocks": list(lot.stocks.select_related("location").filter(on_hand__gt=0, location__in=locations)),
        "movements": list(
            lot.movements.select_related("location", "variant", "lot").filter(location__in=locations).order_by("id")
        ),
    }


def alert_list(*, locations: QuerySet[Location]) -> QuerySet[RestockAlert]:
    return RestockAlert.objects.filter(stock_item__location__in=locations, closed_at__isnull=True).select_related(
        "stock_item__variant", "stock_item__location"
    )
