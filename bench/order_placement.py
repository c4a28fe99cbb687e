"""Benchmark: N concurrent HTTP clients placing orders on the real server; print orders/s, latency and oversell.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python -m bench.order_placement [--clients 16]
        [--seconds 10] [--workers 4] [--worker-class sync|gthread] [--threads 1] [--hot-stock N]
        [--variants 100] [--stock 100000] [--read-seconds 5] [--no-ceiling] [--client python|wrk]
        [--port 8765] [--keep]

Creates a premium `bench_ord_<run>` tenant (cloned from the base schema) with a pickup store, one
hot lot-tracked variant with limited stock (three lots, so that it sells out during the run and
FEFO walks across lots) and a pool of lot-tracked variants with plenty of stock (two lots each),
and one retail user with a Bearer token per client. It then starts the real server the way the
Procfile's web process does (gunicorn, config.wsgi, DEBUG off) and runs the clients, one thread
each with its own `requests.Session`, POSTing /api/v1/orders until the time is up (gunicorn's sync
workers close the connection after each response; gthread workers keep it alive).
Every order has 3 lines of 1 unit: the hot variant and two distinct random pool variants, so once
the hot variant is sold out every further order is refused with 409 `insufficient_stock`.

Each client is its own user: the premium plan allows 1200 requests/minute per principal and
12000/minute per tenant, and refusals above that (429) are counted separately.

Then the same clients read their own first order for --read-seconds (an authenticated one-row
detail read), and, with the platform's server stopped, a bare DRF ModelSerializer one-row read
(`bench.ceiling`: no middleware, authentication or rate limits) served the same way: the
framework's ceiling on this machine and with these clients, which the reads and orders are
compared with (and with the PERF-FACTS figure, measured with wrk). `--no-ceiling` skips it.

Afterwards the stock rows, lot rows and ledger are checked inside the tenant: orders in the
database equal the 201 answers, units reserved per variant equal the units on the placed orders
(the hot variant: one per order), no row is over-reserved or negative, every row equals the sum of
its movements, FEFO order is kept, and the oversell count (hot units reserved beyond what was received) must be 0.
The server is stopped and the bench tenant dropped afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bench._common import (
    db_counters,
    django_setup,
    lock_waiters,
    percentile,
    seed_hot_and_pool,
    stock_rows_against_ledger,
)

ROOT = Path(__file__).resolve().parent.parent
MAX_CLIENTS = 64
MAX_SECONDS = 600  # access tokens live 15 minutes
ACTOR = "bench:order_placement"


# ---------------------------------------------------------------------------------------------
# Setup and checks (inside the bench tenant)


@dataclass
class Fixture:
    location_id: int
    hot_variant_id: int
    hot_sku: str
    pool_skus: list[str]
    received: dict[int, int]  # variant id -> units received
    tokens: list[str]  # one access token per client
    emails: list[str]  # the clients' users, in the same order


def _setup(*, variants: int, stock: int, hot_stock: int, clients: int) -> Fixture:
    from apps.accounts.models import User
    from apps.accounts.services import session_start

    location, hot, pool = seed_hot_and_pool(variants=variants, stock=stock, hot_stock=hot_stock, pickup=True)

    tokens, emails = [], []
    run = uuid.uuid4().hex[:6]
    for i in range(clients):
        # No password: nobody signs in, the session is opened directly (and no hashing cost).
        user = User.objects.create_user(f"bench-{run}-{i}@example.com", None, kind="retail")
        tokens.append(session_start(user=user, device_name="bench").access)
        emails.append(user.email)
    received = {hot.pk: hot_stock} | {v.pk: stock for v in pool}
    return Fixture(location.pk, hot.pk, hot.sku, [v.sku for v in pool], received, tokens, emails)


@dataclass
class Checks:
    orders_db: int
    hot_reserved: int
    oversell: int
    bad_rows: int
    lines_ok: bool
    ledger_ok: bool
    fefo_ok: bool
    messages: list[str]


def _check(*, fixture: Fixture, placed: int) -> Checks:
    from django.db.models import F, Q, Sum

    from apps.orders.models import Order, OrderLine
    from apps.stock.models import LotStock, Movement, StockItem

    messages: list[str] = []
    broken = Q(on_hand__lt=0) | Q(reserved__lt=0) | Q(reserved__gt=F("on_hand"))
    bad_rows = StockItem.objects.filter(broken).count() + LotStock.objects.filter(broken).count()
    if bad_rows:
        messages.append(f"{bad_rows} stock/lot rows negative or reserved > on_hand")

    orders_db = Order.objects.count()
    if orders_db != placed:
        messages.append(f"the clients got {placed} orders placed (201) but the database holds {orders_db}")
    items = {item.variant_id: item for item in StockItem.objects.filter(location_id=fixture.location_id)}
    hot = items[fixture.hot_variant_id]
    hot_received = fixture.received[fixture.hot_variant_id]
    oversell = max(0, hot.reserved - hot_received, placed - hot_received)
    if hot.reserved != placed:
        messages.append(f"hot variant: {hot.reserved} units reserved for {placed} placed orders")

    # Every placed order still holds its reservation: units reserved per variant == units ordered.
    ordered = dict(
        OrderLine.objects.values_list("variant_id").annotate(n=Sum("quantity")).values_list("variant_id", "n")
    )
    lines_ok = True
    for variant_id, item in items.items():
        if item.reserved != ordered.get(variant_id, 0):
            lines_ok = False
            messages.append(f"variant {variant_id}: {item.reserved} reserved, {ordered.get(variant_id, 0)} ordered")

    # Ledger: every stock row and lot row equals the sum of its movements; lots add up to their item.
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
    lot_totals: dict[int, tuple[int, int]] = {}
    lot_rows = list(LotStock.objects.select_related("lot").order_by("lot__variant_id", "lot__expiry_date", "lot_id"))
    for lot_stock in lot_rows:
        row = by_lot.get((lot_stock.lot_id, lot_stock.location_id), {"on_hand": 0, "reserved": 0})
        if (row["on_hand"], row["reserved"]) != (lot_stock.on_hand, lot_stock.reserved):
            ledger_ok = False
            messages.append(f"ledger {row} != lot stock {lot_stock.pk} ({lot_stock.on_hand}, {lot_stock.reserved})")
        on_hand, reserved = lot_totals.get(lot_stock.lot.variant_id, (0, 0))
        lot_totals[lot_stock.lot.variant_id] = (on_hand + lot_stock.on_hand, reserved + lot_stock.reserved)
    for variant_id, item in items.items():
        if lot_totals.get(variant_id, (0, 0)) != (item.on_hand, item.reserved):
            ledger_ok = False
            messages.append(f"lots of variant {variant_id} do not add up to its stock row")

    # FEFO: every line is of 1 unit, so a later-expiring lot may only hold reservations once every
    # earlier lot of the variant is fully reserved.
    fefo_ok = True
    earlier_free: dict[int, bool] = {}
    for lot_stock in lot_rows:
        variant_id = lot_stock.lot.variant_id
        if earlier_free.get(variant_id) and lot_stock.reserved > 0:
            fefo_ok = False
            messages.append(f"FEFO broken: lot {lot_stock.lot.batch_number} reserved while an earlier lot had units")
        if lot_stock.on_hand > lot_stock.reserved:
            earlier_free[variant_id] = True
    return Checks(orders_db, hot.reserved, oversell, bad_rows, lines_ok, ledger_ok, fefo_ok, messages)


# ---------------------------------------------------------------------------------------------
# The server (a gunicorn subprocess, as in the Procfile)


def _server_start(
    args: argparse.Namespace, host: str, log: IO[bytes], settings_module: str = "config.settings.local"
) -> subprocess.Popen[bytes]:
    import requests

    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DJANGO_DEBUG": "false",
        "ALLOWED_HOSTS": "*",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",  # whitenoise: no collectstatic here
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--worker-class",
        args.worker_class,
        "--timeout",
        "30",
        "--no-control-socket",
        "--log-level",
        "warning",
    ]
    # Fixed argv built from this script's own options, no shell.
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{args.port}/health/live"
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode} before answering (see its log)")
        try:
            if requests.get(url, headers={"Host": host}, timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    _server_stop(proc)
    raise RuntimeError("gunicorn did not answer /health/live within 60 s")


def _server_stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# Clients (threads of this process, one keep-alive session each)


@dataclass
class Sample:
    at: float  # seconds since the start, when the answer arrived
    latency: float  # seconds
    status: int  # 0: no answer (connection error, timeout)
    code: str  # the error code of a refusal, or the exception name


@dataclass
class ClientResult:
    client: int
    samples: list[Sample] = field(default_factory=list)
    first_errors: list[str] = field(default_factory=list)
    order_id: int | None = None  # the client's first placed order: what the read phase reads
    reads: list[Sample] = field(default_factory=list)


def _client(
    index: int,
    *,
    base: str,
    host: str,
    token: str,
    fixture: Fixture,
    seed: int,
    barrier: threading.Barrier,
    clock: dict[str, float],
    result: ClientResult,
) -> None:
    import requests

    rng = random.Random(seed)
    session = requests.Session()
    session.headers.update({"Host": host, "Authorization": f"Bearer {token}"})
    try:
        session.get(f"{base}/api/v1/orders", timeout=30)  # warm up: connection, worker, token checks
    except requests.RequestException as exc:
        result.first_errors.append(f"warm-up: {type(exc).__name__}: {exc}"[:300])
    barrier.wait()
    started, end = clock["started"], clock["end"]
    url = f"{base}/api/v1/orders"
    while time.monotonic() < end:
        first, second = rng.sample(fixture.pool_skus, 2)
        body = {
            "fulfilment": "pickup",
            "location_id": fixture.location_id,
            "lines": [
                {"sku": fixture.hot_sku, "quantity": 1},
                {"sku": first, "quantity": 1},
                {"sku": second, "quantity": 1},
            ],
        }
        t0 = time.monotonic()
        try:
            response = session.post(url, json=body, timeout=60)
        except requests.RequestException as exc:
            t1 = time.monotonic()
            result.samples.append(Sample(t1 - started, t1 - t0, 0, type(exc).__name__))
            if len(result.first_errors) < 3:
                result.first_errors.append(f"{type(exc).__name__}: {exc}"[:300])
            continue
        t1 = time.monotonic()
        code = ""
        if response.status_code == 201 and result.order_id is None:
            result.order_id = response.json()["id"]
        if response.status_code != 201:
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = f"http_{response.status_code}"
            if response.status_code not in (409, 429) and len(result.first_errors) < 3:
                result.first_errors.append(f"{response.status_code} {response.text.strip()[:240]}")
        result.samples.append(Sample(t1 - started, t1 - t0, response.status_code, code))
    # Read phase: the same clients read their own order (an authenticated one-row detail read).
    barrier.wait()
    started, end = clock["read_started"], clock["read_end"]
    if result.order_id is None:
        session.close()
        return
    url = f"{base}/api/v1/orders/{result.order_id}"
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            response = session.get(url, timeout=60)
            status = response.status_code
        except requests.RequestException as exc:
            status = 0
            if len(result.first_errors) < 3:
                result.first_errors.append(f"read: {type(exc).__name__}: {exc}"[:300])
        t1 = time.monotonic()
        result.reads.append(Sample(t1 - started, t1 - t0, status, ""))
    session.close()


def _ms(values: list[float], *ps: float) -> str:
    ordered = sorted(values)
    return " / ".join(f"{percentile(ordered, p) * 1000:.1f}" for p in ps) + " ms"


def _ceiling(args: argparse.Namespace, log: IO[bytes]) -> tuple[float, list[float]]:
    """Requests/s and latencies of the bare DRF one-row read (bench.ceiling) on a server started the
    same way, read by as many client threads for --read-seconds: the framework's ceiling on this
    machine, measured with the same clients as the platform's own read."""
    import requests

    from apps.tenants.models import Tenant

    pk = Tenant.objects.order_by("pk").values_list("pk", flat=True).first()
    proc = _server_start(args, "127.0.0.1", log, settings_module="bench.ceiling")
    url = f"http://127.0.0.1:{args.port}/ceiling/{pk}"
    latencies: list[list[float]] = [[] for _ in range(args.clients)]
    failures = [0] * args.clients
    barrier = threading.Barrier(args.clients + 1)
    clock: dict[str, float] = {}

    def reader(index: int) -> None:
        session = requests.Session()
        session.get(url, timeout=30)  # warm up
        barrier.wait()
        while time.monotonic() < clock["end"]:
            t0 = time.monotonic()
            try:
                ok = session.get(url, timeout=60).status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                latencies[index].append(time.monotonic() - t0)
            else:
                failures[index] += 1
        session.close()

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(args.clients)]
    try:
        for thread in threads:
            thread.start()
        clock["end"] = time.monotonic() + 1e9
        barrier.wait(timeout=120)
        started = time.monotonic()
        clock["end"] = started + args.read_seconds
        for thread in threads:
            thread.join(timeout=args.read_seconds + 120)
        elapsed = time.monotonic() - started
    finally:
        _server_stop(proc)
    if sum(failures):
        print(f"  ceiling: {sum(failures)} requests not 200")
    samples = [value for per_client in latencies for value in per_client]
    return len(samples) / elapsed, samples


