"""Stock API: inventory reads, restock, adjustments, counts, reservations, ledger, lots, alerts.

Staff see the locations their role allows (store managers: their own); partner keys need
`inventory:read` / `inventory:write` (and `orders:write` for reservations).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.policy import ALL_STAFF, Access, principal_of
from apps.catalog.models import Supplier, Variant
from apps.core.api.views import get_or_404, get_or_invalid, paginated
from apps.core.errors import InvalidInput, NotFound
from apps.core.versioning import VERSIONED_READ, VERSIONED_WRITE, VersionedView
from apps.stock import selectors, services
from apps.stock.api import serializers as s
from apps.stock.models import (
    Location,
    Lot,
    Movement,
    PurchaseOrder,
    ReorderSuggestion,
    Reservation,
    RestockAlert,
    StockItem,
    Transfer,
)

STOCK_READERS = Access(staff_roles=ALL_STAFF, api_key_scope="inventory:read")
STOCK_WRITERS = Access(staff_roles=ALL_STAFF, api_key_scope="inventory:write")
RESERVERS = Access(staff_roles=frozenset({"owner", "store_manager"}), api_key_scope="orders:write")


def _locations(request: Request) -> QuerySet[Location]:
    return selectors.location_list(principal=principal_of(request), user=request.user)


def _location(request: Request, location_id: int) -> Location:
    return get_or_404(_locations(request), "No such location.", pk=location_id)


def _variant(sku: str) -> Variant:
    variant = Variant.objects.filter(sku=sku).first()
    if variant is None:
        raise InvalidInput(f"Unknown SKU {sku!r}.", code="validation_error", details={"sku": ["Unknown SKU."]})
    return variant


def _lot(variant: Variant, batch_number: str) -> Lot | None:
    if not batch_number:
        return None
    lot = Lot.objects.filter(variant=variant, batch_number=batch_number).first()
    if lot is None:
        raise InvalidInput("Unknown batch.", code="validation_error", details={"batch_number": ["Unknown batch."]})
    return lot


class LocationListView(GenericAPIView):
    list_view = True  # GET answers a page
    queryset = Location.objects.none()  # the schema's filter and path parameter types
    access_policy = STOCK_READERS
    serializer_class = s.LocationSerializer

    @extend_schema(
        operation_id="locations_list",
        summary="Locations",
        description="Stores and warehouses the caller may see (store managers: their own).",
        tags=["stock"],
    )
    def get(self, request: Request) -> Response:
        return paginated(self, _locations(request), s.LocationSerializer, filtered=False)


LOCATION_EDITORS = Access(staff_roles=frozenset({"owner", "store_manager"}))


class LocationDetailView(VersionedView, GenericAPIView):
    access_policy = {"GET": STOCK_READERS, "PATCH": LOCATION_EDITORS}
    queryset = Location.objects.none()  # for the schema's path parameter types
    serializer_class = s.LocationSerializer

    @extend_schema(
        operation_id="locations_get",
        summary="A location",
        description="A store or warehouse the caller may see. Carries an `ETag`; send it back as "
        "`If-Match` when editing.",
        parameters=VERSIONED_READ,
        tags=["stock"],
    )
    def get(self, request: Request, location_id: int) -> Response:
        location = _location(request, location_id)
        return self.versioned(s.LocationSerializer(location).data, location)

    @extend_schema(
        operation_id="locations_update",
        summary="Edit a location",
        description="Owners, and store managers for their own locations: name, address, coordinates, "
        "time zone, services offered, opening hours, whether it is public or active (the code and kind "
        "stay). With `If-Match: <ETag>` a stale edit answers 412 `precondition_failed` and changes nothing.",
        request=s.LocationUpdateSerializer,
        responses=s.LocationSerializer,
        parameters=VERSIONED_WRITE,
        tags=["stock"],
    )
    def patch(self, request: Request, location_id: int) -> Response:
        location = _location(request, location_id)
        expected = self.if_match(request, location)
        data = s.LocationUpdateSerializer(location, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        location = services.location_update(location=location, expected_version=expected, **data.validated_data)
        return self.versioned(s.LocationSerializer(location).data, location)


class LocationInventoryView(GenericAPIView):
    list_view = True  # GET answers a page
    queryset = StockItem.objects.none()  # the schema's filter and path parameter types
    access_policy = STOCK_READERS
    serializer_class = s.StockItemSerializer
    search_fields = ["variant__sku", "variant__name"]
    ordering_fields = ["variant__sku", "on_hand", "available_units"]

    @extend_schema(
        operation_id="locations_inventory",
        summary="Inventory at a location",
        description="Every variant stocked here by state. `search=` SKU or name.",
        tags=["stock"],
    )
    def get(self, request: Request, location_id: int) -> Response:
        location = _location(request, location_id)
        items = self.filter_queryset(selectors.stock_item_list(locations=Location.objects.filter(pk=location.pk)))
        return paginated(self, items, s.StockItemSerializer, filtered=False)


class InventoryBySkuView(GenericAPIView):
    access_policy = STOCK_READERS
    queryset = StockItem.objects.none()  # for the schema's path parameter types
    serializer_class = s.StockItemSerializer

    @extend_schema(
        operation_id="inventory_by_sku",
        summary="Stock of one SKU everywhere",
        description="One row per location the caller may see.",
        responses=s.StockItemSerializer(many=True),
        tags=["stock"],
    )
    def get(self, request: Request, sku: str) -> Response:
        items = selectors.stock_item_list(locations=_locations(request)).filter(variant__sku=sku)
        return Response(s.StockItemSerializer(items, many=True).data)


class StockItemView(VersionedView, GenericAPIView):
    access_policy = {"GET": STOCK_READERS, "PATCH": Access(staff_roles=frozenset({"owner", "store_manager"}))}
    serializer_class = s.StockItemSerializer

    def _item(self, request: Request, item_id: int) -> StockItem:
        return get_or_404(selectors.stock_item_list(locations=_locations(request)), "No such stock item.", pk=item_id)

    @extend_schema(
        operation_id="stock_items_get",
        summary="A stock row",
        description="Carries an `ETag` (the version of its reorder settings; quantities change without "
        "it); send it back as `If-Match` when editing.",
        parameters=VERSIONED_READ,
        tags=["stock"],
    )
    def get(self, request: Request, item_id: int) -> Response:
        item = self._item(request, item_id)
        return self.versioned(s.StockItemSerializer(item).data, item)

    @extend_schema(
        operation_id="stock_items_update",
        summary="Edit reorder settings",
        description="Reorder point and quantity. With `If-Match: <ETag>` a stale edit answers 412 "
        "`precondition_failed` instead of overwriting someone else's change.",
        request=s.StockItemSettingsSerializer,
        responses=s.StockItemSerializer,
        parameters=VERSIONED_WRITE,
        tags=["stock"],
    )
    def patch(self, request: Request, item_id: int) -> Response:
        item = self._item(request, item_id)
        expected = self.if_match(request, item)
        data = s.StockItemSettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.stock_item_settings_update(item=item, expected_version=expected, **data.validated_data)
        item = self._item(request, item_id)
        return self.versioned(s.StockItemSerializer(item).data, item)


class RestockView(GenericAPIView):
    access_policy = STOCK_WRITERS
    queryset = Location.objects.none()  # for the schema's path parameter types
    serializer_class = s.RestockSerializer

    @extend_schema(
        operation_id="locations_restock",
        summary="Bulk restock (all or nothing)",
        description="Many receipt lines across variants and lots. One bad line and nothing is applied; "
        "every bad line is reported under `details.lines.<index>`.",
        responses={201: s.StockItemSerializer(many=True)},
        tags=["stock"],
    )
    def post(self, request: Request, location_id: int) -> Response:
        location = _location(request, location_id)
        data = s.RestockSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        states = services.stock_bulk_restock(
            location=location, lines=data.validated_data["lines"], reference=data.validated_data["reference"]
        )
        items = selectors.stock_item_list(locations=Location.objects.filter(pk=location.pk)).filter(
            pk__in=[state.id for state in states]
        )
        return Response(s.StockItemSerializer(items, many=True).data, status=status.HTTP_201_CREATED)


class AdjustmentView(GenericAPIView):
    access_policy = STOCK_WRITERS
    serializer_class = s.AdjustmentSerializer

    @extend_schema(
        operation_id="locations_adjust",
        summary="Adjust stock",
        description="Damaged, lost, found or expired units (with the lot for lot-tracked variants). "
        "Reserved units are never taken.",
        responses={201: s.StockItemSerializer},
        tags=["stock"],
    )
    def post(self, request: Request, location_id: int) -> Response:
        location = _location(request, location_id)
        data = s.AdjustmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        variant = _variant(data.validated_data["sku"])
        state = services.stock_adjust(
            location=location,
            variant=variant,
            reason=data.validated_data["reason"],
            quantity=data.validated_data["quantity"],
            lot=_lot(variant, data.validated_data["batch_number"]),
            note=data.validated_data["note"],
        )
        item = selectors.stock_item_list(locations=_locations(request)).get(pk=state.id)
        return Response(s.StockItemSerializer(item).data, status=status.HTTP_201_CREATED)


class CountView(GenericAPIView):
    access_policy = STOCK_WRITERS
    serializer_class = s.CountSerializer

    @extend_schema(
        operation_id="locations_count",
        summary="Record a cycle count",
        description="The counted quantity becomes a count-correction adjustment of the difference.",
        responses={200: s.StockItemSerializer},
        tags=["stock"],
    )
    def post(self, request: Request, location_id: int) -> Response:
        location = _location(request, location_id)
        data = s.CountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        variant = _variant(data.validated_data["sku"])
        services.stock_count(
            location=location,
            variant=variant,
            counted=data.validated_data["counted"],
            lot=_lot(variant, data.validated_data["batch_number"]),
            note=data.validated_data["note"],
        )
        item = selectors.stock_item_list(locations=_locations(request)).filter(variant=variant, location=location)
        return Response(s.StockItemSerializer(item.first()).data if item else {})


class ReservationCreateView(GenericAPIView):
    access_policy = RESERVERS
    serializer_class = s.ReservationInputSerializer

    @extend_schema(
        operation_id="reservations_create",
        summary="Reserve stock",
        description="Holds the lines (first-expiry-first-out lots) until `ttl_seconds` pass. All or "
        "nothing: a short line answers 409 `insufficient_stock` with each short line.",
        responses={201: s.ReservationSerializer},
        tags=["stock"],
    )
    def post(self, request: Request) -> Response:
        data = s.ReservationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = data.validated_data["lines"]
        variants = {v.sku: v for v in Variant.objects.filter(sku__in={line["sku"] for line in raw})}
        locations = {loc.pk: loc for loc in _locations(request).filter(pk__in={line["location_id"] for line in raw})}
        errors = {}
        for index, line in enumerate(raw):
            if line["sku"] not in variants:
                errors[str(index)] = {"sku": ["Unknown SKU."]}
            elif line["location_id"] not in locations:
                errors[str(index)] = {"location_id": ["Unknown location."]}
        if errors:
            raise InvalidInput("Some lines are not valid.", code="validation_error", details={"lines": errors})
        reservation = services.reservation_create(
            reference=data.validated_data["reference"],
            lines=[
                services.ReserveLine(variants[ln["sku"]], locations[ln["location_id"]], ln["quantity"]) for ln in raw
            ],
            ttl=dt.timedelta(seconds=data.validated_data["ttl_seconds"]),
        )
        return Response(s.ReservationSerializer(reservation).data, status=status.HTTP_201_CREATED)


class _ReservationAction(GenericAPIView):
    access_policy = RESERVERS
    serializer_class = s.ReservationSerializer

    def _reservation(self, request: Request, reservation_id: int) -> Reservation:
        visible = _locations(request)
        reservation = Reservation.objects.filter(pk=reservation_id).first()
        if reservation is None or reservation.lines.exclude(location__in=visible).exists():
            raise NotFound("No such reservation.")
        return reservation


class ReservationReleaseView(_ReservationAction):
    @extend_schema(
        operation_id="reservations_release",
        summary="Release a reservation",
        description="The held units become available again.",
        request=None,
        tags=["stock"],
    )
    def post(self, request: Request, reservation_id: int) -> Response:
        reservation = services.reservation_release(reservation=self._reservation(request, reservation_id))
        return Response(s.ReservationSerializer(reservation).data)


class ReservationCommitView(_ReservationAction):
    @extend_schema(
        operation_id="reservations_commit",
        summary="Commit a reservation (sale)",
        description="The held units are sold and leave on-hand stock.",
        request=None,
        tags=["stock"],
    )
    def post(self, request: Request, reservation_id: int) -> Response:
        reservation = services.reservation_commit(reservation=self._reservation(request, reservation_id))
        return Response(s.ReservationSerializer(reservation).data)


class MovementFilter(filters.FilterSet):
    sku = filters.CharFilter(field_name="variant__sku")
    location = filters.NumberFilter(field_name="location_id")
    batch_number = filters.CharFilter(field_name="lot__batch_number")
    since = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Movement
        fields = ["sku", "location", "kind", "reason", "reference", "batch_number", "since", "until"]


class MovementListView(GenericAPIView):
    list_view = True  # GET answers a page
    queryset = Movement.objects.none()  # the schema's filter and path parameter types
    access_policy = STOCK_READERS
    serializer_class = s.MovementSerializer
    filterset_class = MovementFilter
    ordering_fields = ["id", "created_at"]
    ordering = ["-id"]

    @extend_schema(
        operation_id="movements_list",
        summary="The stock ledger",
        description="Append-only movements, newest first. Filters: sku, location, kind, reason, "
        "reference, batch_number, since, until.",
        tags=["stock"],
    )
    def get(self, request: Request) -> Response:
        movements = self.filter_queryset(selectors.movement_list(locations=_locations(request)))
        return paginated(self, movements, s.MovementSerializer, filtered=False)


class LotListView(GenericAPIView):
    list_view = True  # GET answers a page
    queryset = Lot.objects.none()  # the schema's filter and path parameter types
    access_policy = STOCK_READERS
    serializer_class = s.LotSerializer
    filterset_fields = ["batch_number"]
    search_fields = ["variant__sku", "batch_number"]
    ordering = ["expiry_date", "id"]

    @extend_schema(
        operation_id="lots_list",
        summary="Lots",
        description="Batches with expiry dates and where their units are.",
        tags=["stock"],
    )
    def get(self, request: Request) -> Response:
        return paginated(self, selectors.lot_list(locations=_locations(request)), s.LotSerializer)


class LotRecallView(GenericAPIView):
    access_policy = STOCK_READERS
    serializer_class = s.RecallSerializer

    @extend_schema(
        operation_id="lots_recall",
        summary="Recall view of a batch",
        description="Where the batch is now and every movement it took part in.",
        tags=["stock"],
    )
    def get(self, request: Request, lot_id: int) -> Response:
        locations = _locations(request)
        lot = get_or_404(selectors.lot_list(locations=locations), "No such lot.", pk=lot_id)
        return Response(s.RecallSerializer(selectors.lot_recall(lot=lot, locations=locations)).data)


class AlertListView(GenericAPIView):
    list_view = True  # GET answers a page
    queryset = RestockAlert.objects.none()  # the schema's filter and path parameter types
    access_policy = STOCK_READERS
    serializer_class = s.AlertSerializer

    @extend_schema(
        operation_id="stock_alerts_list",
        summary="Open restock alerts",
        description="Items at or below their reorder point.",
        tags=["stock"],
    )
    def get(self, request: Request) -> Response:
        return paginated(self, selectors.alert_list(locations=_locations(request)), s.AlertSerializer, filtered=False)


class InventoryCsvView(GenericAPIView):
    access_policy = {"GET": STOCK_READERS, "POST": STOCK_WRITERS}
    queryset = Location.objects.none()
    parser_classes = [MultiPartParser]
    serializer_class = s.CsvUploadSerializer

    @extend_schema(
        operation_id="locations_inventory_export_csv",
        summary="Export stock levels as CSV",
        description="One row per variant at this location, by state.",
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=["stock"],
    )
    def get(self, request: Request, location_id: int) -> HttpResponse:
        location = _location(request, location_id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "sku",
                "on_hand",
                "reserved",
                "available",
                "damaged",
                "returned",
                "in_transit",
                "reorder_point",
                "reorder_quantity",
            ]
        )
        for item in selectors.stock_item_list(locations=Location.objects.filter(pk=location.pk)):
            writer.writerow(
                [
                    item.variant.sku,
                    item.on_hand,
                    item.reserved,
                    item.available,
                    item.damaged,
                    item.returned,
                    item.in_transit,
                    item.reorder_point,
                    item.reorder_quantity,
                ]
            )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="stock-{location.code}.csv"'
        return response

    @extend_schema(
        operation_id="locations_restock_csv",
        summary="Restock from a CSV file",
        description="Columns: sku, quantity, batch_number, production_date, expiry_date. All rows or "
        "none, like the JSON restock.",
        request={"multipart/form-data": s.CsvUploadSerializer},
        responses={201: s.StockItemSerializer(many=True)},
        tags=["stock"],
    )
    def post(self, request: Request, location_id: int) -> Response:
        location = _location(request, location_id)
        upload = request.FILES.get("file")
        if upload is None or upload.size > 5 * 1024 * 1024:
            raise InvalidInput(
                "Attach a CSV file of at most 5 MB as `file`.",
                code="validation_error",
                details={"file": ["Required, at most 5 MB."]},
            )
        try:
            rows = list(csv.DictReader(io.StringIO(upload.read().decode("utf-8-sig"))))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InvalidInput(
                "The file must be UTF-8 CSV.", code="validation_error", details={"file": ["Not a UTF-8 CSV file."]}
            ) from exc
        states = services.stock_bulk_restock(location=location, lines=rows, reference=f"csv:{upload.name}"[:100])
        items = selectors.stock_item_list(locations=Location.objects.filter(pk=location.pk)).filter(
            pk__in=[state.id for state in states]
        )
        return Response(s.StockItemSerializer(items, many=True).data, status=status.HTTP_201_CREATED)


PURCHASERS = Access(staff_roles=frozenset({"owner", "warehouse"}))
MOVERS = Access(staff_roles=ALL_STAFF, api_key_scope="inventory:write")


def _transfers(request: Request) -> QuerySet[Transfer]:
    visible = _locations(request)
    return (
        Transfer.objects.filter(Q(from_location__in=visible) | Q(to_location__in=visible))
        .select_related("from_location", "to_location")
        .prefetch_related("lines__variant", "lines__lot")
        .distinct()
    )


class TransferListView(VersionedView, GenericAPIView):
    list_view = True  # GET answers a page
    queryset = Transfer.objects.none()  # the schema's filter and path parameter types
    access_policy = {"GET": STOCK_READERS, "POST": MOVERS}
    serializer_class = s.TransferSerializer
    filterset_fields = ["status"]
    ordering = ["-id"]

    @extend_schema(
        operation_id="transfers_list", summary="Transfers", description="Between visible locations.", tags=["stock"]
    )
    def get(self, request: Request) -> Response:
        return paginated(self, _transfers(request), s.TransferSerializer)

    @extend_schema(
        operation_id="transfers_create",
        summary="Draft a transfer",
        description="Lines by SKU (and batch for lot-tracked variants).",
        request=s.TransferInputSerializer,
        responses={201: s.TransferSerializer},
        parameters=VERSIONED_READ,
        tags=["stock"],
    )
    def post(self, request: Request) -> Response:
        data = s.TransferInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = get_or_invalid(
            _locations(request), "from_location_id", "No such location.", pk=data.validated_data["from_location_id"]
        )
        target = get_or_invalid(
            _locations(request), "to_location_id", "No such location.", pk=data.validated_data["to_location_id"]
        )
        lines = []
        for line in data.validated_data["lines"]:
            variant = _variant(line["sku"])
            lines.append((variant, _lot(variant, line["batch_number"]), line["quantity"]))
        transfer = services.transfer_create(
            from_location=source, to_location=target, lines=lines, note=data.validated_data["note"]
        )
        transfer = _transfers(request).get(pk=transfer.pk)
        return self.versioned(s.TransferSerializer(transfer).data, transfer, status.HTTP_201_CREATED)


class _TransferAction(VersionedView, GenericAPIView):
    access_policy = MOVERS
    serializer_class = s.TransferSerializer

    def _transfer(self, request: Request, transfer_id: int) -> Transfer:
        return get_or_404(_transfers(request), "No such transfer.", pk=transfer_id)


class TransferDetailView(_TransferAction):
    access_policy = STOCK_READERS

    @extend_schema(
        operation_id="transfers_get",
        summary="A transfer",
        description="With its lines. Carries an `ETag`; send it back as `If-Match` when shipping or receiving it.",
        parameters=VERSIONED_READ,
        tags=["stock"],
    )
    def get(self, request: Request, transfer_id: int) -> Response:
        transfer = self._transfer(request, transfer_id)
        return self.versioned(s.TransferSerializer(transfer).data, transfer)


class TransferShipView(_TransferAction):
    @extend_schema(
        operation_id="transfers_ship",
        summary="Ship a transfer",
        description="Units leave the source and are in transit to the destination. Honours `If-Match`.",
        request=None,
        parameters=VERSIONED_WRITE,
        tags=["stock"],
    )
    def post(self, request: Request, transfer_id: int) -> Response:
        transfer = self._transfer(request, transfer_id)
        services.transfer_ship(transfer=transfer, expected_version=self.if_match(request, transfer))
        transfer = self._transfer(request, transfer_id)
        return self.versioned(s.TransferSerializer(transfer).data, transfer)


class TransferReceiveView(_TransferAction):
    @extend_schema(
        operation_id="transfers_receive",
        summary="Receive a transfer (all or part)",
        description="Units per line; whatever is not received stays in transit. Honours `If-Match`.",
        request=s.ReceiveSerializer,
        parameters=VERSIONED_WRITE,
        tags=["stock"],
    )
    def post(self, request: Request, transfer_id: int) -> Response:
        transfer = self._transfer(request, transfer_id)
        expected = self.if_match(request, transfer)
        data = s.ReceiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        received: dict[int, int] = {}
        for line in data.validated_data["lines"]:  # a line listed twice: both parts count (not the last)
            received[line["line_id"]] = received.get(line["line_id"], 0) + line["quantity"]
        services.transfer_receive(transfer=transfer, received=received, expected_version=expected)
        transfer = self._transfer(request, transfer_id)
        return self.versioned(s.TransferSerializer(transfer).data, transfer)


def _orders() -> QuerySet[PurchaseOrder]:
    return PurchaseOrder.objects.select_related("supplier", "location").prefetch_related("lines__variant")


class PurchaseOrderListView(VersionedView, GenericAPIView):
    list_view = True  # GET answers a page
    queryset = PurchaseOrder.objects.none()  # the schema's filter and path parameter types
    access_policy = PURCHASERS
    serializer_class = s.PurchaseOrderSerializer
    filterset_fields = ["status", "supplier", "location"]
    ordering = ["-id"]

    @extend_schema(
        operation_id="purchase_orders_list", summary="Purchase orders", description="Newest first.", tags=["stock"]
    )
    def get(self, request: Request) -> Response:
        return paginated(self, _orders(), s.PurchaseOrderSerializer)

    @extend_schema(
        operation_id="purchase_orders_create",
        summary="Draft a purchase order",
        description="Lines by SKU.",
        request=s.PurchaseOrderInputSerializer,
        responses={201: s.PurchaseOrderSerializer},
        parameters=VERSIONED_READ,
        tags=["stock"],
    )
    def post(self, request: Request) -> Response:
        data = s.PurchaseOrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        supplier = Supplier.objects.filter(pk=data.validated_data["supplier_id"]).first()
        if supplier is None:
            raise InvalidInput("Unknown supplier.", code="validation_error", details={"supplier_id": ["Unknown."]})
        location = get_or_invalid(
            _locations(request), "location_id", "No such location.", pk=data.validated_data["location_id"]
        )
        lines = [(_variant(ln["sku"]), ln["quantity"], ln["unit_cost"]) for ln in data.validated_data["lines"]]
        order = services.purchase_order_create(
            supplier=supplier, location=location, lines=lines, reference=data.validated_data["reference"]
        )
        order = _orders().get(pk=order.pk)
        return self.versioned(s.PurchaseOrderSerializer(order).data, order, status.HTTP_201_CREATED)


class _OrderAction(VersionedView, GenericAPIView):
    access_policy = PURCHASERS
    serializer_class = s.PurchaseOrderSerializer

    def _order(self, order_id: int) -> PurchaseOrder:
        return get_or_404(_orders(), "No such purchase order.", pk=order_id)


class PurchaseOrderDetailView(_OrderAction):
    @extend_schema(
        operation_id="purchase_orders_get",
        summary="A purchase order",
        description="With its lines. Carries an `ETag`; send it back as `If-Match` when editing, "
        "sending or receiving it.",
        parameters=VERSIONED_READ,
        tags=["stock"],
    )
    def get(self, request: Request, order_id: int) -> Response:
        order = self._order(order_id)
        return self.versioned(s.PurchaseOrderSerializer(order).data, order)

    @extend_schema(
        operation_id="purchase_orders_update",
        summary="Edit a draft purchase order",
        description="The reference, and the lines by SKU (given lines replace all of them). Only a draft "
        "(409 `purchase_order_state` otherwise). With `If-Match: <ETag>` a stale edit answers 412 "
        "`precondition_failed` and changes nothing.",
        request=s.PurchaseOrderUpdateSerializer,
        responses=s.PurchaseOrderSerializer,
        parameters=VERSIONED_WRITE,
        tags=["stock"],
    )
    def patch(self, request: Request, order_id: int) -> Response:
        order = self._order(order_id)
        expected = self.if_match(request, order)
        data = s.PurchaseOrderUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lines = data.validated_data.get("lines")
        services.purchase_order_update(
            order=order,
            expected_version=expected,
            reference=data.validated_data.get("reference"),
            lines=None if lines is None else [(_variant(ln["sku"]), ln["quantity"], ln["unit_cost"]) for ln in lines],
        )
        order = self._order(order_id)
        return self.versioned(s.PurchaseOrderSerializer(order).data, order)


class PurchaseOrderSendView(_OrderAction):
    @extend_schema(
        operation_id="purchase_orders_send",
        summary="Mark a purchase order sent",
        description="Draft to sent. Honours `If-Match`.",
        request=None,
        parameters=VERSIONED_WRITE,
        tags=["stock"],
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = self._order(order_id)
        services.purchase_order_send(order=order, expected_version=self.if_match(request, order))
        order = self._order(order_id)
        return self.versioned(s.PurchaseOrderSerializer(order).data, order)


class PurchaseOrderReceiveView(_OrderAction):
    @extend_schema(
        operation_id="purchase_orders_receive",
        summary="Receive a purchase order (all or part)",
        description="Creates lots (batch, expiry) and receipt movements. Honours `If-Match`.",
        request=s.ReceiveSerializer,
        parameters=VERSIONED_WRITE,
        tags=["stock"],
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = self._order(order_id)
        expected = self.if_match(request, order)
        data = s.ReceiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        receipts = [
            services.PurchaseReceipt(
                ln["line_id"], ln["quantity"], ln["batch_number"], ln["production_date"], ln["expiry_date"]
            )
            for ln in data.validated_data["lines"]
        ]
        services.purchase_order_receive(order=order, receipts=receipts, expected_version=expected)
        order = self._order(order_id)
        return self.versioned(s.PurchaseOrderSerializer(order).data, order)


class SuggestionListView(GenericAPIView):
    list_view = True  # GET answers a page
    queryset = ReorderSuggestion.objects.none()  # the schema's filter and path parameter types
    access_policy = Access(staff_roles=frozenset({"owner", "warehouse", "store_manager"}))
    serializer_class = s.SuggestionSerializer

    @extend_schema(
        operation_id="reorder_suggestions_list",
        summary="Reorder suggestions",
        description="Computed daily: trailing-28-day velocity, days of cover, suggested quantity and "
        "supplier, lowest cover first.",
        tags=["stock"],
    )
    def get(self, request: Request) -> Response:
        rows = ReorderSuggestion.objects.filter(stock_item__location__in=_locations(request)).select_related(
            "stock_item__variant", "stock_item__location", "supplier"
        )
        return paginated(self, rows, s.SuggestionSerializer, filtered=False)


class SuggestionDraftOrdersView(GenericAPIView):
    access_policy = PURCHASERS
    queryset = PurchaseOrder.objects.none()  # for the schema
    serializer_class = s.PurchaseOrderSerializer

    @extend_schema(
        operation_id="reorder_suggestions_draft_orders",
        summary="Draft purchase orders from suggestions",
        description="One draft per supplier and location.",
        request=None,
        responses={201: s.PurchaseOrderSerializer(many=True)},
        tags=["stock"],
    )
    def post(self, request: Request) -> Response:
        orders = services.purchase_orders_draft_from_suggestions()
        return Response(
            s.PurchaseOrderSerializer(_orders().filter(pk__in=[o.pk for o in orders]), many=True).data,
            status=status.HTTP_201_CREATED,
        )
