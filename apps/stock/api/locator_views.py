"""Store locator API: public stores for customers and guests (no credentials needed; rate-limited
by the tenant's plan like every public endpoint). See apps.stock.locator."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.policy import PUBLIC
from apps.core.errors import InvalidInput, NotFound
from apps.stock import locator
from apps.stock.models import Location


class StoreQuerySerializer(serializers.Serializer):
    lat = serializers.DecimalField(max_digits=None, decimal_places=None, min_value=-90, max_value=90, required=False)
    lng = serializers.DecimalField(max_digits=None, decimal_places=None, min_value=-180, max_value=180, required=False)
    variant = serializers.CharField(max_length=64, required=False)
    offers = serializers.ChoiceField(choices=sorted(locator.OFFERS), required=False)

    def validate(self, data: dict) -> dict:
        if ("lat" in data) != ("lng" in data):
            missing = "lng" if "lat" in data else "lat"
            raise serializers.ValidationError({missing: ["Give lat and lng together."]})
        return data


class WeeklyHoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(help_text="0 = Monday … 6 = Sunday.")
    day = serializers.CharField()
    opens = serializers.TimeField(format="%H:%M")
    closes = serializers.TimeField(format="%H:%M", help_text="Earlier than opens: after midnight.")


class HoursExceptionSerializer(serializers.Serializer):
    date = serializers.DateField()
    closed = serializers.BooleanField()
    opens = serializers.TimeField(format="%H:%M", allow_null=True)
    closes = serializers.TimeField(format="%H:%M", allow_null=True)
    note = serializers.CharField()


class StoreSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()
    address = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()
    phone = serializers.CharField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    distance_km = serializers.FloatField(
        allow_null=True, help_text="From `lat`/`lng` when given (great-circle, 2 decimals); else null."
    )
    timezone = serializers.CharField(help_text="The zone its hours are in.")
    pickup_enabled = serializers.BooleanField()
    curbside_enabled = serializers.BooleanField()
    delivery_enabled = serializers.BooleanField()
    open_now = serializers.BooleanField()
    next_opening = serializers.DateTimeField(allow_null=True, help_text="When it next opens (null: not in 14 days).")
    next_closing = serializers.DateTimeField(
        allow_null=True, help_text="Open: when it closes. Closed: when its next opening ends."
    )
    note = serializers.CharField(help_text="Today's exception note, e.g. 'Christmas Eve: closes early'.")
    hours = WeeklyHoursSerializer(many=True)
    exceptions = HoursExceptionSerializer(many=True, help_text="Dates in the next 14 days with other hours.")
    availability = serializers.ChoiceField(
        choices=["in_stock", "low", "out"],
        allow_null=True,
        help_text="With `variant`: in_stock, low (at or below the reorder point) or out. Never a count.",
    )


def _card(location: Location, levels: dict[int, str] | None, now: object) -> dict:
    status = locator.status(location, now)
    zone = locator.zone_of(location)
    distance = getattr(location, "distance_km", None)
    return {
        "id": location.pk,
        "name": location.name,
        "code": location.code,
        "address": location.address,
        "city": location.city,
        "postal_code": location.postal_code,
        "country": location.country,
        "phone": location.phone,
        "latitude": location.latitude,
        "longitude": location.longitude,
        "distance_km": round(distance, 2) if distance is not None else None,
        "timezone": zone.key,
        "pickup_enabled": location.pickup_enabled,
        "curbside_enabled": location.curbside_enabled,
        "delivery_enabled": location.delivery_enabled,
        "open_now": status.open_now,
        "next_opening": status.next_opening,
        "next_closing": status.next_closing,
        "note": status.note,
        "hours": [
            {"weekday": h.weekday, "day": h.get_weekday_display(), "opens": h.opens, "closes": h.closes}
            for h in location.hours.all()
        ],
        "exceptions": [
            {"date": e.date, "closed": e.closed, "opens": e.opens, "closes": e.closes, "note": e.note}
            for e in locator.upcoming_exceptions(location, now.astimezone(zone).date())
        ],
        "availability": levels.get(location.pk) if levels is not None else None,
    }


def _query(request: Request) -> dict:
    query = StoreQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = dict(query.validated_data)
    data["near"] = (float(data["lat"]), float(data["lng"])) if "lat" in data else None
    data["variant_obj"] = None
    if "variant" in data:
        data["variant_obj"] = locator.variant_find(data["variant"])
        if data["variant_obj"] is None:
            raise InvalidInput(
                "No such variant.", code="validation_error", details={"variant": ["Unknown variant (id or SKU)."]}
            )
    return data


QUERY_PARAMETERS = [
    OpenApiParameter("lat", OpenApiTypes.DECIMAL, description="Latitude (-90..90), with `lng`: nearest first."),
    OpenApiParameter("lng", OpenApiTypes.DECIMAL, description="Longitude (-180..180), with `lat`."),
    OpenApiParameter("variant", OpenApiTypes.STR, description="A variant id or SKU: its availability per store."),
]


class StoreListView(GenericAPIView):
    list_view = True  # GET answers a page
    queryset = Location.objects.none()  # for the schema
    access_policy = PUBLIC
    serializer_class = StoreSerializer
    filter_backends: list = []  # lat/lng/variant/offers are validated here, not by the filter backends

    @extend_schema(
        operation_id="stores_list",
        summary="Find a store",
        description="Public stores of this business (no credentials needed): address, coordinates, what "
        "each offers, weekly hours with the coming exceptions, `open_now` and the next opening and "
        "closing (in the store's time zone). With `lat` and `lng`: nearest first with `distance_km`. "
        "With `variant` (id or SKU): `availability` per store (`in_stock`, `low`, `out`; never counts). "
        "`offers=pickup|curbside|delivery` keeps the stores that offer it. Bad coordinates, an unknown "
        "variant or only one of lat/lng: 400 `validation_error`.",
        parameters=[
            *QUERY_PARAMETERS,
            OpenApiParameter("offers", OpenApiTypes.STR, enum=sorted(locator.OFFERS), description="Only these."),
        ],
        tags=["stores"],
    )
    def get(self, request: Request) -> Response:
        query = _query(request)
        now = locator.clock()
        page = self.paginate_queryset(locator.store_list(near=query["near"], offers=query.get("offers")))
        levels = None
        if query["variant_obj"] is not None:
            levels = locator.availability(variant=query["variant_obj"], location_ids=[loc.pk for loc in page])
        cards = [_card(location, levels, now) for location in page]
        return self.get_paginated_response(StoreSerializer(cards, many=True).data)


class StoreDetailView(GenericAPIView):
    queryset = Location.objects.none()  # for the schema
    access_policy = PUBLIC
    serializer_class = StoreSerializer

    @extend_schema(
        operation_id="stores_get",
        summary="A store",
        description="One public store, as in the list (`lat`/`lng` for its distance, `variant` for its "
        "availability). A warehouse, an inactive or non-public location is 404.",
        parameters=QUERY_PARAMETERS,
        tags=["stores"],
    )
    def get(self, request: Request, location_id: int) -> Response:
        query = _query(request)
        store = locator.store_get(location_id=location_id, near=query["near"])
        if store is None:
            raise NotFound("No such store.")
        levels = None
        if query["variant_obj"] is not None:
            levels = locator.availability(variant=query["variant_obj"], location_ids=[store.pk])
        return Response(StoreSerializer(_card(store, levels, locator.clock())).data)