def _run(
    args: argparse.Namespace,
    *,
    host: str,
    schema_name: str,
    fixture: Fixture,
    hot_stock: int,
    stop_server: Callable[[], None],
    log: IO[bytes],
) -> bool:
    base = f"http://127.0.0.1:{args.port}"
    clock: dict[str, float] = {}
    barrier = threading.Barrier(args.clients + 1)
    results = [ClientResult(client=i) for i in range(args.clients)]
    threads = [
        threading.Thread(
            target=_client,
            args=(i,),
            kwargs={
                "base": base,
                "host": host,
                "token": fixture.tokens[i],
                "fixture": fixture,
                "seed": args.seed + i,
                "barrier": barrier,
                "clock": clock,
                "result": results[i],
            },
            daemon=True,
        )
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    deadlocks0, rollbacks0 = db_counters()
    clock["started"] = time.monotonic()
    clock["end"] = clock["started"] + args.seconds
    barrier.wait(timeout=120)
    samples_waiting: list[int] = []
    while any(thread.is_alive() for thread in threads) and barrier.n_waiting < args.clients:
        samples_waiting.append(lock_waiters())
        time.sleep(0.1)
        if time.monotonic() > clock["end"] + 120:
            print("  some clients did not finish; giving up on them")
            break
    deadlocks1, rollbacks1 = db_counters()
    clock["read_started"] = time.monotonic()
    clock["read_end"] = clock["read_started"] + args.read_seconds
    barrier.wait(timeout=120)
    for thread in threads:
        thread.join(timeout=args.read_seconds + 120)

    samples = [s for r in results for s in r.samples]
    duration = max((s.at for s in samples), default=0.0)
    placed = [s for s in samples if s.status == 201]
    refused = [s for s in samples if s.status == 409]
    limited = [s for s in samples if s.status == 429]
    other = [s for s in samples if s.status not in (201, 409, 429)]
    sold_out_at = min((s.at for s in refused if s.code == "insufficient_stock"), default=None)
    last_placed_at = max((s.at for s in placed), default=0.0)

    from django.db import connection
    from django_tenants.utils import schema_context

    with schema_context(schema_name):
        checks = _check(fixture=fixture, placed=len(placed))
    connection.set_schema_to_public()

    def counted(rows: list[Sample]) -> str:
        by = Counter(s.code or str(s.status) for s in rows)
        return f"{len(rows)} {dict(sorted(by.items()))}" if rows else "0"

    def by_status(rows: list[Sample]) -> str:
        by = Counter(s.status for s in rows)
        return f"{len(rows)} " + str({k: by[k] for k in sorted(by)}) if rows else "0"

    if sold_out_at is not None:
        ending = f"hot variant sold out: last order at {last_placed_at:.2f} s, first refusal at {sold_out_at:.2f} s"
    else:
        ending = f"hot variant not sold out ({hot_stock - checks.hot_reserved} of {hot_stock} left)"
    phase = max(last_placed_at, 1e-9) if sold_out_at is not None else max(duration, 1e-9)
    threads_word = "thread" if args.threads == 1 else "threads"
    ledger = checks.ledger_ok and checks.lines_ok and not checks.bad_rows and checks.orders_db == len(placed)
    print(
        f"\n== {args.clients} clients x 3-line pickup orders (1 hot of {hot_stock} units + 2 of "
        f"{len(fixture.pool_skus)} pool variants), gunicorn {args.worker_class} {args.workers} workers"
    )
    rows = [
        ("clients", f"{args.clients} threads (requests.Session each, one retail user each)"),
        ("server", f"gunicorn {args.worker_class}, {args.workers} workers x {args.threads} {threads_word}, DEBUG off"),
        ("duration", f"{duration:.2f} s ({ending})"),
        ("requests", f"{len(samples)} ({len(samples) / duration if duration else 0:.1f}/s)"),
        ("placed (201)", f"{len(placed)}"),
        ("refused (409)", counted(refused)),
        ("rate limited (429)", f"{len(limited)}"),
        ("errors", by_status(other)),
        ("orders/s", f"{len(placed) / duration if duration else 0:.1f} over the run"),
        ("orders/s to sell-out", f"{len(placed) / phase:.1f} (until the last 201 at {last_placed_at:.2f} s)"),
        ("latency 201 p50/p90/p99", _ms([s.latency for s in placed], 50, 90, 99)),
        ("latency 201 max", _ms([s.latency for s in placed], 100)),
        ("latency all p50/p90/p99", _ms([s.latency for s in samples], 50, 90, 99)),
    ]
    if refused:
        rows.append(("latency 409 p50/p99", _ms([s.latency for s in refused], 50, 99)))
    waiting = f"avg {sum(samples_waiting) / max(1, len(samples_waiting)):.1f}, max {max(samples_waiting, default=0)}"
    rows += [
        ("lock waiters", f"{waiting} (backends waiting on a lock, sampled ~10/s)"),
        ("deadlocks/rollbacks", f"{deadlocks1 - deadlocks0} / {rollbacks1 - rollbacks0} (pg_stat_database)"),
        ("orders in database", f"{checks.orders_db}" + ("" if checks.orders_db == len(placed) else "  <-- != 201s")),
        ("hot reserved", f"{checks.hot_reserved} of {hot_stock} received"),
        ("oversell", f"{checks.oversell}" + ("" if checks.oversell == 0 else "  <-- MUST BE 0")),
        ("stock rows", "ok" if not checks.bad_rows else f"{checks.bad_rows} BAD"),
        ("reserved == ordered", "ok" if checks.lines_ok else "FAILED"),
        ("ledger check", "ok" if checks.ledger_ok else "FAILED"),
        ("FEFO check", "ok" if checks.fefo_ok else "FAILED"),
    ]
    reads = [s for r in results for s in r.reads]
    read_duration = max((s.at for s in reads), default=0.0)
    read_ok = [s for s in reads if s.status == 200]
    reads_per_s = len(read_ok) / read_duration if read_duration else 0.0
    orders_per_s = len(placed) / phase if placed else 0.0
    per_order, per_read = _statements(host)
    rows += [
        (
            "reads/s (GET own order)",
            f"{reads_per_s:.1f} over {read_duration:.2f} s, {len(reads) - len(read_ok)} not 200",
        ),
        ("latency read p50/p99", _ms([s.latency for s in read_ok], 50, 99) if read_ok else "-"),
        ("ratio orders/reads", f"{orders_per_s / reads_per_s:.2f}" if reads_per_s else "-"),
    ]
    ceiling = None
    if args.ceiling:
        stop_server()  # the platform's server gives the cores to the ceiling's
        rps, latencies = _ceiling(args, log)
        ceiling = (rps, f"same server set-up and clients), p50/p99 {_ms(latencies, 50, 99)}")
    _print_rows(rows + _tail_rows(reads_per_s, orders_per_s, ceiling, per_order, per_read))
    for line in [line for r in results for line in r.first_errors][:5]:
        print(f"  e.g. {line}")
    for message in checks.messages[:10]:
        print(f"  ! {message}")
    return checks.oversell == 0 and ledger and checks.fefo_ok and not other


def _run_wrk(
    args: argparse.Namespace,
    *,
    host: str,
    schema_name: str,
    fixture: Fixture,
    hot_stock: int,
    stop_server: Callable[[], None],
    log: IO[bytes],
) -> bool:
    """The same phases with wrk as the client (bench.wrk_client): orders, reads of each user's first
    order, then the ceiling; the same checks of the stock, lots and ledger afterwards."""
    import requests
    from django.db import connection
    from django_tenants.utils import schema_context

    from apps.orders.models import Order
    from bench import wrk_client

    base = f"http://127.0.0.1:{args.port}"
    for token in fixture.tokens:  # warm up each token (the workers' caches, as the Python clients do)
        requests.get(f"{base}/api/v1/orders", headers={"Host": host, "Authorization": f"Bearer {token}"}, timeout=30)
    deadlocks0, rollbacks0 = db_counters()
    placing = wrk_client.orders(
        base,
        host=host,
        tokens=fixture.tokens,
        location_id=fixture.location_id,
        hot_sku=fixture.hot_sku,
        pool_skus=fixture.pool_skus,
        connections=args.clients,
        seconds=args.seconds,
        seed=args.seed,
    )
    deadlocks1, rollbacks1 = db_counters()
    placed = placing.count(201)
    with schema_context(schema_name):
        # wrk stops with requests in flight: wait until they have committed (the count holds still).
        orders_db, settle_by = -1, time.monotonic() + 30
        while time.monotonic() < settle_by:
            time.sleep(0.5)
            now = Order.objects.count()
            if now == orders_db:
                break
            orders_db = now
        # An order in flight when wrk stops commits without its 201 being counted: one per connection at most.
        in_flight = orders_db - placed
        checks = _check(fixture=fixture, placed=orders_db)
        firsts = dict(
            Order.objects.order_by("customer_id", "pk").distinct("customer_id").values_list("customer__email", "pk")
        )
    connection.set_schema_to_public()
    pairs = zip(fixture.tokens, fixture.emails, strict=True)
    readers = [(token, firsts[email]) for token, email in pairs if email in firsts]
    reading = wrk_client.reads(
        base,
        host=host,
        tokens=[token for token, _ in readers],
        order_ids=[order_id for _, order_id in readers],
        connections=args.clients,
        seconds=args.read_seconds,
    )
    per_order, per_read = _statements(host)
    ceiling = None
    if args.ceiling:
        stop_server()
        from apps.tenants.models import Tenant

        pk = Tenant.objects.order_by("pk").values_list("pk", flat=True).first()
        proc = _server_start(args, "127.0.0.1", log, settings_module="bench.ceiling")
        try:
            ceiling = wrk_client.get(f"{base}/ceiling/{pk}", connections=args.clients, seconds=args.read_seconds)
        finally:
            _server_stop(proc)

    orders_per_s = placing.per_second(201)
    reads_per_s = reading.per_second(200)
    other = {k: v for k, v in placing.statuses.items() if k not in (201, 409, 429)}
    ledger = checks.ledger_ok and checks.lines_ok and not checks.bad_rows
    in_flight_ok = 0 <= in_flight <= args.clients
    print(
        f"\n== wrk, {args.clients} connections x 3-line pickup orders (1 hot of {hot_stock} units + 2 of "
        f"{len(fixture.pool_skus)} pool variants), gunicorn {args.worker_class} {args.workers} workers"
    )
    rows = [
        ("client", f"wrk -t1 -c{args.clients} ({len(fixture.tokens)} retail users' tokens in turn)"),
        ("duration", f"{placing.seconds:.2f} s, {placing.requests} requests, {placing.socket_errors} socket errors"),
        ("statuses", str(dict(sorted(placing.statuses.items())))),
        ("orders/s", f"{orders_per_s:.1f} (201 answers)"),
        ("latency all p50/p90/p99", f"{placing.p50_ms:.1f} / {placing.p90_ms:.1f} / {placing.p99_ms:.1f} ms"),
        ("latency max", f"{placing.max_ms:.1f} ms"),
        ("deadlocks/rollbacks", f"{deadlocks1 - deadlocks0} / {rollbacks1 - rollbacks0} (pg_stat_database)"),
        ("orders in database", f"{orders_db} ({in_flight} in flight at the end, at most {args.clients} allowed)"),
        ("hot reserved", f"{checks.hot_reserved} of {hot_stock} received"),
        ("oversell", f"{checks.oversell}" + ("" if checks.oversell == 0 else "  <-- MUST BE 0")),
        ("stock rows", "ok" if not checks.bad_rows else f"{checks.bad_rows} BAD"),
        ("reserved == ordered", "ok" if checks.lines_ok else "FAILED"),
        ("ledger check", "ok" if checks.ledger_ok else "FAILED"),
        ("FEFO check", "ok" if checks.fefo_ok else "FAILED"),
        ("reads/s (GET own order)", f"{reads_per_s:.1f}, statuses {dict(sorted(reading.statuses.items()))}"),
        ("latency read p50/p99", f"{reading.p50_ms:.1f} / {reading.p99_ms:.1f} ms"),
        ("ratio orders/reads", f"{orders_per_s / reads_per_s:.2f}" if reads_per_s else "-"),
    ]
    measured = None
    if ceiling is not None:
        measured = (ceiling.per_second(200), f"wrk), p50/p99 {ceiling.p50_ms:.1f} / {ceiling.p99_ms:.1f} ms")
    _print_rows(rows + _tail_rows(reads_per_s, orders_per_s, measured, per_order, per_read))
    for message in checks.messages[:10]:
        print(f"  ! {message}")
    if other:
        print(f"  ! unexpected statuses: {other}")
    return checks.oversell == 0 and ledger and checks.fefo_ok and in_flight_ok and not other


def _tail_rows(
    reads_per_s: float, orders_per_s: float, ceiling: tuple[float, str] | None, per_order: int, per_read: int
) -> list[tuple[str, str]]:
    """The rows both runners end with: the measured ceiling (requests/s, how it was read), the
    ratios to it and to the PERF-FACTS figure, the statement counts."""
    rows = []
    if ceiling is not None:
        rps, how = ceiling
        rows += [
            ("ceiling reads/s", f"{rps:.1f} (bare DRF ModelSerializer one-row read, bench.ceiling, {how}"),
            ("reads vs ceiling", f"{reads_per_s / rps:.2f}" if rps else "-"),
            ("orders vs ceiling", f"{orders_per_s / rps:.3f}" if rps else "-"),
        ]
    return [
        *rows,
        ("reads vs PERF-FACTS", f"{reads_per_s / READ_CEILING:.2f} of its one-row read ({READ_CEILING}/s with wrk)"),
        ("statements per order", f"{per_order} (3-line pickup order with Idempotency-Key, steady state)"),
        ("statements per read", f"{per_read}"),
    ]


def _print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        print(f"{label + ':':<{width}}{value}")


def _statements(host: str) -> tuple[int, int]:
    """PostgreSQL statements of one order placement and one order read, counted in this process
    through the same middleware and views (a second order, so the caches are warm as on a server)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import tenant_context

    from apps.accounts.models import User
    from apps.accounts.services import session_start
    from apps.tenants.models import Tenant

    tenant = Tenant.objects.get(domains__domain=host)
    with tenant_context(tenant):
        user = User.objects.filter(kind="retail").order_by("pk").first()
        token = session_start(user=user).access
        body = {"fulfilment": "pickup", "location_id": _LAST_FIXTURE["location_id"], "lines": _LAST_FIXTURE["lines"]}
    client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as placed:
            response = client.post(
                "/api/v1/orders", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
            )
        counts.append(len(placed.captured_queries) if response.status_code == 201 else -1)
    order_id = response.json().get("id") if response.status_code == 201 else 0
    client.get(f"/api/v1/orders/{order_id}")
    with CaptureQueriesContext(connection) as read:
        client.get(f"/api/v1/orders/{order_id}")
    connection.set_schema_to_public()
    return counts[-1], len(read.captured_queries)


READ_CEILING = 1950  # PERF-FACTS: DRF ModelSerializer reading one row, same machine
_LAST_FIXTURE: dict = {}

# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help=f"concurrent HTTP clients (1-{MAX_CLIENTS})")
    parser.add_argument("--seconds", type=float, default=10.0, help=f"duration of the run (at most {MAX_SECONDS})")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument(
        "--hot-stock",
        type=int,
        default=None,
        help="units of the hot variant (default: clients * seconds * 2, so that it sells out on a small machine)",
    )
    parser.add_argument("--variants", type=int, default=100, help="variants in the random pool (>= 2)")
    parser.add_argument("--stock", type=int, default=100_000, help="units of each pool variant")
    parser.add_argument("--read-seconds", type=float, default=5.0, help="then the clients read their own order")
    parser.add_argument(
        "--no-ceiling",
        dest="ceiling",
        action="store_false",
        help="skip measuring the bare DRF one-row read (bench.ceiling) after the read phase",
    )
    parser.add_argument(
        "--client",
        choices=("python", "wrk"),
        default="python",
        help="the load client: Python threads (requests) or wrk (apt-get install wrk), which costs the cores less",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="do not drop the bench tenant afterwards")
    args = parser.parse_args()
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be between 1 and {MAX_CLIENTS}")
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be above 0 and at most {MAX_SECONDS}")
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be >= 1")
    if args.worker_class == "sync" and args.threads != 1:
        parser.error("--threads needs --worker-class gthread")
    if args.variants < 2 or args.stock < 2:
        parser.error("--variants must be >= 2 and --stock >= 2")
    if args.client == "wrk":
        from bench import wrk_client

        if not wrk_client.available():
            parser.error("--client wrk needs wrk on the PATH (Debian: apt-get install wrk)")
    hot_stock = args.hot_stock if args.hot_stock is not None else max(1, int(args.clients * args.seconds * 2))

    django_setup()
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.core.audit import system_actor
    from apps.tenants.services import base_schema_ensure, tenant_create

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
    if args.workers * args.threads + 5 > max_connections:
        parser.error(f"{args.workers * args.threads} server connections do not fit max_connections {max_connections}")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: nproc {affinity} (cpu_count {os.cpu_count()}), Python {sys.version.split()[0]}")
    print(f"postgres: {server}, max_connections {max_connections}, database {connection.settings_dict['NAME']}")

    all_ok = False
    with system_actor(ACTOR):
        base_schema_ensure()
        t0 = time.perf_counter()
        run = uuid.uuid4().hex[:8]
        schema_name, host = f"bench_ord_{run}", f"bench-ord-{run}.localhost"
        tenant = tenant_create(name=f"Bench orders {run}", schema_name=schema_name, domain=host, plan="premium")
        log = tempfile.NamedTemporaryFile(prefix="bench-order-placement-", suffix=".log", delete=False)  # noqa: SIM115
        proc: subprocess.Popen[bytes] | None = None
        try:
            with tenant_context(tenant):
                fixture = _setup(variants=args.variants, stock=args.stock, hot_stock=hot_stock, clients=args.clients)
                _LAST_FIXTURE.update(
                    location_id=fixture.location_id,
                    lines=[{"sku": sku, "quantity": 1} for sku in fixture.pool_skus[:3]],
                )
            connection.set_schema_to_public()
            print(
                f"setup: tenant {schema_name} (premium), 1 hot variant ({hot_stock} units), {args.variants} pool "
                f"variants ({args.stock} units each), {args.clients} users, in {time.perf_counter() - t0:.2f} s"
            )
            t0 = time.perf_counter()
            proc = _server_start(args, host, log)
            print(f"server: gunicorn pid {proc.pid} on port {args.port} up in {time.perf_counter() - t0:.2f} s")
            running = proc
            all_ok = (_run_wrk if args.client == "wrk" else _run)(
                args,
                host=host,
                schema_name=schema_name,
                fixture=fixture,
                hot_stock=hot_stock,
                stop_server=lambda: _server_stop(running),
                log=log,
            )
        finally:
            if proc is not None:
                _server_stop(proc)
            log.close()
            server_log = Path(log.name).read_text(errors="replace").splitlines()
            if server_log:
                print(f"\nserver log ({len(server_log)} lines, {log.name}):")
                for line in server_log[:15]:
                    print(f"  | {line[:200]}")
            else:
                Path(log.name).unlink()
            connection.set_schema_to_public()
            if args.keep:
                print(f"\nkept tenant {schema_name} ({host})")
            else:
                tenant.domains.all().delete()
                tenant.delete(force_drop=True)
                connection.set_schema_to_public()
    print(f"\nresult: {'all checks passed' if all_ok else 'CHECKS FAILED'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
