from rest_framework import serializers

from apps.core.api.fields import IdField, QuantityField
from apps.core.api.serializers import StaticFieldsMixin
from apps.orders.models import Order, OrderEvent, OrderLine, OrderStatus


class OrderLineSerializer(StaticFieldsMixin, serializers.ModelSerializer):
    location = serializers.CharField(
        source="location.code",
        default=None,
        help_text="Code of the location the line is picked from (an order may ship from several).",
    )

    class Meta:
        model = OrderLine
        fields = ["sku", "name", "quantity", "unit_price", "line_total", "discount", "discounts", "location"]


class OrderEventSerializer(StaticFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["from_status", "to_status", "actor", "reason", "created_at"]


class OrderSerializer(StaticFieldsMixin, serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True)
    events = OrderEventSerializer(many=True)
    location = serializers.CharField(source="location.code", default=None)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "channel",
            "fulfilment",
            "location",
            "currency",
            "subtotal",
            "discount",
            "discounts",
            "points_redeemed",
            "points_value",
            "tax",
            "delivery_fee",
            "total",
            "prices_include_tax",
            "on_account",
            "payment_due_at",
            "note",
            "placed_at",
            "on_hold_at",
            "confirmed_at",
            "paid_at",
            "preparing_at",
            "ready_at",
            "out_for_delivery_at",
            "shipped_at",
            "completed_at",
            "cancelled_at",
            "refunded_at",
            "carrier",
            "tracking_number",
            "delivery_address",
            "delivery_latitude",
            "delivery_longitude",
            "delivery_window_start",
            "delivery_window_end",
            "arrived_at",
            "arrival_bay",
            "arrival_car",
            "lines",
            "events",
        ]


class OrderLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = QuantityField(max_value=10_000)


class DeliveryInputSerializer(serializers.Serializer):
    address = serializers.CharField(max_length=300)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180)
    window_start = serializers.DateTimeField(required=False, allow_null=True, default=None)
    window_end = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate(self, data: dict) -> dict:
        if data["window_start"] and data["window_end"] and data["window_end"] <= data["window_start"]:
            raise serializers.ValidationError({"window_end": ["After the window start."]})
        return data


class OrderInputSerializer(serializers.Serializer):
    fulfilment = serializers.ChoiceField(choices=Order.Fulfilment.choices)
    location_id = IdField(required=False, allow_null=True, default=None)
    on_account = serializers.BooleanField(default=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    lines = OrderLineInputSerializer(many=True, min_length=1, max_length=200)
    coupon_codes = serializers.ListField(
        child=serializers.CharField(max_length=40),
        max_length=5,
        default=list,
        help_text="Coupon codes entered (case-insensitive); the best offer is applied automatically.",
    )
    redeem_points = QuantityField(
        min_value=0, default=0, help_text="Loyalty points to spend on this order (they pay part of the total)."
    )
    delivery = DeliveryInputSerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text="Required for delivery: where to, and an optional time window.",
    )
    allow_split = serializers.BooleanField(
        default=True,
        help_text="Delivery and shipping: may the order ship from several locations when no single one "
        "has everything? false: such an order is refused (409 split_refused, with what is short at the "
        "best location). Pickup and curbside always come from the chosen store.",
    )


class TransitionSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=OrderStatus.choices)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class LineChangeSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = QuantityField(min_value=0, max_value=10_000, help_text="0 removes the line.")


class LinesUpdateSerializer(serializers.Serializer):
    lines = LineChangeSerializer(many=True, min_length=1, max_length=200)


class ShipSerializer(serializers.Serializer):
    carrier = serializers.ChoiceField(choices=["ups", "fedex", "usps", "dhl"])
    tracking_number = serializers.CharField(max_length=64)


class TrackingSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    carrier = serializers.CharField(allow_null=True)
    tracking_number = serializers.CharField(allow_null=True)
    tracking_url = serializers.CharField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)


class ReturnLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField(source="order_line.sku")
    quantity = serializers.IntegerField()
    received_quantity = serializers.IntegerField()
    condition = serializers.CharField()


class ReturnSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.CharField(source="order.number")
    status = serializers.CharField()
    reason = serializers.CharField()
    refund_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    lines = ReturnLineSerializer(many=True)


class ReturnLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = QuantityField(max_value=10_000)


class ReturnInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    lines = ReturnLineInputSerializer(many=True, min_length=1, max_length=200)


class ReturnDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ReturnReceiveLineSerializer(serializers.Serializer):
    line_id = IdField()
    quantity = QuantityField(min_value=0, max_value=10_000)
    condition = serializers.ChoiceField(choices=["resaleable", "damaged", "quarantine"])


class ReturnReceiveSerializer(serializers.Serializer):
    lines = ReturnReceiveLineSerializer(many=True, min_length=1, max_length=200)


class ArrivalSerializer(serializers.Serializer):
    bay = serializers.CharField(max_length=20, help_text="Parking bay number.")
    car = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default="", help_text="e.g. 'red Mini'."
    )


class RouteStopSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    order = serializers.CharField(source="order.number")
    address = serializers.CharField(source="order.delivery_address")
    latitude = serializers.DecimalField(source="order.delivery_latitude", max_digits=9, decimal_places=6)
    longitude = serializers.DecimalField(source="order.delivery_longitude", max_digits=9, decimal_places=6)
    planned_arrival = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


class RouteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    location = serializers.CharField(source="location.code")
    date = serializers.DateField()
    total_distance_m = serializers.IntegerField()
    stops = RouteStopSerializer(many=True)


class RouteInputSerializer(serializers.Serializer):
    date = serializers.DateField()


class PickLotSerializer(serializers.Serializer):
    batch_number = serializers.CharField()
    expiry_date = serializers.DateField(allow_null=True)
    quantity = serializers.IntegerField()


class PickLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    lots = PickLotSerializer(many=True, help_text="Lot-tracked variants: the batches to pick, first expiry first.")


class PickListSerializer(serializers.Serializer):
    location_id = serializers.IntegerField()
    location = serializers.CharField(help_text="The location's code.")
    location_name = serializers.CharField()
    units = serializers.IntegerField()
    lines = PickLineSerializer(many=True)


class OrderPickListsSerializer(serializers.Serializer):
    order = serializers.CharField(help_text="The order number.")
    status = serializers.CharField()
    fulfilment = serializers.CharField()
    pick_lists = PickListSerializer(many=True)
