"""Benchmark: the daily reorder job over 100,000 stock rows, and reservations while it runs.

    DATABASE_URL=postgres://... .venv/bin/python -m bench.reorder [--items 100000] [--locations 10]
        [--batch-size 5000] [--keep]

Creates a `bench_reo_<run>` tenant (cloned from the base schema) and seeds it set-based: the
variants, locations and supplier offers with `bulk_create`, then the stock rows (variants x
locations) and the ledger with `INSERT ... SELECT generate_series` — about 2 sales per row spread
over the last 40 days (so some fall outside the 28-day window) and one receipt per row that makes
the stock rows equal their ledger. A fifth of the rows have a reorder point, a ninth have units
in transit, 80 % of the variants have a supplier offer (a preferred one for half of those,
minimum orders of 1, 6 or 12).

Then it runs `reorder_suggestions_compute` twice and prints the seconds of each: the first run
writes every suggestion (the first night), the second updates them in place and removes stale
ones (every later night). During the second run a thread on its own connection reserves one unit
of a random stock row in a loop (the same service the API and order placement use, with a 5 s
lock timeout); its latencies are printed beside a baseline taken just before the job, with the
reservations that waited on a lock (pg_stat_activity sampled during the job) and the lock
timeouts, which must be 0. The bench tenant is dropped afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
import uuid

from bench._common import django_setup, percentile

ACTOR = "bench:reorder"


def _insert_select(cursor: object, table: str, columns: list[str], select_sql: str, params: list | None = None) -> int:
    """INSERT INTO table (columns) <select_sql>; refuses to run when the table has a NOT NULL column
    without a default that is not given (a model changed since this bench was written)."""
    cursor.execute(
        """SELECT column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = %s AND is_nullable = 'NO'
             AND column_default IS NULL AND is_identity = 'NO'""",
        [table],
    )
    missing = {row[0] for row in cursor.fetchall()} - set(columns)
    if missing:
        raise SystemExit(f"{table} has required columns this bench does not fill: {sorted(missing)}")
    cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) {select_sql}", params or [])
    return cursor.rowcount


def seed(*, items: int, locations: int) -> dict:
    from django.db import connection, transaction

    from apps.catalog.models import Category, Product, Supplier, SupplierVariant, Variant
    from apps.stock.models import Location

    t0 = time.perf_counter()
    n_variants = -(-items // locations)
    with transaction.atomic():
        category = Category.objects.create(name="Bench", slug="bench")
        products = Product.objects.bulk_create(
            [Product(name=f"Bench {i}", slug=f"bench-{i}", category=category) for i in range(-(-n_variants // 10))]
        )
        variants = Variant.objects.bulk_create(
            [
                Variant(
                    product=products[i // 10], sku=f"REO-{i:06d}", name=f"Bench {i}", price="4.50", tracks_lots=False
                )
                for i in range(n_variants)
            ],
            batch_size=5000,
        )
        Location.objects.bulk_create(
            [Location(name=f"Bench {i}", code=f"bench-{i}", kind=Location.Kind.STORE) for i in range(locations)]
        )
        suppliers = Supplier.objects.bulk_create(
            [Supplier(name=f"Supplier {i}", lead_time_days=lead) for i, lead in enumerate((3, 7, 14, 21))]
        )
        offers = []
        for i, variant in enumerate(variants):
            if i % 5 == 4:
                continue  # 20 % of variants without an offer
            offers.append(
                SupplierVariant(
                    supplier=suppliers[i % 4],
                    variant=variant,
                    cost=f"{1 + i % 7}.{i % 100:02d}",
                    minimum_order_quantity=(1, 6, 12)[i % 3],
                    is_preferred=i % 2 == 0,
                )
            )
            if i % 2:  # a second, non-preferred offer: the cheaper of the two is used
                offers.append(SupplierVariant(supplier=suppliers[(i + 1) % 4], variant=variant, cost=f"{i % 5}.50"))
        SupplierVariant.objects.bulk_create(offers, batch_size=5000)
        with connection.cursor() as cursor:
            n_items = _insert_select(
                cursor,
                "stock_stockitem",
                [
                    "variant_id",
                    "location_id",
                    "on_hand",
                    "reserved",
                    "damaged",
                    "returned",
                    "in_transit",
                    "reorder_point",
                    "reorder_quantity",
                    "version",
                    "updated_at",
                ],
                """SELECT variant_id, location_id, 5 + (n * 7) %% 60, 0, 0, 0,
                          CASE WHEN n %% 9 = 0 THEN 24 ELSE 0 END, CASE WHEN n %% 5 = 0 THEN 60 ELSE 0 END,
                          48, 1, now()
                   FROM (SELECT v.id AS variant_id, l.id AS location_id, row_number() OVER (ORDER BY l.id, v.id) AS n
                         FROM catalog_variant v CROSS JOIN stock_location l) grid
                   WHERE n <= %s ORDER BY n""",
                [items],
            )
            movement_columns = [
                "variant_id",
                "location_id",
                "lot_id",
                "kind",
                "reason",
                "on_hand_delta",
                "reserved_delta",
                "damaged_delta",
                "returned_delta",
                "in_transit_delta",
                "reference",
                "note",
                "actor",
                "created_at",
            ]
            n_sales = _insert_select(
                cursor,
                "stock_movement",
                movement_columns,
                """SELECT s.variant_id, s.location_id, NULL, 'sale', '', -(1 + (s.id * g) %% 9), 0, 0, 0, 0,
                          'bench-sale', '', 'bench', now() - ((s.id * g) %% 40) * interval '1 day' - interval '1 hour'
                   FROM stock_stockitem s CROSS JOIN generate_series(1, 4) g
                   WHERE s.id %% 10 < 8 AND g <= 1 + s.id %% 4""",
            )
            _insert_select(
                cursor,
                "stock_movement",
                movement_columns,
                """SELECT s.variant_id, s.location_id, NULL, 'receipt', '', s.on_hand + COALESCE(sold.units, 0),
                          0, 0, 0, 0, 'bench-setup', '', 'bench', now() - interval '60 days'
                   FROM stock_stockitem s LEFT JOIN (
                       SELECT variant_id, location_id, -SUM(on_hand_delta) AS units FROM stock_movement
                       WHERE kind = 'sale' GROUP BY variant_id, location_id) sold
                     ON sold.variant_id = s.variant_id AND sold.location_id = s.location_id""",
            )
            for table in ("stock_stockitem", "stock_movement", "catalog_suppliervariant", "catalog_variant"):
                cursor.execute(f"ANALYZE {table}")
    return {
        "items": n_items,
        "variants": len(variants),
        "offers": len(offers),
        "sales": n_sales,
        "seconds": time.perf_counter() - t0,
    }


class Reserver(threading.Thread):
    """Reserves 1 unit of a random stock row in a loop on its own connection until stopped."""

    def __init__(self, tenant: object, lines: list[tuple[object, object]], seed: int) -> None:
        super().__init__(daemon=True)
        self.tenant, self.lines, self.random = tenant, lines, random.Random(seed)
        self.samples: list[tuple[float, float]] = []  # (started at, seconds)
        self.errors: dict[str, int] = {}
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.pid = 0

    def run(self) -> None:
        import datetime as dt

        from django.db import connection
        from django_tenants.utils import tenant_context

        from apps.core.audit import system_actor
        from apps.stock import services

        try:
            with tenant_context(self.tenant), system_actor(ACTOR):
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '5s'")
                    cursor.execute("SELECT pg_backend_pid()")
                    self.pid = cursor.fetchone()[0]
                self.ready.set()
                while not self.stop.is_set():
                    variant, location = self.random.choice(self.lines)
                    started = time.perf_counter()
                    try:
                        services.reservation_create(
                            reference="bench-during-reorder",
                            lines=[services.ReserveLine(variant, location, 1)],
                            ttl=dt.timedelta(minutes=5),
                        )
                        self.samples.append((started, time.perf_counter() - started))
                    except Exception as exc:  # counted and printed
                        name = type(exc).__name__
                        self.errors[name] = self.errors.get(name, 0) + 1
        finally:
            self.ready.set()
            connection.close()


def _lock_waits_of(pid: int, stop: threading.Event, seen: list[int]) -> None:
    """Sample the reserver's backend every 5 ms; count the samples where it waits on a lock."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            while not stop.is_set():
                cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
                row = cursor.fetchone()
                seen[0] += 1
                if row and row[0] == "Lock":
                    seen[1] += 1
                time.sleep(0.005)
    finally:
        connection.close()


