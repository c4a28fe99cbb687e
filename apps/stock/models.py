"""Stock per variant and location, by state, with lots and an append-only movement ledger.

Quantities change only through apps.stock.services, each change as one conditional UPDATE per
row plus a ledger row explaining it; `Movement` sums always equal the quantities.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.catalog.models import Supplier, Variant
from apps.tenants.models import validate_timezone


class Location(models.Model):
    class Kind(models.TextChoices):
        STORE = "store", "Store"
        WAREHOUSE = "warehouse", "Warehouse"

    name = models.CharField(max_length=120)
    code = models.SlugField(max_length=40, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    address = models.TextField(blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    pickup_enabled = models.BooleanField(default=False)
    curbside_enabled = models.BooleanField(default=False)
    opening_hours = models.JSONField(default=dict, blank=True, help_text='e.g. {"mon": ["09:00", "18:00"]}')
    # The store locator (apps.stock.locator): where to find the store and what it offers customers.
    city = models.CharField(max_length=120, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code, e.g. US.")
    phone = models.CharField(max_length=40, blank=True)
    delivery_enabled = models.BooleanField(default=False, help_text="Delivers to customers' addresses.")
    is_public = models.BooleanField(
        default=False,
        help_text="Listed in the customers' store locator (stores open to customers; warehouses stay off).",
    )
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="managed_locations",
        help_text="Store managers who see and change this location.",
    )
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped by every write (ETag).")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StockItem(models.Model):
    """One variant at one location. available = on_hand - reserved."""

    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="stock_items")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_items")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    damaged = models.IntegerField(default=0)
    returned = models.IntegerField(default=0, help_text="Returned units in quarantine.")
    in_transit = models.IntegerField(default=0, help_text="Units on their way to this location.")
    reorder_point = models.PositiveIntegerField(default=0)
    reorder_quantity = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1, help_text="Bumped by manual edits (ETag).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["location", "variant"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="stock_item_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
            models.CheckConstraint(condition=Q(damaged__gte=0), name="stock_damaged_not_negative"),
            models.CheckConstraint(condition=Q(returned__gte=0), name="stock_returned_not_negative"),
            models.CheckConstraint(condition=Q(in_transit__gte=0), name="stock_in_transit_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} @ {self.location}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Lot(models.Model):
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="lots")
    batch_number = models.CharField(max_length=64)
    production_date = models.DateField(null=True, blank=True)
    expiry_date = models.DateField(null=True, blank=True, db_index=True)
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["expiry_date", "id"]
        constraints = [models.UniqueConstraint(fields=["variant", "batch_number"], name="lot_batch_unique")]

    def __str__(self) -> str:
        return f"{self.variant.sku} lot {self.batch_number}"


class LotStock(models.Model):
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="stocks")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="lot_stocks")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lot", "location"], name="lot_stock_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="lot_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="lot_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="lot_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"lot {self.lot_id} @ location {self.location_id}: {self.on_hand}"


class Movement(models.Model):
    """Append-only ledger: every unit in every bucket is explained by these rows."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        SALE = "sale", "Sale"
        RETURN = "return", "Return"
        ADJUSTMENT = "adjustment", "Adjustment"
        TRANSFER_OUT = "transfer_out", "Transfer out"
        TRANSFER_IN = "transfer_in", "Transfer in"
        RESERVATION = "reservation", "Reservation"
        RELEASE = "release", "Release"

    class Reason(models.TextChoices):
        NONE = "", "—"
        DAMAGED = "damaged", "Damaged"
        LOST = "lost", "Lost"
        FOUND = "found", "Found"
        COUNT = "count_correction", "Count correction"
        EXPIRED = "expired", "Expired"

    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True, default="")
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    damaged_delta = models.IntegerField(default=0)
    returned_delta = models.IntegerField(default=0)
    in_transit_delta = models.IntegerField(default=0)
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    note = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["variant", "location", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}".strip()


