"""Orders API: customers place and follow their own orders; staff run them through the lifecycle."""

import json

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpResponseRedirect
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.policy import ALL_STAFF, Access, principal_of
from apps.catalog.models import Variant
from apps.core import sqlcache
from apps.core.api.views import found_or_invalid, get_or_404, get_or_invalid, paginated
from apps.core.errors import InvalidInput, NotFound
from apps.core.versioning import VERSIONED_READ, VERSIONED_WRITE, VersionedView
from apps.orders import services
from apps.orders.api import serializers as s
from apps.orders.models import DeliveryRoute, Order, OrderEvent, OrderLine, ReturnRequest, RouteStop
from apps.orders.selectors import order_with_children, order_with_children_of
from apps.stock.models import Location
from apps.stock.selectors import location_list

BUYERS = Access(
    guest=True,
    retail=True,
    wholesale=True,
    staff_roles=frozenset({"owner", "store_manager"}),
    api_key_scope="orders:write",
)
READERS = Access(guest=True, retail=True, wholesale=True, staff_roles=ALL_STAFF, api_key_scope="orders:read")
OPERATORS = Access(staff_roles=frozenset({"owner", "store_manager"}))
CHANNELS = {"guest": "retail", "retail": "retail", "wholesale": "wholesale", "staff": "staff", "api_key": "partner"}


def _live_variants(*skus: str) -> QuerySet[Variant]:
    return Variant.objects.select_related("product").filter(sku__in=skus, is_archived=False)


def _active_location(location_id: int) -> QuerySet[Location]:
    return Location.objects.filter(is_active=True, pk=location_id)


def _orders_scoped(scope: str, *values: int) -> QuerySet[Order]:
    """The orders of a scope that is one value (see `order_scope`), with their location."""
    orders = Order.objects.select_related("location")
    if scope == "placed_by_key":
        return orders.filter(placed_by_key_id=values[0])
    if scope == "customer":
        return orders.filter(customer_id=values[0])
    if scope == "nobody":
        return orders.none()
    return orders  # "all"


def order_scope(request: Request) -> tuple[str, tuple[int, ...]] | None:
    """How far the caller sees orders, when that is a column and a value: a partner the orders its
    key placed ("placed_by_key"), a customer their own ("customer"), owners and warehouse staff all
    of them ("all"), someone not signed in none ("nobody"). None for store managers (the
    locations they manage: see `visible_orders`)."""
    principal = principal_of(request)
    if principal.kind == "api_key":
        return "placed_by_key", (request.auth.pk,)
    if principal.kind == "anonymous" or request.user.pk is None:
        return "nobody", ()
    if principal.kind != "staff":
        return "customer", (request.user.pk,)
    if principal.roles & {"owner", "warehouse"}:
        return "all", ()
    return None


def visible_orders(request: Request, *, children: bool = True, changing: bool = False) -> QuerySet[Order]:
    """Customers: their own orders. Partners: partner-channel orders. Staff: all (store managers:
    the orders whose `location` they manage, and those with a line allocated to one of their
    locations: a split order they pick part of). `changing`: a store manager only the former (the
    order's own location runs it). `children`: prefetch the lines and events (a one-row read takes
    them in its own statement instead: `selectors.order_with_children`)."""
    scope = order_scope(request)
    if scope is not None:
        orders = _orders_scoped(scope[0], *scope[1])
    elif changing:
        orders = Order.objects.select_related("location").filter(location__managers=request.user)
    else:
        # Subqueries, not joins: one row per order however many lines or managers match (no DISTINCT,
        # which the one-statement read's JSON columns could not take), in the same statement.
        mine = Location.objects.filter(managers=request.user).values("pk")
        picks_here = OrderLine.objects.filter(order_id=OuterRef("pk"), location_id__in=mine)
        orders = Order.objects.select_related("location").filter(Q(location_id__in=mine) | Q(Exists(picks_here)))
    if children:
        orders = orders.prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("location")),
            Prefetch("events", queryset=OrderEvent.objects.order_by("id")),
        )
    return orders