def _latencies(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    if not ordered:
        return f"{label}: no reservations"
    return (
        f"{label}: {len(ordered)} reservations, p50 {percentile(ordered, 50) * 1000:.1f} ms, "
        f"p99 {percentile(ordered, 99) * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000, help="stock rows")
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--baseline-seconds", type=float, default=3.0)
    parser.add_argument("--keep", action="store_true", help="do not drop the bench tenant afterwards")
    args = parser.parse_args()
    if args.items < 1 or args.locations < 1 or args.batch_size < 1:
        parser.error("--items, --locations and --batch-size must be >= 1")
    django_setup()
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.core.audit import system_actor
    from apps.stock import services
    from apps.stock.models import ReorderSuggestion, StockItem
    from apps.tenants.services import base_schema_ensure, tenant_create

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    print(
        f"machine: Python {sys.version.split()[0]}, PostgreSQL {server}, database {connection.settings_dict['NAME']}"
    )
    ok = True
    with system_actor(ACTOR):
        base_schema_ensure()
        schema_name = f"bench_reo_{uuid.uuid4().hex[:8]}"
        tenant = tenant_create(name=f"Bench reorder {schema_name[10:]}", schema_name=schema_name)
        connection.set_schema_to_public()
        try:
            with tenant_context(tenant):
                seeded = seed(items=args.items, locations=args.locations)
                print(
                    f"seed: {seeded['items']:,} stock rows ({seeded['variants']:,} variants x {args.locations} "
                    f"locations), {seeded['offers']:,} supplier offers, {seeded['sales']:,} sales + "
                    f"{seeded['items']:,} receipts in the ledger, in {seeded['seconds']:.1f} s",
                    flush=True,
                )
                batches = -(-seeded["items"] // args.batch_size)

                t0 = time.perf_counter()
                written = services.reorder_suggestions_compute(batch_size=args.batch_size)
                first = time.perf_counter() - t0
                print(
                    f"run 1 (first night, every suggestion new): {first:.2f} s for {seeded['items']:,} rows in "
                    f"{batches} batches of {args.batch_size:,}, {written:,} suggestions "
                    f"({seeded['items'] / first:,.0f} rows/s)",
                    flush=True,
                )
                ok &= written == ReorderSuggestion.objects.count()

                sample = list(
                    StockItem.objects.select_related("variant", "location")
                    .order_by("?")
                    .values_list("pk", flat=True)[:500]
                )
                lines = [
                    (i.variant, i.location)
                    for i in StockItem.objects.select_related("variant", "location").filter(pk__in=sample)
                ]
                reserver = Reserver(tenant, lines, seed=1)
                reserver.start()
                reserver.ready.wait(timeout=30)
                time.sleep(args.baseline_seconds)
                job_started = time.perf_counter()
                stop_probe, seen = threading.Event(), [0, 0]
                probe = threading.Thread(target=_lock_waits_of, args=(reserver.pid, stop_probe, seen), daemon=True)
                probe.start()
                # a stale suggestion to remove: a row that needed units and now has plenty
                stale = ReorderSuggestion.objects.order_by("stock_item_id").first()
                StockItem.objects.filter(pk=stale.stock_item_id).update(on_hand=100_000, reorder_point=0, in_transit=0)
                t0 = time.perf_counter()
                rewritten = services.reorder_suggestions_compute(batch_size=args.batch_size)
                second = time.perf_counter() - t0
                job_ended = time.perf_counter()
                stop_probe.set()
                probe.join(timeout=5)
                time.sleep(0.5)
                reserver.stop.set()
                reserver.join(timeout=30)
                print(
                    f"run 2 (every later night, suggestions updated in place): {second:.2f} s, "
                    f"{rewritten:,} suggestions ({seeded['items'] / second:,.0f} rows/s)"
                )
                before = [s for started, s in reserver.samples if started < job_started]
                during = [s for started, s in reserver.samples if job_started <= started < job_ended]
                print("reservations on their own connection (1 unit of a random row of 500, lock timeout 5 s):")
                print("  " + _latencies("before the job", before))
                print("  " + _latencies("while the job ran", during))
                print(
                    f"  lock waits seen: {seen[1]} of {seen[0]} samples of the reserving backend during the job; "
                    f"errors: {reserver.errors or 'none'}"
                )
                ok &= not reserver.errors and bool(during)
                ok &= not ReorderSuggestion.objects.filter(stock_item_id=stale.stock_item_id).exists()
                ok &= rewritten == ReorderSuggestion.objects.count()
        finally:
            connection.set_schema_to_public()
            if args.keep:
                print(f"\nkept tenant {schema_name}")
            else:
                tenant.domains.all().delete()
                tenant.delete(force_drop=True)
                connection.set_schema_to_public()
    print("result:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
