"""The store locator: public stores for guests and customers, nearest first, open now (overnight
ranges, the tenant's timezone, holiday exceptions), a variant's availability without counts, and
only the tenant's own public stores."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from apps.stock import locator
from apps.stock import services as stock
from apps.stock.api.locator_views import StoreListView
from apps.stock.demo import seed_catalog_and_stock
from apps.stock.models import HoursException, Location, OpeningHours, StockItem
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A, TENANT_B

CHICAGO = ZoneInfo("America/Chicago")  # TENANT_A's timezone
# 2026-12-04 is a Friday.
FRIDAY = dt.date(2026, 12, 4)


def anonymous(spec=TENANT_A):
    return Client(HTTP_HOST=spec.domain)


def at(monkeypatch, when: dt.datetime) -> None:
    """Freeze the locator's clock."""
    monkeypatch.setattr(locator, "clock", lambda: when)


def store(code, **extra):
    return f.location(code=code, is_public=True, pickup_enabled=True, **extra)


def by_code(response):
    assert response.status_code == 200, response.content
    return {card["code"]: card for card in response.json()["results"]}


def test_a_guest_lists_public_stores_without_credentials_and_never_sees_warehouses(tenant_a):
    with tenant_context(tenant_a):
        store("north", address="12 North St", city="Chicago", latitude=Decimal("41.89"), longitude=Decimal("-87.62"))
        f.location(code="wh", kind="warehouse")  # a new location is not public until staff publish it
        f.location(code="hidden", is_public=False)
        store("closed-down", is_active=False)
    cards = by_code(anonymous().get("/api/v1/stores"))
    assert list(cards) == ["north"]
    north = cards["north"]
    assert (north["address"], north["city"], north["latitude"], north["longitude"]) == (
        "12 North St",
        "Chicago",
        "41.890000",
        "-87.620000",
    )
    assert north["pickup_enabled"] is True and north["curbside_enabled"] is False
    assert north["distance_km"] is None and north["availability"] is None
    assert north["timezone"] == "America/Chicago"
    # A retail customer (403 on the staff location list) finds its pickup store here.
    customer = Client(HTTP_HOST=TENANT_A.domain, **p.customer_headers(tenant_a, "retail"))
    assert customer.get("/api/v1/locations").status_code == 403
    assert list(by_code(customer.get("/api/v1/stores"))) == ["north"]
    with tenant_context(tenant_a):
        warehouse = Location.objects.get(code="wh")
    assert anonymous().get(f"/api/v1/stores/{warehouse.pk}").status_code == 404
    assert anonymous().get(f"/api/v1/stores/{north['id']}").json()["code"] == "north"


def test_nearest_first_with_the_distance_computed_by_the_database(tenant_a, django_assert_max_num_queries):
    with tenant_context(tenant_a):
        store("far", latitude=Decimal("41.9900"), longitude=Decimal("-87.6200"))  # ~11 km north
        store("near", latitude=Decimal("41.8900"), longitude=Decimal("-87.6200"))
        store("nowhere")  # no coordinates: last
        store("mid", latitude=Decimal("41.9350"), longitude=Decimal("-87.6200"))
    client = anonymous()
    # The tenant routing (search path, domain, search path: cached in production), then the count,
    # the page with its distances, the weekly hours and the exceptions: no query per store.
    with django_assert_max_num_queries(7):
        response = client.get("/api/v1/stores", {"lat": "41.8900", "lng": "-87.6200"})
    cards = by_code(response)
    assert list(cards) == ["near", "mid", "far", "nowhere"]
    assert cards["near"]["distance_km"] == 0.0
    assert cards["mid"]["distance_km"] == pytest.approx(5.0, abs=0.1)
    assert cards["far"]["distance_km"] == pytest.approx(11.12, abs=0.05)
    assert cards["nowhere"]["distance_km"] is None
    # Without a point: by name, no distances.
    plain = client.get("/api/v1/stores").json()["results"]
    assert [c["name"] for c in plain] == sorted(c["name"] for c in plain) and len(plain) == 4
    assert {c["distance_km"] for c in plain} == {None}


@pytest.mark.parametrize(
    "query, field",
    [
        ({"lat": "91", "lng": "0"}, "lat"),
        ({"lat": "abc", "lng": "0"}, "lat"),
        ({"lat": "NaN", "lng": "0"}, "lat"),
        ({"lat": "10", "lng": "-180.5"}, "lng"),
        ({"lat": "10", "lng": "Infinity"}, "lng"),
        ({"lat": "10"}, "lng"),
        ({"variant": "NO-SUCH-SKU"}, "variant"),
        ({"offers": "teleport"}, "offers"),
    ],
)
def test_bad_coordinates_or_filters_answer_400(tenant_a, query, field):
    response = anonymous().get("/api/v1/stores", query)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]


