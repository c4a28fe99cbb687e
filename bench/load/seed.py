"""Tenants for a run: each a premium tenant cloned from the base schema, with its own tag in every
name and SKU (so a response carrying another tenant's tag is a cross-tenant leak), a store with
pickup and curbside, a warehouse, a catalogue with published reviews, stock (one scarce "hot"
variant that sells out during the run), customers with points, a store manager, a partner key and a
webhook endpoint pointing at the harness receiver. Runs inside the harness process (Django set up).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import asdict, dataclass, field

PRODUCTS = 24  # each with two variants; products 18.. are lot-tracked
LOT_FROM = 18
REVIEWED = 6
STOCK = 4000
HOT_STOCK = 120
WAREHOUSE_STOCK = 500
POINTS = 2000
SUBSCRIBED = ["order.*", "payment.*", "curbside.*"]
WORDS = ["Smoky", "Habanero", "Garlic", "Mango", "Ghost", "Chipotle", "Verde", "Reaper", "Honey", "Lime"]


@dataclass
class TenantFixture:
    index: int
    schema: str
    host: str
    tag: str
    store_id: int
    store_code: str
    warehouse_code: str
    product_ids: list[int]
    reviewed_product_ids: list[int]
    skus: list[str]  # not lot-tracked, stocked at the store
    lot_skus: list[str]
    hot_sku: str
    sync_skus: list[str]  # stocked at the warehouse (partner sync sets their counts)
    customers: list[str]  # access tokens
    staff: str
    partner_key: str
    endpoint_path: str
    endpoint_secret: str
    received: dict[str, int] = field(default_factory=dict)  # sku -> units received at the store


def run_tag() -> str:
    return "".join(random.choice("BCDFGHJKMNPQRSTVWXZ") for _ in range(4))


def seed(*, run: str, tenants: int, customers: int, receiver_base: str) -> list[TenantFixture]:
    from django.conf import settings
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.core.audit import system_actor
    from apps.tenants.services import base_schema_ensure, tenant_create

    settings.REVIEW_REQUIRE_PURCHASE = False  # seeded reviews come from customers without orders
    out = []
    with system_actor("bench:load"):
        base_schema_ensure()
        for index in range(tenants):
            schema = f"load_{run.lower()}_{index}"
            host = f"load-{run.lower()}-{index}.localhost"
            tenant = tenant_create(
                name=f"Load {run} {index}", schema_name=schema, domain=host, plan="premium", currency="USD"
            )
            with tenant_context(tenant):
                out.append(
                    _seed_tenant(index, schema, host, f"LT{index}{run}", customers, receiver_base, tenant=tenant)
                )
            connection.set_schema_to_public()
    return out


def _seed_tenant(
    index: int, schema: str, host: str, tag: str, customers: int, receiver_base: str, *, tenant: object
) -> TenantFixture:
    from django.contrib.auth.models import Group

    from apps.accounts.models import User
    from apps.accounts.policy import STAFF_ROLE_GROUPS
    from apps.accounts.services import api_key_create, session_start
    from apps.catalog.models import Category, Product, Variant
    from apps.integrations.services import webhook_endpoint_create
    from apps.loyalty.services import account_ensure, points_adjust
    from apps.reviews.services import review_create
    from apps.stock.models import Location
    from apps.stock.services import ReceiptLine, stock_receive

    rng = random.Random(index)
    store = Location.objects.create(
        name=f"{tag} Store", code="store", kind=Location.Kind.STORE, pickup_enabled=True, curbside_enabled=True
    )
    warehouse = Location.objects.create(name=f"{tag} Warehouse", code="wh", kind=Location.Kind.WAREHOUSE)
    category = Category.objects.create(name=f"{tag} Sauces", slug="sauces")
    products, variants = [], []
    for n in range(PRODUCTS):
        name = f"{tag} {rng.choice(WORDS)} {rng.choice(WORDS)} {n}"
        product = Product.objects.create(
            name=name, slug=f"p-{n}", category=category, brand=f"{tag} Brand", description=f"{name}, bottled."
        )
        products.append(product)
        for size in (150, 250):
            variants.append(
                Variant(
                    product=product,
                    sku=f"{tag}-{n:02d}-{size}",
                    name=f"{size} ml",
                    price=f"{rng.randint(4, 15)}.{rng.choice(['49', '99'])}",
                    tracks_lots=n >= LOT_FROM,
                )
            )
    variants = Variant.objects.bulk_create(variants)
    hot = variants[0]
    today = dt.date.today()
    lines, received = [], {}
    for v in variants:
        qty = HOT_STOCK if v.pk == hot.pk else STOCK
        received[v.sku] = qty
        if v.tracks_lots:  # two lots, the later expiry received first (FEFO must pick the other)
            lines.append(ReceiptLine(v, qty - qty // 2, f"{v.sku}-B", None, today + dt.timedelta(days=90)))
            lines.append(ReceiptLine(v, qty // 2, f"{v.sku}-A", None, today + dt.timedelta(days=30)))
        else:
            lines.append(ReceiptLine(v, qty))
    stock_receive(location=store, lines=lines, reference="load-seed")
    plain = [v for v in variants if not v.tracks_lots]
    stock_receive(location=warehouse, lines=[ReceiptLine(v, WAREHOUSE_STOCK) for v in plain], reference="load-seed")

    run = uuid.uuid4().hex[:6]
    tokens = []
    for n in range(customers):
        user = User.objects.create_user(f"c{n}-{run}@{host}", None, kind="retail", full_name=f"Customer {n}")
        account = account_ensure(user=user)
        points_adjust(account=account, points=POINTS, reason="load harness welcome points")
        tokens.append(session_start(user=user, device_name="load").access)
        if n < 3:
            for product in products[:REVIEWED]:
                review_create(
                    customer=user,
                    rating=rng.randint(3, 5),
                    title="Lovely heat",
                    body="Bright, fruity and properly hot. Great on tacos and eggs.",
                    product=product,
                )
    manager = User.objects.create_user(f"manager-{run}@{host}", None, is_staff=True)
    manager.groups.add(Group.objects.get(name=STAFF_ROLE_GROUPS["store_manager"]))
    store.managers.add(manager)
    _, key = api_key_create(name=f"{tag} partner", scopes=["inventory:read", "inventory:write"])
    path = f"/{schema}/0"
    _, secret = webhook_endpoint_create(url=receiver_base + path, event_types=SUBSCRIBED)
    return TenantFixture(
        index=index,
        schema=schema,
        host=host,
        tag=tag,
        store_id=store.pk,
        store_code=store.code,
        warehouse_code=warehouse.code,
        product_ids=[p.pk for p in products],
        reviewed_product_ids=[p.pk for p in products[:REVIEWED]],
        skus=[v.sku for v in plain if v.pk != hot.pk],
        lot_skus=[v.sku for v in variants if v.tracks_lots],
        hot_sku=hot.sku,
        sync_skus=[v.sku for v in plain],
        customers=tokens,
        staff=session_start(user=manager, device_name="load").access,
        partner_key=key,
        endpoint_path=path,
        endpoint_secret=secret,
        received=received,
    )


def drop(schemas: list[str]) -> None:
    from django.db import connection

    from apps.tenants.models import Tenant

    for tenant in Tenant.objects.filter(schema_name__in=schemas):
        tenant.domains.all().delete()
        tenant.delete(force_drop=True)
    connection.set_schema_to_public()


def as_json(fixtures: list[TenantFixture]) -> list[dict]:
    return [asdict(f) for f in fixtures]
