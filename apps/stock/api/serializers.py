from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.core.api.fields import IdField, QuantityField, StrictIntegerField
from apps.core.api.serializers import CsvUploadSerializer  # noqa: F401 - re-exported for the views
from apps.stock.models import Location, Lot, LotStock, Movement, RestockAlert, StockItem
from apps.stock.services import LOCATION_EDITABLE


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = [
            "id",
            "name",
            "code",
            "kind",
            "address",
            "latitude",
            "longitude",
            "timezone",
            "pickup_enabled",
            "curbside_enabled",
            "opening_hours",
            "city",
            "postal_code",
            "country",
            "phone",
            "delivery_enabled",
            "is_public",
        ]


class StockItemSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")
    available = serializers.IntegerField()

    class Meta:
        model = StockItem
        fields = [
            "id",
            "sku",
            "location",
            "on_hand",
            "reserved",
            "available",
            "damaged",
            "returned",
            "in_transit",
            "reorder_point",
            "reorder_quantity",
            "version",
            "updated_at",
        ]


class StockItemSettingsSerializer(serializers.Serializer):
    reorder_point = QuantityField(min_value=0, max_value=10_000_000, required=False)
    reorder_quantity = QuantityField(min_value=0, max_value=10_000_000, required=False)


class RestockLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = QuantityField()
    batch_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    production_date = serializers.DateField(required=False, allow_null=True, default=None)
    expiry_date = serializers.DateField(required=False, allow_null=True, default=None)


class RestockSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    lines = serializers.ListField(
        child=RestockLineSerializer(),
        min_length=1,
        max_length=1000,
        help_text="Receipt lines; a bad line is reported under `details.lines.<index>` and nothing is applied.",
    )


class AdjustmentSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    reason = serializers.ChoiceField(choices=["damaged", "lost", "found", "expired"])
    quantity = QuantityField()
    batch_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CountSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    counted = QuantityField(min_value=0, max_value=10_000_000)
    batch_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReservationLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    location_id = IdField()
    quantity = QuantityField()


class ReservationInputSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=100)
    ttl_seconds = StrictIntegerField(min_value=30, max_value=7 * 24 * 3600, default=900)
    lines = ReservationLineInputSerializer(many=True, min_length=1, max_length=200)


class ReservationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    status = serializers.CharField()
    expires_at = serializers.DateTimeField()
    lines = serializers.SerializerMethodField()

    def get_lines(self, obj) -> list[dict]:  # noqa: ANN001
        return [
            {
                "sku": line.variant.sku,
                "location_id": line.location_id,
                "quantity": line.quantity,
                "batch_number": line.lot.batch_number if line.lot else None,
            }
            for line in obj.lines.select_related("variant", "lot")
        ]


class MovementSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")
    batch_number = serializers.CharField(source="lot.batch_number", default=None)

    class Meta:
        model = Movement
        fields = [
            "id",
            "created_at",
            "kind",
            "reason",
            "sku",
            "location",
            "batch_number",
            "on_hand_delta",
            "reserved_delta",
            "damaged_delta",
            "returned_delta",
            "in_transit_delta",
            "reference",
            "note",
            "actor",
        ]


class LotStockSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")

    class Meta:
        model = LotStock
        fields = ["location", "on_hand", "reserved"]


class LotSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    stocks = LotStockSerializer(many=True)

    class Meta:
        model = Lot
        fields = ["id", "sku", "batch_number", "production_date", "expiry_date", "stocks"]


class RecallSerializer(serializers.Serializer):
    lot = LotSerializer()
    stocks = LotStockSerializer(many=True)
    movements = MovementSerializer(many=True)


class AlertSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="stock_item.variant.sku")
    location = serializers.CharField(source="stock_item.location.code")
    available = serializers.SerializerMethodField()
    reorder_point = serializers.IntegerField(source="stock_item.reorder_point")

    class Meta:
        model = RestockAlert
        fields = ["id", "sku", "location", "available", "available_at_open", "reorder_point", "opened_at"]

    def get_available(self, obj: RestockAlert) -> int:
        return obj.stock_item.available


class TransferLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    batch_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    quantity = QuantityField()


class TransferInputSerializer(serializers.Serializer):
    from_location_id = IdField()
    to_location_id = IdField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    lines = TransferLineInputSerializer(many=True, min_length=1, max_length=500)


class TransferLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField(source="variant.sku")
    batch_number = serializers.CharField(source="lot.batch_number", default=None)
    quantity = serializers.IntegerField()
    received_quantity = serializers.IntegerField()


class TransferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    from_location = serializers.CharField(source="from_location.code")
    to_location = serializers.CharField(source="to_location.code")
    status = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    shipped_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    lines = TransferLineSerializer(many=True)


class ReceiveLineSerializer(serializers.Serializer):
    line_id = IdField()
    quantity = QuantityField(min_value=0)
    batch_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    production_date = serializers.DateField(required=False, allow_null=True, default=None)
    expiry_date = serializers.DateField(required=False, allow_null=True, default=None)


class ReceiveSerializer(serializers.Serializer):
    lines = ReceiveLineSerializer(many=True, min_length=1, max_length=500)


class PurchaseOrderLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField(source="variant.sku")
    quantity = serializers.IntegerField()
    received_quantity = serializers.IntegerField()
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)


class PurchaseOrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    supplier = serializers.CharField(source="supplier.name")
    location = serializers.CharField(source="location.code")
    status = serializers.CharField()
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    lines = PurchaseOrderLineSerializer(many=True)


class PurchaseOrderLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = QuantityField()
    unit_cost = serializers.DecimalField(
        max_digits=12, decimal_places=4, required=False, allow_null=True, default=None, min_value=0
    )


class PurchaseOrderInputSerializer(serializers.Serializer):
    supplier_id = IdField()
    location_id = IdField()
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    lines = PurchaseOrderLineInputSerializer(many=True, min_length=1, max_length=500)


class SuggestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField(source="stock_item.variant.sku")
    location = serializers.CharField(source="stock_item.location.code")
    supplier = serializers.CharField(source="supplier.name", default=None)
    available = serializers.SerializerMethodField()
    daily_velocity = serializers.DecimalField(max_digits=12, decimal_places=3)
    days_of_cover = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    suggested_quantity = serializers.IntegerField()
    computed_at = serializers.DateTimeField()

    def get_available(self, obj) -> int:  # noqa: ANN001
        return obj.stock_item.available


class LocationUpdateSerializer(serializers.ModelSerializer):
    """What staff may change on a location (its code and kind stay: ledgers and files name them)."""

    class Meta:
        model = Location
        fields = list(LOCATION_EDITABLE)  # what location_update accepts
        # Coordinates on the globe (the store locator and delivery routing compute distances).
        extra_kwargs = {
            "latitude": {"min_value": -90, "max_value": 90},
            "longitude": {"min_value": -180, "max_value": 180},
        }

    def validate_timezone(self, value: str) -> str:
        """An IANA zone: hours, the locator's open-now and delivery routes are read in it (an unknown
        name made route planning fail with a 500)."""
        from apps.tenants.models import validate_timezone

        try:
            validate_timezone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value


class PurchaseOrderUpdateSerializer(serializers.Serializer):
    """A draft's reference and its lines (given lines replace all of them)."""

    reference = serializers.CharField(max_length=64, required=False, allow_blank=True)
    lines = PurchaseOrderLineInputSerializer(many=True, min_length=1, max_length=500, required=False)
