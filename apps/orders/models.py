"""Orders: an explicit state machine with one timestamp per status reached and an event trail."""

from django.conf import settings
from django.db import models

from apps.catalog.models import Variant
from apps.stock.models import Location, Reservation


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    ON_HOLD = "on_hold", "On hold (credit)"
    CONFIRMED = "confirmed", "Confirmed"
    PAID = "paid", "Paid"
    PREPARING = "preparing", "Preparing"
    READY = "ready", "Ready for pickup"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    SHIPPED = "shipped", "Shipped"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


class Order(models.Model):
    class Channel(models.TextChoices):
        RETAIL = "retail", "Retail app"
        WHOLESALE = "wholesale", "Wholesale app"
        STAFF = "staff", "Staff (admin / point of sale)"
        PARTNER = "partner", "Partner (API key)"

    class Fulfilment(models.TextChoices):
        PICKUP = "pickup", "Pickup"
        CURBSIDE = "curbside", "Curbside"
        DELIVERY = "delivery", "Delivery"
        SHIPPING = "shipping", "Shipping"

    number = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    fulfilment = models.CharField(max_length=16, choices=Fulfilment.choices)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED, db_index=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    delivery_fee = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    # Offers applied to the whole order and to delivery, with their reasons (the pricing function's
    # explanation, as stored at placement); item discounts live on the lines.
    discounts = models.JSONField(default=list, blank=True)
    # Loyalty points spent at checkout: they pay `points_value` of the total, like a payment.
    points_redeemed = models.PositiveIntegerField(default=0)
    points_value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    prices_include_tax = models.BooleanField(default=False)
    on_account = models.BooleanField(default=False, help_text="Wholesale credit terms: no card payment.")
    placed_by_key = models.ForeignKey(
        "accounts.ApiKey",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        help_text="The partner key that placed it (partners see their own orders only).",
    )
    reservation = models.ForeignKey(Reservation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    note = models.CharField(max_length=500, blank=True)
    delivery_address = models.CharField(max_length=300, blank=True)
    delivery_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    delivery_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    delivery_window_start = models.DateTimeField(null=True, blank=True)
    delivery_window_end = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True, help_text="Curbside: the customer said 'I'm here'.")
    arrival_bay = models.CharField(max_length=20, blank=True)
    arrival_car = models.CharField(max_length=120, blank=True)
    carrier = models.CharField(max_length=20, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    placed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    on_hold_at = models.DateTimeField(
        null=True, blank=True, help_text="On account while the business is on credit hold: staff release it."
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    preparing_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    out_for_delivery_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped by every write (ETag).")

    class Meta:
        ordering = ["-placed_at"]
        indexes = [models.Index(fields=["customer", "placed_at"]), models.Index(fields=["location", "status"])]

    def __str__(self) -> str:
        return f"order {self.number} ({self.status})"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=240)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
    # Everything taken off this line (its item discounts plus its share of order discounts), and
    # each applied offer with its reason; line_total - discount is what the customer paid for it.
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    discounts = models.JSONField(default=list, blank=True)
    # Where the line is picked from: the order's store for pickup and curbside; for delivery and
    # shipping the allocated location (a line no one location could supply is split into several
    # lines of the same variant, one per location).
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderEvent(models.Model):
    """The trail: every transition with its actor and reason."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class ReturnRequest(models.Model):
    """A customer returns lines of a completed order; staff approve and receive them."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        RECEIVED = "received", "Received"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    reason = models.CharField(max_length=500, blank=True)
    refund_amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text="Owed for the received lines (the payments work pays it out).",
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"return {self.pk} of {self.order.number} ({self.status})"


class ReturnLine(models.Model):
    class Condition(models.TextChoices):
        RESALEABLE = "resaleable", "Back to available stock"
        DAMAGED = "damaged", "Damaged"
        QUARANTINE = "quarantine", "Returned (quarantine)"

    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField()
    received_quantity = models.PositiveIntegerField(default=0)
    condition = models.CharField(max_length=16, choices=Condition.choices, blank=True)

    def __str__(self) -> str:
        return f"{self.quantity} x {self.order_line.sku}"


class DeliveryRoute(models.Model):
    """One driver's run from a location: its delivery orders in the order to visit them."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="routes")
    date = models.DateField()
    total_distance_m = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"route {self.pk} from {self.location} on {self.date}"


class RouteStop(models.Model):
    route = models.ForeignKey(DeliveryRoute, on_delete=models.CASCADE, related_name="stops")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="route_stops")
    sequence = models.PositiveSmallIntegerField()
    planned_arrival = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["route", "sequence"]
        constraints = [models.UniqueConstraint(fields=["route", "sequence"], name="route_stop_sequence_unique")]

    def __str__(self) -> str:
        return f"stop {self.sequence}: {self.order.number}"