class Reservation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RELEASED = "released", "Released"
        COMMITTED = "committed", "Committed (sold)"
        EXPIRED = "expired", "Expired"

    reference = models.CharField(max_length=100, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"reservation {self.pk} for {self.reference} ({self.status})"


class ReservationLine(models.Model):
    """Quantity held for a reservation on one stock row (and lot, for lot-tracked variants)."""

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.quantity} x variant {self.variant_id}"


class RestockAlert(models.Model):
    stock_item = models.ForeignKey(StockItem, on_delete=models.CASCADE, related_name="alerts")
    available_at_open = models.IntegerField()
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set when the location's managers were e-mailed about it (apps.stock.notifications), in the same
    # transaction and by a conditional update: each alert is notified once; a reopened one is a new row.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["stock_item"], condition=Q(closed_at__isnull=True), name="one_open_alert_per_item"
            ),
        ]
        indexes = [
            models.Index(
                fields=["opened_at"],
                condition=Q(closed_at__isnull=True, notified_at__isnull=True),
                name="restock_alert_to_notify",
            ),
        ]

    def __str__(self) -> str:
        return f"low stock: {self.stock_item}"


class Transfer(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_TRANSIT = "in_transit", "In transit"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    from_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_out")
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped by every write (ETag).")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(from_location=F("to_location")), name="transfer_between_two_places"),
        ]

    def __str__(self) -> str:
        return f"transfer {self.pk}: {self.from_location} -> {self.to_location} ({self.status})"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    received_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(received_quantity__lte=F("quantity")), name="transfer_received_le_sent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="purchase_orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped by every write (ETag).")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"PO {self.pk} {self.supplier} ({self.status})"


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    received_quantity = models.PositiveIntegerField(default=0)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"


class ReorderSuggestion(models.Model):
    """Computed daily from the trailing 28 days of sales (see services.reorder_suggestions_compute)."""

    stock_item = models.OneToOneField(StockItem, on_delete=models.CASCADE, related_name="suggestion")
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    daily_velocity = models.DecimalField(max_digits=12, decimal_places=3)
    days_of_cover = models.DecimalField(max_digits=12, decimal_places=1, null=True, blank=True)
    suggested_quantity = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["days_of_cover"]

    def __str__(self) -> str:
        return f"reorder {self.suggested_quantity} of {self.stock_item}"


class OpeningHours(models.Model):
    """One opening range of a weekday (a day may have several, e.g. a lunch break), in the store's
    local time (see apps.stock.locator). `closes` earlier than `opens` closes after midnight, the
    next day; `closes` equal to `opens` is open around the clock."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text="Earlier than opens: after midnight. Equal to opens: 24 hours.")

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = "opening hours"
        constraints = [models.CheckConstraint(condition=Q(weekday__lte=6), name="opening_hours_weekday_valid")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class HoursException(models.Model):
    """A date whose hours differ from the week's (a holiday): closed all day, or its own ranges (one
    row per range). Any row for a date replaces that date's weekly hours."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="hours_exceptions")
    date = models.DateField()
    closed = models.BooleanField(default=False, help_text="Closed all day (leave the times empty).")
    opens = models.TimeField(null=True, blank=True)
    closes = models.TimeField(null=True, blank=True, help_text="Earlier than opens: after midnight.")
    note = models.CharField(max_length=200, blank=True, help_text="Shown to customers, e.g. 'Christmas Day'.")

    class Meta:
        ordering = ["date", "opens"]
        indexes = [models.Index(fields=["location", "date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(closed=True, opens__isnull=True, closes__isnull=True)
                | Q(closed=False, opens__isnull=False, closes__isnull=False),
                name="hours_exception_closed_or_hours",
            ),
        ]

    def __str__(self) -> str:
        hours = "closed" if self.closed else f"{self.opens:%H:%M}-{self.closes:%H:%M}"
        return f"{self.date} {hours}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.closed and (self.opens is not None or self.closes is not None):
            raise ValidationError({"opens": "A closed day has no hours."})
        if not self.closed and (self.opens is None or self.closes is None):
            raise ValidationError({"opens": "Give the special hours, or tick closed."})