def test_open_now_follows_the_tenant_timezone_and_runs_past_midnight(tenant_a, monkeypatch):
    with tenant_context(tenant_a):
        late = store("late")  # Location.timezone left at UTC: the tenant's zone applies
        OpeningHours.objects.create(location=late, weekday=4, opens=dt.time(18), closes=dt.time(2))  # Fri 18-02
        OpeningHours.objects.create(location=late, weekday=0, opens=dt.time(9), closes=dt.time(17))
    client = anonymous()

    def card(local: dt.datetime) -> dict:
        at(monkeypatch, local.astimezone(dt.UTC))
        return by_code(client.get("/api/v1/stores"))["late"]

    # Saturday 01:30 in Chicago (07:30 UTC): still in Friday's range.
    after_midnight = card(dt.datetime(2026, 12, 5, 1, 30, tzinfo=CHICAGO))
    assert after_midnight["open_now"] is True
    assert after_midnight["next_closing"] == "2026-12-05T08:00:00Z"  # 02:00 Chicago
    assert after_midnight["next_opening"] == "2026-12-07T15:00:00Z"  # Monday 09:00 Chicago
    # Saturday 02:30: closed until Monday 09:00, which ends at 17:00.
    closed = card(dt.datetime(2026, 12, 5, 2, 30, tzinfo=CHICAGO))
    assert closed["open_now"] is False
    assert (closed["next_opening"], closed["next_closing"]) == ("2026-12-07T15:00:00Z", "2026-12-07T23:00:00Z")
    # Monday 16:30 in Chicago is 22:30 UTC: open (evaluated in UTC it would look closed).
    assert card(dt.datetime(2026, 12, 7, 16, 30, tzinfo=CHICAGO))["open_now"] is True
    assert card(dt.datetime(2026, 12, 7, 8, 30, tzinfo=CHICAGO))["open_now"] is False
    hours = card(dt.datetime(2026, 12, 7, 12, tzinfo=CHICAGO))["hours"]
    assert hours == [
        {"weekday": 0, "day": "Monday", "opens": "09:00", "closes": "17:00"},
        {"weekday": 4, "day": "Friday", "opens": "18:00", "closes": "02:00"},
    ]


