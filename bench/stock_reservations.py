"""Benchmark: N concurrent workers reserving stock; print reservations/s, latency and oversell.

    DATABASE_URL=postgres://... .venv/bin/python -m bench.stock_reservations [--workers 16] [--seconds 10]
        [--mode hot|random|both] [--variants 200] [--stock 100000] [--hot-stock N] [--keep]

Creates a `bench_res_<run>` tenant (cloned from the base schema) with one location and
lot-tracked variants, each received as lots with different expiry dates so that FEFO picking is
exercised. Worker processes (spawned, each with its own database connection) then call
`reservation_create` in a loop through the same service the API uses:

- hot:    every worker reserves 1 unit of the same variant, whose stock is limited; the run ends
          when the time is up or the stock is gone (each worker stops at its first refusal).
- random: every reservation takes 1 unit each of 1-3 distinct random variants of the pool.

After each mode the stock rows, lot rows and the ledger are checked: no row over-reserved or
negative, reserved units equal what the workers were granted and what the ledger says, FEFO
order kept, and the oversell count (units reserved beyond what was received) must be 0.
The bench tenant is dropped afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import random
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field

from bench._common import (
    db_counters,
    django_setup,
    lock_waiters,
    percentile,
    seed_hot_and_pool,
    stock_rows_against_ledger,
)

MAX_WORKERS = 64  # PostgreSQL allows 100 connections here
ACTOR = "bench:stock_reservations"


# ---------------------------------------------------------------------------------------------
# Workers (separate OS processes)


@dataclass
class WorkerResult:
    worker: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful calls
    refused_latencies: list[float] = field(default_factory=list)  # seconds, insufficient_stock
    units: int = 0  # units granted
    refused: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)
    ended_at: float = 0.0  # time.monotonic() (system-wide on Linux)


def _worker(
    index: int,
    mode: str,
    schema_name: str,
    location_id: int,
    variant_ids: list[int],
    seed: int,
    ready: mp.Queue,
    go: mp.Event,
    deadline: mp.Value,
    results: mp.Queue,
) -> None:
    result = WorkerResult(worker=index)
    announced = False
    try:
        django_setup()
        from datetime import timedelta

        from django.db import connection
        from django_tenants.utils import tenant_context

        from apps.catalog.models import Variant
        from apps.core.audit import system_actor
        from apps.stock.errors import InsufficientStock
        from apps.stock.models import Location
        from apps.stock.services import ReserveLine, reservation_create
        from apps.tenants.models import Tenant

        rng = random.Random(seed)
        tenant = Tenant.objects.get(schema_name=schema_name)
        with tenant_context(tenant), system_actor(ACTOR):
            location = Location.objects.get(pk=location_id)
            variants = list(Variant.objects.filter(pk__in=variant_ids).order_by("pk"))
            ttl = timedelta(minutes=10)
            ready.put(index)
            announced = True
            go.wait()
            end = deadline.value
            calls = 0
            while time.monotonic() < end:
                calls += 1
                picked = variants if mode == "hot" else rng.sample(variants, rng.randint(1, min(3, len(variants))))
                lines = [ReserveLine(variant, location, 1) for variant in picked]
                t0 = time.perf_counter()
                try:
                    reservation_create(reference=f"bench-{mode}-{index}-{calls}", lines=lines, ttl=ttl)
                except InsufficientStock:
                    result.refused_latencies.append(time.perf_counter() - t0)
                    result.refused += 1
                    if mode == "hot":
                        break  # sold out: quantity 1 and no releases, it stays sold out
                    continue
                except Exception as exc:
                    name = type(exc.__cause__ or exc).__name__
                    result.errors[name] = result.errors.get(name, 0) + 1
                    if len(result.first_errors) < 3:
                        result.first_errors.append(f"{name}: {str(exc).strip()[:200]}")
                    if connection.connection is not None and not connection.is_usable():
                        connection.close()
                    continue
                result.latencies.append(time.perf_counter() - t0)
                result.units += len(lines)
        connection.close()
    except Exception:
        result.errors["WorkerCrashed"] = result.errors.get("WorkerCrashed", 0) + 1
        result.first_errors.append(traceback.format_exc()[-600:])
        if not announced:
            ready.put(index)  # never leave the parent waiting
    result.ended_at = time.monotonic()
    results.put(result)


# ---------------------------------------------------------------------------------------------
# Setup and checks (parent process, inside the bench tenant)


@dataclass
class Fixture:
    location_id: int
    hot_variant_id: int
    pool_ids: list[int]
    received: dict[int, int]  # variant id -> units received


def _setup(*, variants: int, stock: int, hot_stock: int) -> Fixture:
    location, hot, pool = seed_hot_and_pool(variants=variants, stock=stock, hot_stock=hot_stock)
    received = {hot.pk: hot_stock} | {v.pk: stock for v in pool}
    return Fixture(location.pk, hot.pk, [v.pk for v in pool], received)


@dataclass
class Checks:
    reserved_db: int
    oversell: int
    left: int
    bad_rows: int
    granted_matches: bool
    lines_match: bool
    ledger_ok: bool
    fefo_ok: bool
    messages: list[str]


def _check(*, mode: str, fixture: Fixture, variant_ids: list[int], granted: int) -> Checks:
    from django.db.models import F, Q, Sum

    from apps.stock.models import LotStock, Movement, ReservationLine, StockItem

    messages: list[str] = []
    broken = Q(on_hand__lt=0) | Q(reserved__lt=0) | Q(reserved__gt=F("on_hand"))
    bad_rows = StockItem.objects.filter(broken).count() + LotStock.objects.filter(broken).count()
    if bad_rows:
        messages.append(f"{bad_rows} stock/lot rows negative or reserved > on_hand")

    items = list(StockItem.objects.filter(variant_id__in=variant_ids, location_id=fixture.location_id))
    reserved_db = sum(item.reserved for item in items)
    oversell = sum(max(0, item.reserved - fixture.received[item.variant_id]) for item in items)
    oversell = max(oversell, granted - sum(fixture.received[v] for v in variant_ids))
    left = sum(item.on_hand - item.reserved for item in items)
    granted_matches = reserved_db == granted
    if not granted_matches:
        messages.append(f"workers were granted {granted} units but the stock rows hold {reserved_db} reserved")
    lines_total = (
        ReservationLine.objects.filter(
            reservation__reference__startswith=f"bench-{mode}-", variant_id__in=variant_ids
        ).aggregate(n=Sum("quantity"))["n"]
        or 0
    )
    lines_match = lines_total == reserved_db
    if not lines_match:
        messages.append(f"reservation lines hold {lines_total} units, stock rows {reserved_db}")

    # Ledger: every stock row and lot row equals the sum of its movements.
    ledger_ok = True
    item_mismatches = stock_rows_against_ledger()
    if item_mismatches:
        ledger_ok = False
        messages.extend(item_mismatches)
    by_lot = {
        (row["lot_id"], row["location_id"]): row
        for row in Movement.objects.filter(lot__isnull=False)
        .values("lot_id", "location_id")
        .annotate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
    }
    lot_rows = list(LotStock.objects.select_related("lot").order_by("lot__variant_id", "lot__expiry_date", "lot_id"))
    for lot_stock in lot_rows:
        row = by_lot.get((lot_stock.lot_id, lot_stock.location_id), {"on_hand": 0, "reserved": 0})
        if (row["on_hand"], row["reserved"]) != (lot_stock.on_hand, lot_stock.reserved):
            ledger_ok = False
            messages.append(f"ledger {row} != lot stock {lot_stock.pk} ({lot_stock.on_hand}, {lot_stock.reserved})")
    reserved_by_variant: dict[int, int] = {}
    for lot_stock in lot_rows:
        variant_id = lot_stock.lot.variant_id
        reserved_by_variant[variant_id] = reserved_by_variant.get(variant_id, 0) + lot_stock.reserved
    for item in items:
        if reserved_by_variant.get(item.variant_id, 0) != item.reserved:
            ledger_ok = False
            messages.append(f"lots of variant {item.variant_id} hold another reserved total than its stock row")

    # FEFO: all reservations are of 1 unit, so a later-expiring lot may only hold reservations
    # once every earlier lot of the variant is fully reserved.
    fefo_ok = True
    earlier_free: dict[int, bool] = {}
    for lot_stock in lot_rows:
        variant_id = lot_stock.lot.variant_id
        if variant_id not in variant_ids:
            continue
        if earlier_free.get(variant_id) and lot_stock.reserved > 0:
            fefo_ok = False
            messages.append(f"FEFO broken: lot {lot_stock.lot.batch_number} reserved while an earlier lot had units")
        if lot_stock.on_hand > lot_stock.reserved:
            earlier_free[variant_id] = True
    return Checks(reserved_db, oversell, left, bad_rows, granted_matches, lines_match, ledger_ok, fefo_ok, messages)


# ---------------------------------------------------------------------------------------------
# One run of one mode


def _run_mode(*, mode: str, args: argparse.Namespace, schema_name: str, fixture: Fixture) -> bool:
    from django.db import connection
    from django_tenants.utils import schema_context

    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    go, deadline = ctx.Event(), ctx.Value("d", 0.0)
    variant_ids = [fixture.hot_variant_id] if mode == "hot" else fixture.pool_ids
    procs = [
        ctx.Process(
            target=_worker,
            args=(i, mode, schema_name, fixture.location_id, variant_ids, args.seed + i, ready, go, deadline, results),
            daemon=True,
        )
        for i in range(args.workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)

    deadlocks0, rollbacks0 = db_counters()
    started = time.monotonic()
    deadline.value = started + args.seconds
    go.set()
    collected: list[WorkerResult] = []
    samples: list[int] = []
    while len(collected) < len(procs):
        try:
            collected.append(results.get(timeout=0.1))
        except queue.Empty:
            samples.append(lock_waiters())
            if time.monotonic() > started + args.seconds + 120:
                print(f"  {len(procs) - len(collected)} workers did not finish; giving up on them")
                break
    for proc in procs:
        proc.join(timeout=10)
    deadlocks1, rollbacks1 = db_counters()

    duration = max((r.ended_at for r in collected), default=started) - started
    latencies = sorted(x for r in collected for x in r.latencies)
    refused_lat = sorted(x for r in collected for x in r.refused_latencies)
    ok = len(latencies)
    refused = sum(r.refused for r in collected)
    granted = sum(r.units for r in collected)
    errors: dict[str, int] = {}
    for r in collected:
        for name, count in r.errors.items():
            errors[name] = errors.get(name, 0) + count
    first_errors = [line for r in collected for line in r.first_errors][:3]

    with schema_context(schema_name):
        checks = _check(mode=mode, fixture=fixture, variant_ids=variant_ids, granted=granted)
    connection.set_schema_to_public()

    def ms(values: list[float], p: float) -> str:
        return f"{percentile(values, p) * 1000:.1f}"

    received = sum(fixture.received[v] for v in variant_ids)
    if mode == "hot":
        what = f"1 unit of 1 hot variant, {received} units in 3 lots"
        ending = "sold out" if checks.left == 0 else "time up"
    else:
        what = f"1-3 random distinct variants of {len(variant_ids)}, {args.stock} units each in 2 lots"
        ending = "time up"
    ledger = checks.ledger_ok and checks.granted_matches and checks.lines_match and not checks.bad_rows
    print(f"\n== mode {mode}: {what}")
    rows = [
        ("workers", f"{args.workers} processes"),
        ("duration", f"{duration:.2f} s ({ending})"),
        ("reservations ok", f"{ok} ({granted} units)"),
        ("refused (no stock)", f"{refused}"),
        ("errors", f"{sum(errors.values())} {dict(sorted(errors.items()))}" if errors else "0"),
        ("reservations/s", f"{ok / duration if duration > 0 else 0:.1f}"),
        ("latency p50/p90/p99", f"{ms(latencies, 50)} / {ms(latencies, 90)} / {ms(latencies, 99)} ms"),
        ("latency max", f"{ms(latencies, 100)} ms"),
    ]
    if refused_lat:
        rows.append(("refusal p50/p99", f"{ms(refused_lat, 50)} / {ms(refused_lat, 99)} ms"))
    waiting = f"avg {sum(samples) / max(1, len(samples)):.1f}, max {max(samples, default=0)}"
    rows += [
        ("lock waiters", f"{waiting} (backends waiting on a lock, sampled ~10/s)"),
        ("deadlocks/rollbacks", f"{deadlocks1 - deadlocks0} / {rollbacks1 - rollbacks0} (pg_stat_database)"),
        ("stock left", f"{checks.left} of {received}"),
        ("oversell", f"{checks.oversell}" + ("" if checks.oversell == 0 else "  <-- MUST BE 0")),
        ("ledger check", "ok" if ledger else "FAILED"),
        ("FEFO check", "ok" if checks.fefo_ok else "FAILED"),
    ]
    for label, value in rows:
        print(f"{label + ':':<21}{value}")
    for line in first_errors:
        print(f"  e.g. {line}")
    for message in checks.messages[:10]:
        print(f"  ! {message}")
    return checks.oversell == 0 and ledger and checks.fefo_ok and not errors


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=16, help=f"worker processes (1-{MAX_WORKERS})")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each mode")
    parser.add_argument("--mode", choices=("hot", "random", "both"), default="both")
    parser.add_argument("--variants", type=int, default=200, help="variants in the random pool")
    parser.add_argument("--stock", type=int, default=100_000, help="units of each pool variant")
    parser.add_argument(
        "--hot-stock",
        type=int,
        default=None,
        help="units of the hot variant (default: workers * seconds * 5, small enough to sell out on a small machine)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="do not drop the bench tenant afterwards")
    args = parser.parse_args()
    if not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers must be between 1 and {MAX_WORKERS}")
    if args.variants < 1 or args.stock < 2:
        parser.error("--variants must be >= 1 and --stock >= 2")
    hot_stock = args.hot_stock if args.hot_stock is not None else int(args.workers * args.seconds * 5)

    django_setup()
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.core.audit import system_actor
    from apps.tenants.services import base_schema_ensure, tenant_create

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SHOW max_connections")
        max_connections = cursor.fetchone()[0]
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: nproc {affinity} (cpu_count {os.cpu_count()}), Python {sys.version.split()[0]}")
    print(f"postgres: {server}, max_connections {max_connections}, database {connection.settings_dict['NAME']}")

    all_ok = True
    with system_actor(ACTOR):
        base_schema_ensure()
        t0 = time.perf_counter()
        schema_name = f"bench_res_{uuid.uuid4().hex[:8]}"
        tenant = tenant_create(name=f"Bench reservations {schema_name[10:]}", schema_name=schema_name)
        try:
            with tenant_context(tenant):
                fixture = _setup(variants=args.variants, stock=args.stock, hot_stock=hot_stock)
            connection.set_schema_to_public()
            print(
                f"setup: tenant {schema_name}, 1 hot variant ({hot_stock} units), {args.variants} pool variants "
                f"({args.stock} units each), lot-tracked, in {time.perf_counter() - t0:.2f} s"
            )
            modes = ["hot", "random"] if args.mode == "both" else [args.mode]
            for mode in modes:
                all_ok &= _run_mode(mode=mode, args=args, schema_name=schema_name, fixture=fixture)
        finally:
            connection.set_schema_to_public()
            if args.keep:
                print(f"\nkept tenant {schema_name}")
            else:
                tenant.domains.all().delete()
                tenant.delete(force_drop=True)
                connection.set_schema_to_public()
    print(f"\nresult: {'all checks passed' if all_ok else 'CHECKS FAILED'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
