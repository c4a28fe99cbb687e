"""Benchmark: outbox -> relay -> Celery -> a local receiver; print events/s and commit-to-delivery delay.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python -m bench.webhooks
        [--events 2000] [--producers 4] [--workers 1] [--concurrency 4] [--aggregates 0] [--keep]

Creates a `bench_wh_<run>` tenant with one endpoint subscribed to `*` pointing at a receiver on
127.0.0.1 (http.server, threads, answers 200), starts Celery worker processes as the Procfile does
(prefork, local settings: private targets allowed), then commits `--events` outbox events from
`--producers` threads, one event per transaction (`order.placed`, each its own order unless
`--aggregates N` spreads them over N orders, which then go out one at a time per order). Every
commit kicks the relay after the commit, as in production. The receiver notes when each
`webhook-id` arrives; the bench prints events/s (first commit to last delivery), the delay from
commit to delivery (p50/p99) and checks that every event arrived, each under one id, none lost.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench._common import django_setup, percentile

ROOT = Path(__file__).resolve().parent.parent


class _Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        lock = threading.Lock()
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    arrivals.setdefault(self.headers["webhook-id"], []).append(time.time())
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--producers", type=int, default=4, help="threads committing events")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="prefork children per worker")
    parser.add_argument("--aggregates", type=int, default=0, help="spread events over N orders (0: one each)")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    django_setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import Count
    from django_tenants.utils import tenant_context

    from apps.core.models import OutboxEvent
    from apps.core.services import events_record
    from apps.integrations.models import WebhookDelivery
    from apps.integrations.services import message_id, webhook_endpoint_create
    from apps.tenants.services import base_schema_ensure, tenant_create

    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        parser.error("run with local settings (WEBHOOK_ALLOW_PRIVATE_TARGETS): the receiver is on 127.0.0.1")
    base_schema_ensure()
    run = uuid.uuid4().hex[:8]
    schema = f"bench_wh_{run}"
    tenant = tenant_create(name=f"Bench webhooks {run}", schema_name=schema, domain=f"bench-wh-{run}.localhost")
    receiver = _Receiver()
    workers: list[subprocess.Popen] = []
    ok = False
    try:
        with tenant_context(tenant):
            webhook_endpoint_create(url=receiver.url, event_types=["*"])
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
            "LOG_LEVEL": os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
        }
        for n in range(args.workers):
            level = os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING")
            command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency",
                       str(args.concurrency), "--loglevel", level, "-n", f"bench{n}-{run}@%h"]  # fmt: skip
            workers.append(subprocess.Popen(command, cwd=ROOT, env=env))  # noqa: S603 - fixed argv
        time.sleep(4)  # workers up
        committed: dict[int, float] = {}
        lock = threading.Lock()
        per = args.events // args.producers

        def produce(index: int) -> None:
            try:
                with tenant_context(tenant):
                    for i in range(per):
                        n = index * per + i
                        number = f"B{n % args.aggregates if args.aggregates else n:07d}"
                        with transaction.atomic():
                            events_record([("order.placed", {"number": number, "status": "placed"})])
                            pk = OutboxEvent.objects.order_by("-id").values_list("pk", flat=True).first()
                        with lock:
                            committed[pk] = time.time()
            finally:
                connection.close()

        started = time.time()
        threads = [threading.Thread(target=produce, args=(i,)) for i in range(args.producers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        produced = time.time() - started
        total = per * args.producers
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and len(receiver.arrivals) < total:
            time.sleep(0.1)
        arrivals = dict(receiver.arrivals)
        last = max((t[0] for t in arrivals.values()), default=started)
        delays = sorted(
            (arrivals[message_id(schema, pk)][0] - at) * 1000
            for pk, at in committed.items()
            if message_id(schema, pk) in arrivals
        )
        doubled = sum(1 for times in arrivals.values() if len(times) > 1)
        with tenant_context(tenant):
            states = dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("id")))
        print(
            f"events: {total} committed by {args.producers} producers in {produced:.2f} s ({total / produced:.0f}/s)"
        )
        print(
            f"workers: {args.workers} x prefork {args.concurrency}; aggregates: {args.aggregates or 'one per event'}"
        )
        print(
            f"delivered: {len(arrivals)} distinct webhook-ids, {doubled} received twice; "
            f"deliveries {json.dumps(states)}"
        )
        print(f"throughput: {len(arrivals) / max(1e-9, last - started):.0f} events/s (first commit to last delivery)")
        if delays:
            print(f"commit -> delivery: p50 {percentile(delays, 50):.0f} ms, p99 {percentile(delays, 99):.0f} ms, "
                  f"max {delays[-1]:.0f} ms")  # fmt: skip
        ok = len(arrivals) == total
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        receiver.server.shutdown()
        connection.set_schema_to_public()
        if not args.keep:
            tenant.domains.all().delete()
            tenant.delete(force_drop=True)
    print(f"\nresult: {'every event delivered' if ok else 'EVENTS MISSING'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
