"""Integrations API: webhook endpoints, deliveries and attempts, partner sync, live-stream entry
points. Partner keys need `webhooks:manage` (and see only their own endpoints); staff owners see all."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponseRedirect
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.policy import ALL_STAFF, Access, principal_of
from apps.core.api.views import get_or_404, paginated
from apps.core.errors import InvalidInput
from apps.integrations import selectors, services
from apps.integrations.api import serializers as s
from apps.integrations.catalogue import EVENT_TYPES
from apps.integrations.models import WebhookDelivery, WebhookEndpoint
from apps.stock.models import Location
from apps.stock.selectors import location_list

WEBHOOK_MANAGERS = Access(staff_roles=frozenset({"owner"}), api_key_scope="webhooks:manage")
SYNC_WRITERS = Access(staff_roles=frozenset({"owner", "warehouse"}), api_key_scope="inventory:write")
CHANGE_READERS = Access(staff_roles=frozenset({"owner"}), any_api_key=True)
TAGS = ["integrations"]


def _key(request: Request) -> object | None:
    return getattr(request._request, "api_key", None)


def _endpoint(request: Request, endpoint_id: int) -> WebhookEndpoint:
    return get_or_404(selectors.webhook_endpoint_list(api_key=_key(request)), "No such endpoint.", pk=endpoint_id)


class EventTypeListView(GenericAPIView):
    access_policy = WEBHOOK_MANAGERS
    queryset = WebhookEndpoint.objects.none()  # for the schema (the catalogue is not a model)
    serializer_class = s.EventTypeSerializer

    @extend_schema(
        operation_id="webhooks_event_types",
        summary="Webhook event types",
        description="Every event type an endpoint can subscribe to. Subscriptions may also name a family "
        "(`order.*`) or `*`.",
        responses=s.EventTypeSerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        rows = [{"type": t, "description": d} for t, d in sorted(EVENT_TYPES.items())]
        return Response(s.EventTypeSerializer(rows, many=True).data)


class EndpointListView(GenericAPIView):
    access_policy = WEBHOOK_MANAGERS
    list_view = True
    queryset = WebhookEndpoint.objects.none()  # for the schema; the view reads through the selector
    serializer_class = s.EndpointSerializer

    @extend_schema(operation_id="webhooks_endpoints_list", summary="Webhook endpoints", tags=TAGS)
    def get(self, request: Request) -> Response:
        return paginated(self, selectors.webhook_endpoint_list(api_key=_key(request)), s.EndpointSerializer)

    @extend_schema(
        operation_id="webhooks_endpoints_create",
        summary="Subscribe an endpoint",
        description="Returns the signing secret (`whsec_...`) once. Deliveries are signed per Standard "
        "Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Production accepts only "
        "HTTPS URLs resolving to public addresses.",
        request=s.EndpointCreateSerializer,
        responses={201: s.EndpointWithSecretSerializer},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = s.EndpointCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_create(**data.validated_data, created_by_key=_key(request))
        endpoint.secret = secret
        return Response(s.EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailView(GenericAPIView):
    access_policy = WEBHOOK_MANAGERS
    serializer_class = s.EndpointSerializer
    queryset = WebhookEndpoint.objects.none()  # for the schema

    @extend_schema(operation_id="webhooks_endpoints_get", summary="A webhook endpoint", tags=TAGS)
    def get(self, request: Request, endpoint_id: int) -> Response:
        return Response(s.EndpointSerializer(_endpoint(request, endpoint_id)).data)

    @extend_schema(
        operation_id="webhooks_endpoints_update",
        summary="Change an endpoint",
        description="URL, event types, description; `is_active: true` enables a disabled endpoint again.",
        request=s.EndpointUpdateSerializer,
        responses=s.EndpointSerializer,
        tags=TAGS,
    )
    def patch(self, request: Request, endpoint_id: int) -> Response:
        endpoint = _endpoint(request, endpoint_id)
        data = s.EndpointUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.webhook_endpoint_update(endpoint=endpoint, **data.validated_data)
        return Response(s.EndpointSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhooks_endpoints_delete", summary="Remove an endpoint", responses={204: None}, tags=TAGS
    )
    def delete(self, request: Request, endpoint_id: int) -> Response:
        services.webhook_endpoint_delete(endpoint=_endpoint(request, endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateView(GenericAPIView):
    access_policy = WEBHOOK_MANAGERS
    serializer_class = s.RotateSerializer
    queryset = WebhookEndpoint.objects.none()

    @extend_schema(
        operation_id="webhooks_endpoints_rotate_secret",
        summary="Rotate the signing secret",
        description="Returns the new secret once. During `grace_seconds` (default WEBHOOK_SECRET_GRACE_SECONDS) "
        "deliveries carry two signatures, the new secret's and the old one's.",
        request=s.RotateSerializer,
        responses=s.SecretSerializer,
        tags=TAGS,
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        endpoint = _endpoint(request, endpoint_id)
        data = s.RotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        secret = services.webhook_endpoint_rotate_secret(
            endpoint=endpoint, grace_seconds=data.validated_data.get("grace_seconds")
        )
        body = {"secret": secret, "previous_secret_valid_until": endpoint.previous_secret_expires_at}
        return Response(s.SecretSerializer(body).data)


class EndpointPingView(GenericAPIView):
    access_policy = WEBHOOK_MANAGERS
    serializer_class = s.AttemptSerializer
    queryset = WebhookEndpoint.objects.none()

    @extend_schema(
        operation_id="webhooks_endpoints_ping",
        summary="Send a test ping",
        description="A signed `webhook.ping` sent now; the response is the recorded attempt.",
        request=None,
        responses=s.AttemptSerializer,
        tags=TAGS,
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        attempt = services.webhook_endpoint_ping(endpoint=_endpoint(request, endpoint_id))
        return Response(s.AttemptSerializer(attempt).data)


class EndpointReplayView(GenericAPIView):
    access_policy = WEBHOOK_MANAGERS
    serializer_class = s.ReplaySerializer
    queryset = WebhookEndpoint.objects.none()

    @extend_schema(
        operation_id="webhooks_endpoints_replay",
        summary="Replay everything since a time",
        description="Every event since `since` this endpoint subscribes to is delivered again (same `webhook-id`s).",
        request=s.ReplaySerializer,
        responses={202: s.ReplayResultSerializer},
        tags=TAGS,
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        endpoint = _endpoint(request, endpoint_id)
        data = s.ReplaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = services.webhook_endpoint_replay_since(endpoint=endpoint, since=data.validated_data["since"])
        return Response({"queued": count}, status=status.HTTP_202_ACCEPTED)


class DeliveryFilter(filters.FilterSet):
    endpoint = filters.NumberFilter(field_name="endpoint_id")
    status = filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    topic = filters.CharFilter(field_name="topic")

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "status", "topic"]


class DeliveryListView(GenericAPIView):
    access_policy = WEBHOOK_MANAGERS
    list_view = True
    serializer_class = s.DeliverySerializer
    filterset_class = DeliveryFilter

    def get_queryset(self):  # noqa: ANN201 - for the filter backend's schema
        return selectors.webhook_delivery_list(api_key=_key(self.request))

    @extend_schema(operation_id="webhooks_deliveries_list", summary="Webhook deliveries", tags=TAGS)
    def get(self, request: Request) -> Response:
        return paginated(self, self.get_queryset(), s.DeliverySerializer)


class DeliveryDetailView(GenericAPIView):
    access_policy = WEBHOOK_MANAGERS
    serializer_class = s.DeliveryDetailSerializer
    queryset = WebhookDelivery.objects.none()

    @extend_schema(operation_id="webhooks_deliveries_get", summary="A delivery and its attempts", tags=TAGS)
    def get(self, request: Request, delivery_id: int) -> Response:
        visible = selectors.webhook_delivery_list(api_key=_key(request)).prefetch_related("attempt_log")
        return Response(s.DeliveryDetailSerializer(get_or_404(visible, "No such delivery.", pk=delivery_id)).data)


class DeliveryReplayView(GenericAPIView):
    access_policy = WEBHOOK_MANAGERS
    serializer_class = s.DeliverySerializer
    queryset = WebhookDelivery.objects.none()

    @extend_schema(
        operation_id="webhooks_deliveries_replay",
        summary="Replay one delivery",
        description="Sends it again with the same `webhook-id` and a fresh retry budget.",
        request=None,
        responses={202: s.DeliverySerializer},
        tags=TAGS,
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery = get_or_404(
            selectors.webhook_delivery_list(api_key=_key(request)), "No such delivery.", pk=delivery_id
        )
        delivery = services.webhook_delivery_replay(delivery=delivery)
        return Response(s.DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


# ---------------------------------------------------------------------------------------------
# Partner sync


class SyncStockView(GenericAPIView):
    access_policy = SYNC_WRITERS
    serializer_class = s.SyncStockSerializer

    @extend_schema(
        operation_id="sync_stock",
        summary="Bulk stock levels (partner sync)",
        description="Up to SYNC_STOCK_MAX_LINES (10,000) counted on-hand levels by SKU and location code; "
        "each difference becomes a count correction in the ledger. `all_or_nothing` (default): one bad "
        "line and nothing is applied, every bad line reported under `details.lines.<index>`; `per_line`: "
        "good lines applied and a result per line. Send an `Idempotency-Key`.",
        request=s.SyncStockSerializer,
        responses=s.SyncStockResultSerializer,
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = s.SyncStockSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        locations = location_list(principal=principal_of(request), user=request.user)
        result = services.stock_sync(
            lines=data.validated_data["lines"],
            mode=data.validated_data["mode"],
            locations=locations,
            reference=f"sync:{data.validated_data['reference']}"[:100],
        )
        return Response(s.SyncStockResultSerializer(result).data)


def _topics_for(request: Request) -> Q:
    """What the caller may read: `inventory:read` stock events, `orders:read` the events of the
    orders its key placed; owners everything."""
    principal = principal_of(request)
    if principal.kind != "api_key":
        return Q()
    visible = Q(pk__in=[])
    if "inventory:read" in principal.scopes:
        visible |= Q(topic__startswith="stock.")
    if "orders:read" in principal.scopes:
        from apps.orders.models import Order

        numbers = list(Order.objects.filter(placed_by_key=request.auth).values_list("number", flat=True))
        visible |= Q(topic__regex=r"^(order|curbside|payment)\.", payload__number__in=numbers)
    return visible


class SyncChangesView(GenericAPIView):
    access_policy = CHANGE_READERS
    serializer_class = s.ChangesPageSerializer

    @extend_schema(
        operation_id="sync_changes",
        summary="Changes since a cursor",
        description="Events from the outbox after `cursor` (empty: from the beginning), oldest first, as "
        "far as the caller's scopes reach (`inventory:read`: stock events; `orders:read`: its orders' "
        "events). Keep the returned `cursor` and send it back: pages never skip or repeat an event, "
        "even with writes in flight.",
        parameters=[
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("limit", int, required=False, description="1-1000, default 500"),
        ],
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        try:
            cursor = selectors.Cursor.decode(request.query_params.get("cursor"))
            limit = int(request.query_params.get("limit", 500))
        except ValueError as exc:
            raise InvalidInput(
                "Bad cursor or limit.", code="validation_error", details={"cursor": ["Malformed."]}
            ) from exc
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit is 1-1000.", code="validation_error", details={"limit": ["1-1000."]})
        rows, after = selectors.outbox_changes(cursor=cursor, limit=limit, topics=_topics_for(request))
        body = {"results": rows, "cursor": after.encode(), "has_more": len(rows) == limit}
        return Response(s.ChangesPageSerializer(body).data)


# ---------------------------------------------------------------------------------------------
# Live streams: served by the `stream` process; the web process sends clients there.


def stream_redirect(request: Request) -> HttpResponseRedirect:
    base = (
        settings.STREAM_PUBLIC_URL or f"{request.scheme}://{request.get_host().split(':')[0]}:{settings.STREAM_PORT}"
    )
    return HttpResponseRedirect(base.rstrip("/") + request.get_full_path(), status=307)


STREAM_DOC = (
    "Server-sent events (`text/event-stream`) served by the `stream` process (this URL on the web "
    "process answers 307 to it). Each event has `id:` (send it back as `Last-Event-ID` to resume), "
    "`event:` (the event type) and `data:` (JSON). Comment heartbeats every STREAM_HEARTBEAT_SECONDS; "
    "a response lasts STREAM_LIFETIME_SECONDS, then EventSource reconnects by itself."
)
STREAM_RESPONSES = {(200, "text/event-stream"): OpenApiTypes.STR, 307: None}


class LocationStockStreamView(GenericAPIView):
    access_policy = Access(staff_roles=ALL_STAFF)
    queryset = Location.objects.none()

    @extend_schema(
        operation_id="streams_location_stock",
        summary="Live stock changes at a location (SSE)",
        description=STREAM_DOC + " Events: `stock.changed`, `stock.low`, `stock.restocked`. Staff; store "
        "managers only for their locations.",
        responses=STREAM_RESPONSES,
        tags=TAGS,
    )
    def get(self, request: Request, location_id: int) -> HttpResponseRedirect:
        get_or_404(
            location_list(principal=principal_of(request), user=request.user), "No such location.", pk=location_id
        )
        return stream_redirect(request)


class LocationCurbsideStreamView(LocationStockStreamView):
    @extend_schema(
        operation_id="streams_location_curbside",
        summary="Live curbside arrivals at a location (SSE)",
        description=STREAM_DOC + " Starts with `curbside.waiting` (one per customer already waiting, no id), "
        "then `curbside.arrived` and `curbside.handed_over`.",
        responses=STREAM_RESPONSES,
        tags=TAGS,
    )
    def get(self, request: Request, location_id: int) -> HttpResponseRedirect:
        return super().get(request, location_id)


class OrderStreamView(GenericAPIView):
    access_policy = Access(guest=True, retail=True, wholesale=True)

    @extend_schema(
        operation_id="streams_order",
        summary="Live status of one of my orders (SSE)",
        description=STREAM_DOC + " Starts with `order.status` (no id), then the order's `order.*`, "
        "`payment.*` and `curbside.*` events. Only the customer who owns the order.",
        responses=STREAM_RESPONSES,
        tags=TAGS,
    )
    def get(self, request: Request, order_id: int) -> HttpResponseRedirect:
        from apps.orders.models import Order

        get_or_404(Order.objects.filter(customer=request.user), "No such order.", pk=order_id)
        return stream_redirect(request)