def test_a_location_timezone_overrides_the_tenants_and_two_ranges_a_day_leave_a_gap(tenant_a):
    with tenant_context(tenant_a):
        tokyo = store("tokyo", timezone="Asia/Tokyo")
        OpeningHours.objects.create(location=tokyo, weekday=4, opens=dt.time(9), closes=dt.time(12))
        OpeningHours.objects.create(location=tokyo, weekday=4, opens=dt.time(13), closes=dt.time(18))
        tokyo = locator.store_get(location_id=tokyo.pk)
        lunch = dt.datetime(2026, 12, 4, 12, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
        state = locator.status(tokyo, lunch)
        assert state.open_now is False and state.next_opening == dt.datetime(2026, 12, 4, 4, 0, tzinfo=dt.UTC)
        assert locator.status(tokyo, lunch + dt.timedelta(hours=1)).open_now is True


def test_a_holiday_exception_closes_the_store_and_special_hours_replace_the_day(tenant_a, monkeypatch):
    with tenant_context(tenant_a):
        shop = store("shop")
        for weekday in range(7):
            OpeningHours.objects.create(location=shop, weekday=weekday, opens=dt.time(9), closes=dt.time(17))
        HoursException.objects.create(location=shop, date=FRIDAY, closed=True, note="Founders' Day")
        HoursException.objects.create(
            location=shop, date=FRIDAY + dt.timedelta(days=1), opens=dt.time(12), closes=dt.time(14), note="Short day"
        )
    at(monkeypatch, dt.datetime(2026, 12, 4, 11, tzinfo=CHICAGO).astimezone(dt.UTC))  # Friday 11:00, a 9-17 day
    card = by_code(anonymous().get("/api/v1/stores"))["shop"]
    assert card["open_now"] is False and card["note"] == "Founders' Day"
    assert card["next_opening"] == "2026-12-05T18:00:00Z"  # Saturday 12:00 Chicago, the special hours
    assert card["next_closing"] == "2026-12-05T20:00:00Z"
    assert card["exceptions"] == [
        {"date": "2026-12-04", "closed": True, "opens": None, "closes": None, "note": "Founders' Day"},
        {"date": "2026-12-05", "closed": False, "opens": "12:00", "closes": "14:00", "note": "Short day"},
    ]


def test_availability_per_store_is_in_stock_low_or_out_never_a_count(tenant_a):
    with tenant_context(tenant_a):
        plenty, few, empty = store("plenty"), store("few"), store("empty")
        store("none")  # no stock row at all
        sauce = f.variant(sku="SAUCE")
        f.receive(plenty, sauce, 20)
        f.receive(few, sauce, 5)
        f.receive(empty, sauce, 2)
        StockItem.objects.filter(variant=sauce).update(reorder_point=4)
        # few: 5 on hand, 2 reserved -> 3 available, at or below its reorder point of 4
        stock.reservation_create(
            reference="hold", lines=[stock.ReserveLine(sauce, few, 2)], ttl=dt.timedelta(minutes=5)
        )
        stock.reservation_create(
            reference="hold-all", lines=[stock.ReserveLine(sauce, empty, 2)], ttl=dt.timedelta(minutes=5)
        )
    client = anonymous()
    for key in ("SAUCE", str(sauce.pk)):
        response = client.get("/api/v1/stores", {"variant": key})
        cards = by_code(response)
        levels = {code: card["availability"] for code, card in cards.items()}
        assert levels == {"plenty": "in_stock", "few": "low", "none": "out", "empty": "out"}
    text = response.content.decode()
    assert "on_hand" not in text and "reserved" not in text and '"available"' not in text
    detail = client.get(f"/api/v1/stores/{few.pk}", {"variant": "SAUCE"}).json()
    assert detail["availability"] == "low"


def test_stores_of_another_tenant_are_invisible(tenant_a, tenant_b):
    with tenant_context(tenant_b):
        paris = store("paris")
    with tenant_context(tenant_a):
        store("alpha-only")
    assert list(by_code(anonymous(TENANT_A).get("/api/v1/stores"))) == ["alpha-only"]
    assert list(by_code(anonymous(TENANT_B).get("/api/v1/stores"))) == ["paris"]
    with tenant_context(tenant_a):
        assert not Location.objects.filter(pk=paris.pk, code="paris").exists()
    assert anonymous(TENANT_A).get(f"/api/v1/stores/{paris.pk}").status_code == 404


def test_offers_keeps_the_stores_offering_that_fulfilment(tenant_a):
    with tenant_context(tenant_a):
        store("curb", curbside_enabled=True)
        store("plain")
        f.location(code="courier", is_public=True, delivery_enabled=True)
    client = anonymous()
    assert list(by_code(client.get("/api/v1/stores", {"offers": "curbside"}))) == ["curb"]
    assert list(by_code(client.get("/api/v1/stores", {"offers": "delivery"}))) == ["courier"]
    assert set(by_code(client.get("/api/v1/stores", {"offers": "pickup"}))) == {"curb", "plain"}


def test_the_store_list_is_rate_limited_like_other_public_endpoints():
    names = {type(t).__name__ for t in StoreListView().get_throttles()}
    assert names == {"PrincipalPlanThrottle", "TenantPlanThrottle"}


def test_the_demo_stores_have_coordinates_hours_and_a_holiday(tenant_a):
    with tenant_context(tenant_a):
        assert seed_catalog_and_stock()
        warehouse = Location.objects.get(code="warehouse")
        assert not warehouse.is_public
    cards = by_code(anonymous().get("/api/v1/stores", {"lat": "40.7580", "lng": "-73.9855"}))
    assert list(cards) == ["north", "south"]
    for card in cards.values():
        assert card["latitude"] and card["longitude"] and len(card["hours"]) == 7
        assert card["timezone"] == "America/New_York"
    with tenant_context(tenant_a):
        assert HoursException.objects.filter(closed=True, note="Christmas Day").count() == 2
        # South stays open past midnight on Fridays.
        south = locator.store_get(location_id=Location.objects.get(code="south").pk)
        friday_night = dt.datetime(2026, 12, 5, 0, 30, tzinfo=ZoneInfo("America/New_York"))
        assert locator.status(south, friday_night).open_now is True


def test_a_location_with_a_time_zone_that_does_not_exist_is_refused_by_the_model(tenant_a):
    # The admin's form runs full_clean: a made-up zone never reaches route planning or the hours.
    from django.core.exceptions import ValidationError

    with tenant_context(tenant_a):
        location = f.location(code="tz-check")
        location.timezone = "Mars/Olympus_Mons"
        with pytest.raises(ValidationError) as raised:
            location.full_clean()
        assert raised.value.error_dict["timezone"][0].code == "invalid_timezone"
        location.timezone = "Europe/Lisbon"
        location.full_clean()
