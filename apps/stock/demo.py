"""Demo catalog and stock for the demo tenant (called by `manage.py seed_demo`, once)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from apps.catalog.models import Category, PriceList, PriceListEntry, Product, Supplier, SupplierVariant, Variant
from apps.stock import services
from apps.stock.models import HoursException, Location, OpeningHours, StockItem

SAUCES = [
    ("Mango Habanero", "Sunny Pepper", 6, "mango, citrus"),
    ("Ghost Pepper Reaper", "Blaze", 10, "smoky, fruity"),
    ("Chipotle Smoke", "Blaze", 4, "smoky, earthy"),
    ("Verde Jalapeño", "Sunny Pepper", 3, "tangy, herbal"),
    ("Garlic Fire", "Acme", 5, "garlic, savoury"),
    ("Pineapple Scotch Bonnet", "Island Heat", 7, "sweet, tropical"),
    ("Sriracha Classic", "Acme", 4, "garlic, sweet"),
    ("Carolina Gold", "Blaze", 8, "mustard, vinegar"),
    ("Honey Chili Crisp", "Island Heat", 3, "sweet, crunchy"),
    ("Smoked Ancho", "Sunny Pepper", 2, "raisin, smoky"),
    ("Peri Peri Lemon", "Acme", 6, "citrus, bright"),
    ("Black Garlic Umami", "Island Heat", 2, "umami, deep"),
]
SIZES = [("150 ml", "5.99", 150), ("250 ml", "8.49", 250), ("500 ml", "13.99", 500)]


def _seed_hours(north: Location, south: Location) -> None:
    """The stores' week (south stays open past midnight on Friday and Saturday) and the coming
    Christmas: North closes early on the 24th, both are closed on the 25th."""
    t = dt.time
    week = [(d, t(8), t(20)) for d in range(5)] + [(5, t(9), t(18)), (6, t(10), t(16))]
    rows = [OpeningHours(location=north, weekday=d, opens=o, closes=c) for d, o, c in week]
    rows += [OpeningHours(location=south, weekday=d, opens=t(7), closes=t(22)) for d in (0, 1, 2, 3, 6)]
    rows += [OpeningHours(location=south, weekday=d, opens=t(7), closes=t(1)) for d in (4, 5)]
    OpeningHours.objects.bulk_create(rows)
    today = dt.date.today()
    christmas = dt.date(today.year if today < dt.date(today.year, 12, 25) else today.year + 1, 12, 25)
    HoursException.objects.bulk_create(
        [
            HoursException(
                location=north,
                date=christmas - dt.timedelta(days=1),
                opens=t(9),
                closes=t(15),
                note="Christmas Eve: closes early",
            ),
            HoursException(location=north, date=christmas, closed=True, note="Christmas Day"),
            HoursException(location=south, date=christmas, closed=True, note="Christmas Day"),
        ]
    )


def seed_catalog_and_stock() -> bool:
    """Create the demo catalog, locations, lots and stock. False if already seeded."""
    if Location.objects.exists():
        return False
    rng = random.Random(2026)  # the same demo every time  # noqa: S311
    sauces = Category.objects.create(name="Hot sauces", slug="hot-sauces")
    farm = Supplier.objects.create(
        name="Valley Chili Farm", contact_name="Rosa", email="orders@valley.test", lead_time_days=10
    )
    bottler = Supplier.objects.create(name="Coastal Bottling", lead_time_days=5)
    wholesale = PriceList.objects.create(name="Wholesale A", customer_group="wholesale-a")
    north = Location.objects.create(
        name="North Street Store",
        code="north",
        kind="store",
        pickup_enabled=True,
        curbside_enabled=True,
        latitude=Decimal("40.7580"),
        longitude=Decimal("-73.9855"),
        timezone="America/New_York",
        address="12 North St",
        city="New York",
        postal_code="10036",
        country="US",
        phone="+1 212 555 0101",
        delivery_enabled=True,
        is_public=True,
    )
    south = Location.objects.create(
        name="South Market Store",
        code="south",
        kind="store",
        pickup_enabled=True,
        latitude=Decimal("40.7061"),
        longitude=Decimal("-74.0087"),
        timezone="America/New_York",
        address="8 Market Sq",
        city="New York",
        postal_code="10004",
        country="US",
        phone="+1 212 555 0102",
        is_public=True,
    )
    warehouse = Location.objects.create(
        name="Brooklyn Warehouse",
        code="warehouse",
        kind="warehouse",
        delivery_enabled=True,  # delivers (not in the store locator): the docs' split delivery example
        latitude=Decimal("40.6782"),
        longitude=Decimal("-73.9442"),
        timezone="America/New_York",
        address="1 Dock Rd",
    )
    _seed_hours(north, south)
    today = dt.date.today()
    for name, brand, heat, flavour in SAUCES:
        product = Product.objects.create(
            name=name,
            slug=name.lower().replace(" ", "-").replace("ñ", "n"),
            brand=brand,
            category=sauces,
            heat_level=heat,
            flavour_profile=flavour,
            allergens=["mustard"] if "Carolina" in name else [],
            description=f"{name}: {flavour}. Heat {heat}/10.",
        )
        for size, price, ml in SIZES:
            sku = f"{product.slug[:18].upper()}-{ml}"
            variant = Variant.objects.create(
                product=product,
                sku=sku,
                name=size,
                price=Decimal(price),
                cost_per_unit=Decimal(price) / 3,
                weight_grams=ml + 120,
                size=size,
            )
            SupplierVariant.objects.create(
                supplier=bottler if ml == 500 else farm,
                variant=variant,
                cost=(Decimal(price) / 3).quantize(Decimal("0.01")),
                minimum_order_quantity=12,
                is_preferred=True,
            )
            PriceListEntry.objects.create(
                price_list=wholesale,
                variant=variant,
                min_quantity=1,
                unit_price=(Decimal(price) * Decimal("0.7")).quantize(Decimal("0.01")),
            )
            PriceListEntry.objects.create(
                price_list=wholesale,
                variant=variant,
                min_quantity=24,
                unit_price=(Decimal(price) * Decimal("0.6")).quantize(Decimal("0.01")),
            )
            soon = today + dt.timedelta(days=rng.randint(20, 90))
            later = today + dt.timedelta(days=rng.randint(200, 400))
            for location, base in ((warehouse, 120), (north, 24), (south, 18)):
                lines = [
                    services.ReceiptLine(variant, rng.randint(base // 3, base), f"{sku}-A", None, soon),
                    services.ReceiptLine(variant, rng.randint(base // 4, base // 2), f"{sku}-B", None, later),
                ]
                services.stock_receive(location=location, lines=lines, reference="demo opening stock")
    # Reorder points everywhere; a few store items deliberately at or below theirs (alerts open).
    StockItem.objects.update(reorder_point=10, reorder_quantity=24)
    for item in StockItem.objects.filter(location__in=[north, south]).select_related("variant").order_by("id")[:6]:
        services.stock_item_settings_update(
            item=item, expected_version=None, reorder_point=item.on_hand + rng.randint(0, 5), reorder_quantity=24
        )
    return True
