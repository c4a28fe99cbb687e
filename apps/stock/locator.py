"""The store locator: the public side of locations, for customers and guests.

Only active locations marked `is_public` ever appear (warehouses are not). Each store shows its
address, coordinates, what it offers (pickup, curbside, delivery), its weekly opening hours with
the coming exceptions (holidays: closed, or special hours), whether it is open now and the next
opening and closing time, the distance from a given point (computed by PostgreSQL, nearest first),
and, for one variant, whether it is in stock there: `in_stock`, `low` (at or below the stock row's
reorder point) or `out`, never the count.

Hours are the store's wall-clock time: the location's own `timezone` when one is set (anything but
the default "UTC"), else the tenant's timezone. A range whose closing time is earlier than its
opening time closes after midnight; equal times mean open around the clock. Any exception row for
a date replaces that date's weekly hours (a closed row: no hours that day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection
from django.db.models import Case, F, FloatField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import ASin, Cast, Cos, Least, Power, Radians, Sin, Sqrt
from django.utils import timezone

from apps.catalog.models import Variant
from apps.stock.models import HoursException, Location, OpeningHours, StockItem

EARTH_RADIUS_KM = 6371.0088
LOOKAHEAD_DAYS = 14  # how far ahead the next opening is looked for (and exceptions listed)
OFFERS = {"pickup": "pickup_enabled", "curbside": "curbside_enabled", "delivery": "delivery_enabled"}


def clock() -> dt.datetime:
    """The time the locator answers for (tests set it)."""
    return timezone.now()


def zone_of(location: Location) -> ZoneInfo:
    name = location.timezone if location.timezone and location.timezone != "UTC" else None
    name = name or getattr(getattr(connection, "tenant", None), "timezone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _distance_km(latitude: float, longitude: float) -> object:
    """Haversine distance from (latitude, longitude) to each row's coordinates, as SQL."""
    lat = Radians(Cast("latitude", FloatField()))
    lng = Radians(Cast("longitude", FloatField()))
    lat0, lng0 = Value(latitude, FloatField()), Value(longitude, FloatField())
    a = Power(Sin((lat - Radians(lat0)) / 2), 2) + Cos(lat) * Cos(Radians(lat0)) * Power(
        Sin((lng - Radians(lng0)) / 2), 2
    )
    # LEAST keeps rounding from pushing asin out of its domain; it ignores NULLs, hence the CASE.
    distance = Value(2 * EARTH_RADIUS_KM, FloatField()) * ASin(Least(Sqrt(a), Value(1.0, FloatField())))
    located = Q(latitude__isnull=False, longitude__isnull=False)
    return Case(When(located, then=distance), default=None, output_field=FloatField())


def store_list(
    *, near: tuple[float, float] | None = None, offers: str | None = None, today: dt.date | None = None
) -> QuerySet[Location]:
    """Public stores with their hours and the exceptions around the coming days (prefetched), nearest
    first from `near` (then by name; stores without coordinates last), else by name."""
    today = today or clock().date()
    exceptions = HoursException.objects.filter(
        date__gte=today - dt.timedelta(days=2), date__lte=today + dt.timedelta(days=LOOKAHEAD_DAYS + 2)
    )
    stores = Location.objects.filter(is_active=True, is_public=True).prefetch_related(
        Prefetch("hours", queryset=OpeningHours.objects.order_by("weekday", "opens")),
        Prefetch("hours_exceptions", queryset=exceptions.order_by("date", "opens")),
    )
    if offers:
        stores = stores.filter(**{OFFERS[offers]: True})
    if near is None:
        return stores.order_by("name", "id")
    stores = stores.annotate(distance_km=_distance_km(*near))
    return stores.order_by(F("distance_km").asc(nulls_last=True), "name", "id")


def store_get(*, location_id: int, near: tuple[float, float] | None = None) -> Location | None:
    return store_list(near=near).filter(pk=location_id).first()


# ---------------------------------------------------------------------------------------------
# Opening hours


@dataclass(frozen=True)
class Status:
    open_now: bool
    next_opening: dt.datetime | None  # closed: when it opens; open: when it opens again after closing
    next_closing: dt.datetime | None  # open: when it closes; closed: when the next opening ends
    note: str  # today's exception note (e.g. "Christmas Day"), if any


def _ranges_on(day: dt.date, location: Location) -> list[tuple[dt.time, dt.time]]:
    special = [e for e in location.hours_exceptions.all() if e.date == day]
    if special:
        return [(e.opens, e.closes) for e in special if not e.closed]
    return [(h.opens, h.closes) for h in location.hours.all() if h.weekday == day.weekday()]


def intervals(location: Location, start: dt.date, days: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """The store's opening intervals (aware datetimes) for the dates start .. start + days - 1,
    overnight ranges running into the next day, overlapping or touching ones merged."""
    tz = zone_of(location)
    spans = []
    for n in range(days):
        day = start + dt.timedelta(days=n)
        for opens, closes in _ranges_on(day, location):
            begin = dt.datetime.combine(day, opens, tzinfo=tz)
            end_day = day if closes > opens else day + dt.timedelta(days=1)
            spans.append((begin, dt.datetime.combine(end_day, closes, tzinfo=tz)))
    spans.sort()
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for begin, end in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def status(location: Location, now: dt.datetime | None = None) -> Status:
    now = now or clock()
    today = now.astimezone(zone_of(location)).date()
    spans = intervals(location, today - dt.timedelta(days=1), LOOKAHEAD_DAYS + 2)
    note = next((e.note for e in location.hours_exceptions.all() if e.date == today and e.note), "")
    for n, (begin, end) in enumerate(spans):
        if begin <= now < end:
            after = spans[n + 1][0] if n + 1 < len(spans) else None
            return Status(True, after, end, note)
        if begin > now:
            return Status(False, begin, end, note)
    return Status(False, None, None, note)


# ---------------------------------------------------------------------------------------------
# Availability of one variant, per store (never the count)


def variant_find(value: str) -> Variant | None:
    """A live variant by SKU, or by id when the value is a number and no SKU matches."""
    value = value.strip()
    if not value:
        return None
    variants = Variant.objects.filter(is_archived=False)
    found = variants.filter(sku=value).first()
    if found is None and value.isascii() and value.isdigit() and len(value) < 19:
        found = variants.filter(pk=int(value)).first()
    return found


def availability(*, variant: Variant, location_ids: list[int]) -> dict[int, str]:
    """{location id: in_stock | low | out} in one statement. Low: available at or below the stock
    row's reorder point; out: nothing available (or no stock row)."""
    rows = StockItem.objects.filter(variant=variant, location_id__in=location_ids).values_list(
        "location_id", "on_hand", "reserved", "reorder_point"
    )
    levels = dict.fromkeys(location_ids, "out")
    for location_id, on_hand, reserved, reorder_point in rows:
        available = on_hand - reserved
        if available > 0:
            levels[location_id] = "low" if available <= reorder_point else "in_stock"
    return levels


def upcoming_exceptions(location: Location, today: dt.date) -> list[HoursException]:
    return [e for e in location.hours_exceptions.all() if today <= e.date <= today + dt.timedelta(days=LOOKAHEAD_DAYS)]