def order_visible(request: Request, order_id: int) -> Order | None:
    """The order `order_id` if the caller may see it, with its lines and events, in one statement
    (see `selectors.order_with_children`); for a scope that is one value, through a statement kept
    per scope (`sqlcache.first_of`: no queryset built)."""
    scope = order_scope(request)
    if scope is None:
        return order_with_children(visible_orders(request, children=False), pk=order_id)
    name, values = scope
    return order_with_children_of(
        f"orders.detail.{name}", lambda *v: _orders_scoped(name, *v[:-1]).filter(pk=v[-1]), *values, order_id
    )


class OrderFilter(filters.FilterSet):
    placed_from = filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_to = filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")
    location = filters.NumberFilter(field_name="location_id")
    customer = filters.NumberFilter(field_name="customer_id")

    class Meta:
        model = Order
        fields = ["status", "channel", "fulfilment", "location", "customer", "placed_from", "placed_to"]


class OrderListView(VersionedView, GenericAPIView):
    list_view = True  # GET answers a page
    queryset = Order.objects.none()  # the schema's filter and path parameter types
    access_policy = {"GET": READERS, "POST": BUYERS}
    serializer_class = s.OrderSerializer
    filterset_class = OrderFilter
    ordering_fields = ["placed_at", "total"]
    ordering = ["-placed_at"]

    @extend_schema(
        operation_id="orders_list",
        summary="Orders",
        description="Customers see their own history; staff filter by status, location, channel, "
        "customer and date range (`placed_from`, `placed_to`). Store managers see the orders of the "
        "locations they manage and those with a line allocated to one of them (a split order's part).",
        tags=["orders"],
    )
    def get(self, request: Request) -> Response:
        return paginated(self, visible_orders(request), s.OrderSerializer)

    @extend_schema(
        operation_id="orders_place",
        summary="Place an order",
        description="Prices each line for the caller (retail, or the wholesale price list), adds tax, "
        "and reserves the stock (first-expiry-first-out) at the location, or allocates it for delivery "
        "and shipping among the active locations that offer it (delivery: `delivery_enabled`; none does: 400 "
        "`fulfilment_unavailable`): from one location when one has everything (the nearest to the delivery "
        "address), else from the fewest locations, each line showing its `location` (`allow_split: false` "
        "refuses that: 409 `split_refused` with what is short). Unpaid orders release their stock when the "
        "payment window ends. Approved "
        "wholesale buyers may order `on_account` (credit terms, no card).",
        request=s.OrderInputSerializer,
        responses={201: s.OrderSerializer},
        parameters=VERSIONED_READ,
        tags=["orders"],
    )
    def post(self, request: Request) -> Response:
        data = s.OrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = data.validated_data["lines"]
        skus = sorted({ln["sku"] for ln in raw})
        variants = {v.sku: v for v in sqlcache.rows_of("orders.place.variants", _live_variants, *skus)}
        unknown = {str(i): {"sku": ["Unknown SKU."]} for i, ln in enumerate(raw) if ln["sku"] not in variants}
        if unknown:
            raise InvalidInput("Some lines are not valid.", code="validation_error", details={"lines": unknown})
        location = None
        principal = principal_of(request)
        if data.validated_data["location_id"] is not None:
            # Staff place orders for the locations they may see (store managers: their own).
            location_id = data.validated_data["location_id"]
            if principal.kind == "staff":
                location = get_or_invalid(
                    location_list(principal=principal, user=request.user),
                    "location_id",
                    "No such location.",
                    pk=location_id,
                )
            else:
                location = found_or_invalid(
                    sqlcache.first_of("orders.place.location", _active_location, location_id),
                    "location_id",
                    "No such location.",
                )
        customer = request.user if principal.kind in {"guest", "retail", "wholesale"} else None
        order = services.order_place(
            customer=customer,
            channel=CHANNELS[principal.kind],
            fulfilment=data.validated_data["fulfilment"],
            location=location,
            on_account=data.validated_data["on_account"],
            note=data.validated_data["note"],
            lines=[services.LineRequest(variants[ln["sku"]], ln["quantity"]) for ln in raw],
            placed_by_key=request.auth if principal.kind == "api_key" else None,
            delivery=data.validated_data["delivery"],
            redeem_points=data.validated_data["redeem_points"],
            coupon_codes=data.validated_data["coupon_codes"],
            allow_split=data.validated_data["allow_split"],
        )
        # The caller placed it: answer with it (its lines and trail as stored, already in memory) even
        # if, allocated elsewhere, it is not in their list.
        return self.versioned(s.OrderSerializer(order).data, order, status.HTTP_201_CREATED)


class OrderDetailView(VersionedView, GenericAPIView):
    access_policy = READERS
    serializer_class = s.OrderSerializer

    @extend_schema(
        operation_id="orders_get",
        summary="An order",
        description="With its lines, status times and event trail. Someone else's order is a 404. "
        "Carries an `ETag` (every change of the order, its status or its lines bumps it); send it back "
        "as `If-Match` with the order's write actions.",
        parameters=VERSIONED_READ,
        tags=["orders"],
    )
    def get(self, request: Request, order_id: int) -> Response:
        order = order_visible(request, order_id)
        if order is None:
            raise NotFound("No such order.")
        return self.versioned(s.OrderSerializer(order).data, order)


class _OrderWrite(VersionedView, GenericAPIView):
    def _order(self, request: Request, order_id: int) -> Order:
        return get_or_404(visible_orders(request, changing=True), "No such order.", pk=order_id)

    def _answer(self, request: Request, order: Order) -> Response:
        order = visible_orders(request).get(pk=order.pk)
        return self.versioned(s.OrderSerializer(order).data, order)


class OrderTransitionView(_OrderWrite):
    access_policy = OPERATORS
    serializer_class = s.TransitionSerializer

    @extend_schema(
        operation_id="orders_transition",
        summary="Move an order to its next status",
        description="Staff: confirm, prepare, ready / out for delivery / shipped, complete, cancel. "
        "A transition the lifecycle does not allow answers 409 `invalid_transition`. Honours `If-Match`.",
        responses=s.OrderSerializer,
        parameters=VERSIONED_WRITE,
        tags=["orders"],
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = self._order(request, order_id)
        expected = self.if_match(request, order)
        data = s.TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_transition(
            order=order, to=data.validated_data["to"], reason=data.validated_data["reason"], expected_version=expected
        )
        return self._answer(request, order)


class OrderCancelView(_OrderWrite):
    access_policy = Access(guest=True, retail=True, wholesale=True)
    serializer_class = s.OrderSerializer

    @extend_schema(
        operation_id="orders_cancel",
        summary="Cancel my order",
        description="Before it is being prepared; its stock is released. Honours `If-Match` (never "
        "required of customers).",
        request=None,
        parameters=VERSIONED_WRITE,
        tags=["orders"],
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = self._order(request, order_id)
        services.order_cancel_by_customer(order=order, expected_version=self.if_match(request, order))
        return self._answer(request, order)


class OrderLinesView(_OrderWrite):
    access_policy = Access(guest=True, retail=True, wholesale=True, staff_roles=frozenset({"owner", "store_manager"}))
    serializer_class = s.LinesUpdateSerializer

    @extend_schema(
        operation_id="orders_lines_update",
        summary="Change many lines at once",
        description="Set each listed SKU to its quantity (new SKUs are added, 0 removes). All or "
        "nothing, with per-line errors; only before the order is paid. Honours `If-Match` (the order's "
        "`ETag`).",
        responses=s.OrderSerializer,
        parameters=VERSIONED_WRITE,
        tags=["orders"],
    )
    def patch(self, request: Request, order_id: int) -> Response:
        order = self._order(request, order_id)
        expected = self.if_match(request, order)
        data = s.LinesUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = data.validated_data["lines"]
        variants = {v.sku: v for v in Variant.objects.filter(sku__in={ln["sku"] for ln in raw})}
        unknown = {str(i): {"sku": ["Unknown SKU."]} for i, ln in enumerate(raw) if ln["sku"] not in variants}
        if unknown:
            raise InvalidInput(
                "Some lines are not valid; nothing was changed.", code="validation_error", details={"lines": unknown}
            )
        services.order_lines_update(
            order=order,
            changes=[services.LineChange(variants[ln["sku"]], ln["quantity"]) for ln in raw],
            expected_version=expected,
        )
        return self._answer(request, order)


class OrderShipView(_OrderWrite):
    access_policy = OPERATORS
    serializer_class = s.ShipSerializer

    @extend_schema(
        operation_id="orders_ship",
        summary="Ship an order",
        description="A shipping order leaves with its carrier and tracking number. Honours `If-Match`.",
        responses=s.OrderSerializer,
        parameters=VERSIONED_WRITE,
        tags=["orders"],
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = self._order(request, order_id)
        expected = self.if_match(request, order)
        data = s.ShipSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_ship(order=order, expected_version=expected, **data.validated_data)
        return self._answer(request, order)


class OrderTrackingView(GenericAPIView):
    access_policy = READERS
    serializer_class = s.TrackingSerializer

    @extend_schema(
        operation_id="orders_tracking",
        summary="Where is my order",
        description="Carrier, tracking number and the carrier's tracking page.",
        tags=["orders"],
    )
    def get(self, request: Request, order_id: int) -> Response:
        order = get_or_404(visible_orders(request), "No such order.", pk=order_id)
        return Response(s.TrackingSerializer(services.order_tracking(order)).data)


def visible_returns(request: Request) -> QuerySet[ReturnRequest]:
    orders = visible_orders(request, changing=True)  # store managers: their own locations' orders' returns
    return ReturnRequest.objects.filter(order__in=orders).select_related("order").prefetch_related("lines__order_line")


def _spread(lines: list[OrderLine], quantity: int, taken: dict[int, int]) -> list[tuple[OrderLine, int]]:
    """A SKU shipped from several locations is several lines: the units returned fill each line up
    to what is still returnable on it (the last one takes any excess, which the service refuses).
    `taken`: units of each line already given to earlier entries of the same request (a SKU listed
    twice fills the lines on from where the first entry stopped); updated here."""
    if len(lines) == 1:
        parts = [(lines[0], quantity)]
    else:
        parts, left = [], quantity
        for n, line in enumerate(lines):
            returned = sum(r.quantity for r in line.return_lines.exclude(return_request__status="rejected"))
            room = max(line.quantity - returned - taken.get(line.pk, 0), 0)
            take = left if n == len(lines) - 1 else min(left, room)
            if take:
                parts.append((line, take))
                left -= take
        parts = parts or [(lines[-1], quantity)]
    for line, units in parts:
        taken[line.pk] = taken.get(line.pk, 0) + units
    return parts


class OrderReturnView(GenericAPIView):
    access_policy = Access(guest=True, retail=True, wholesale=True)
    serializer_class = s.ReturnInputSerializer

    @extend_schema(
        operation_id="orders_return_request",
        summary="Return lines of my order",
        description="A completed order's lines, never more than bought (earlier returns count).",
        responses={201: s.ReturnSerializer},
        tags=["returns"],
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = get_or_404(visible_orders(request), "No such order.", pk=order_id)
        data = s.ReturnInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        by_sku: dict[str, list[OrderLine]] = {}
        for line in order.lines.all():
            by_sku.setdefault(line.sku, []).append(line)
        unknown = {
            str(i): {"sku": ["Not on this order."]}
            for i, ln in enumerate(data.validated_data["lines"])
            if ln["sku"] not in by_sku
        }
        if unknown:
            raise InvalidInput("Some return lines are not valid.", code="validation_error", details={"lines": unknown})
        lines, extra, taken = [], [], {}
        for ln in data.validated_data["lines"]:
            first, *more = _spread(by_sku[ln["sku"]], ln["quantity"], taken)
            lines.append(first)  # at the request's index, so per-line errors keep pointing at it
            extra += more
        created = services.return_request(order=order, reason=data.validated_data["reason"], lines=lines + extra)
        return Response(
            s.ReturnSerializer(visible_returns(request).get(pk=created.pk)).data, status=status.HTTP_201_CREATED
        )


class ReturnListView(GenericAPIView):
    list_view = True  # GET answers a page
    queryset = ReturnRequest.objects.none()  # the schema's filter and path parameter types
    access_policy = READERS
    serializer_class = s.ReturnSerializer
    filterset_fields = ["status"]
    ordering = ["-requested_at"]

    @extend_schema(
        operation_id="returns_list",
        summary="Returns",
        description="Customers: their own; staff: all (store managers: their locations').",
        tags=["returns"],
    )
    def get(self, request: Request) -> Response:
        return paginated(self, visible_returns(request), s.ReturnSerializer)


class ReturnDecisionView(GenericAPIView):
    access_policy = OPERATORS
    serializer_class = s.ReturnDecisionSerializer

    @extend_schema(
        operation_id="returns_decide",
        summary="Approve or reject a return",
        description="Staff decide a requested return.",
        responses=s.ReturnSerializer,
        tags=["returns"],
    )
    def post(self, request: Request, return_id: int) -> Response:
        ret = get_or_404(visible_returns(request), "No such return.", pk=return_id)
        data = s.ReturnDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.return_decide(request=ret, **data.validated_data)
        return Response(s.ReturnSerializer(visible_returns(request).get(pk=ret.pk)).data)


class ReturnReceiveView(GenericAPIView):
    access_policy = OPERATORS
    serializer_class = s.ReturnReceiveSerializer

    @extend_schema(
        operation_id="returns_receive",
        summary="Receive a return",
        description="Each line back to available stock (its lot), the damaged bucket or quarantine; "
        "sets the refund owed.",
        responses=s.ReturnSerializer,
        tags=["returns"],
    )
    def post(self, request: Request, return_id: int) -> Response:
        ret = get_or_404(visible_returns(request), "No such return.", pk=return_id)
        data = s.ReturnReceiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        received = {ln["line_id"]: (ln["quantity"], ln["condition"]) for ln in data.validated_data["lines"]}
        services.return_receive(request=ret, received=received)
        return Response(s.ReturnSerializer(visible_returns(request).get(pk=ret.pk)).data)


class EventStreamRenderer(BaseRenderer):
    media_type = "text/event-stream"
    format = "sse"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:  # noqa: ANN001
        return json.dumps(data).encode()  # errors only; the stream itself is a StreamingHttpResponse


class OrderArrivalView(_OrderWrite):
    access_policy = Access(guest=True, retail=True, wholesale=True)
    serializer_class = s.ArrivalSerializer

    @extend_schema(
        operation_id="orders_arrival",
        summary="I'm here (curbside)",
        description="Tell the store you arrived: bay and car. Staff at the store see it live. Honours "
        "`If-Match` (never required of customers).",
        responses=s.OrderSerializer,
        parameters=VERSIONED_WRITE,
        tags=["orders"],
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = self._order(request, order_id)
        expected = self.if_match(request, order)
        data = s.ArrivalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_arrival_announce(order=order, expected_version=expected, **data.validated_data)
        return self._answer(request, order)


class OrderHandOverView(_OrderWrite):
    access_policy = OPERATORS
    serializer_class = s.OrderSerializer

    @extend_schema(
        operation_id="orders_hand_over",
        summary="Handed over at the curb",
        description="Completes a ready curbside order. Honours `If-Match`.",
        request=None,
        parameters=VERSIONED_WRITE,
        tags=["orders"],
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = self._order(request, order_id)
        services.order_hand_over(order=order, expected_version=self.if_match(request, order))
        return self._answer(request, order)


class CurbsideStreamView(GenericAPIView):
    access_policy = Access(staff_roles=ALL_STAFF)
    renderer_classes = [JSONRenderer, EventStreamRenderer]
    queryset = Location.objects.none()  # for the schema

    @extend_schema(
        operation_id="locations_curbside_stream",
        summary="Live curbside arrivals (SSE)",
        description="`text/event-stream` of `curbside.arrived` and `curbside.handed_over` events for this "
        "location, starting with `curbside.waiting` for the customers already waiting; served by the "
        "`stream` process (this URL on the web process answers 307 there). Resumable with `Last-Event-ID`; "
        "EventSource reconnects by itself.",
        responses={(200, "text/event-stream"): OpenApiTypes.STR, 307: None},
        tags=["orders"],
    )
    def get(self, request: Request, location_id: int) -> HttpResponseRedirect:
        from apps.integrations.api.views import stream_redirect

        visible = location_list(principal=principal_of(request), user=request.user)
        get_or_404(visible, "No such location.", pk=location_id)
        return stream_redirect(request)  # served by the `stream` process (apps.integrations.stream_app)

    def finalize_response(self, request: Request, response: Response, *args: object, **kwargs: object) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            # Errors are the JSON error shape whatever the client accepts (`format=sse` included).
            response.accepted_renderer, response.accepted_media_type = JSONRenderer(), "application/json"
        return response


def _routes(request: Request) -> QuerySet[DeliveryRoute]:
    visible = location_list(principal=principal_of(request), user=request.user)
    return (
        DeliveryRoute.objects.filter(location__in=visible)
        .select_related("location")
        .prefetch_related(Prefetch("stops", queryset=RouteStop.objects.select_related("order").order_by("sequence")))
    )


class RouteBuildView(GenericAPIView):
    access_policy = OPERATORS
    serializer_class = s.RouteInputSerializer
    queryset = Location.objects.none()  # for the schema

    @extend_schema(
        operation_id="routes_build",
        summary="Build the day's delivery route",
        description="The location's paid or preparing delivery orders, sequenced with OR-Tools to "
        "minimise driving (distances from coordinates, time windows when given).",
        responses={201: s.RouteSerializer},
        tags=["delivery"],
    )
    def post(self, request: Request, location_id: int) -> Response:
        location = get_or_404(
            location_list(principal=principal_of(request), user=request.user), "No such location.", pk=location_id
        )
        data = s.RouteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        route = services.delivery_route_build(location=location, date=data.validated_data["date"])
        return Response(s.RouteSerializer(_routes(request).get(pk=route.pk)).data, status=status.HTTP_201_CREATED)


class RouteDetailView(GenericAPIView):
    access_policy = Access(staff_roles=ALL_STAFF)
    serializer_class = s.RouteSerializer

    @extend_schema(
        operation_id="routes_get", summary="A delivery route", description="Stops in order.", tags=["delivery"]
    )
    def get(self, request: Request, route_id: int) -> Response:
        return Response(s.RouteSerializer(get_or_404(_routes(request), "No such route.", pk=route_id)).data)


class RouteStopDeliveredView(GenericAPIView):
    access_policy = Access(staff_roles=ALL_STAFF)
    serializer_class = s.RouteSerializer

    @extend_schema(
        operation_id="routes_stop_delivered",
        summary="Mark a stop delivered",
        description="The driver delivered it: the order is completed.",
        request=None,
        tags=["delivery"],
    )
    def post(self, request: Request, route_id: int, stop_id: int) -> Response:
        route = get_or_404(_routes(request), "No such route.", pk=route_id)
        stop = get_or_404(route.stops.all(), "No such stop.", pk=stop_id)
        services.route_stop_delivered(stop=stop)
        return Response(s.RouteSerializer(_routes(request).get(pk=route.pk)).data)


class OrderPickListsView(GenericAPIView):
    access_policy = Access(staff_roles=ALL_STAFF)
    serializer_class = s.OrderPickListsSerializer

    @extend_schema(
        operation_id="orders_pick_lists",
        summary="Pick lists of an order, per location",
        description="Staff: what to pick at each location the order ships from (the one sending the most "
        "units first): each SKU with its units and, for lot-tracked variants, the batches held for it "
        "(first expiry first). Store managers see the orders with a line at a location they manage, and "
        "only those locations' lists; any other order is 404.",
        tags=["orders"],
    )
    def get(self, request: Request, order_id: int) -> Response:
        from apps.orders.allocation import pick_lists

        principal = principal_of(request)
        if principal.roles & {"owner", "warehouse"}:
            order = get_or_404(Order.objects.select_related("location"), "No such order.", pk=order_id)
            return Response(s.OrderPickListsSerializer(pick_lists(order)).data)
        # A store manager picks at the locations they manage: orders with a line there, their lists only.
        managed = set(request.user.managed_locations.values_list("pk", flat=True))
        orders = Order.objects.select_related("location").filter(
            Q(location_id__in=managed) | Q(lines__location_id__in=managed)
        )
        order = get_or_404(orders.distinct(), "No such order.", pk=order_id)
        return Response(s.OrderPickListsSerializer(pick_lists(order, only=managed)).data)
