"""Benchmark: 1,000 concurrent SSE streams on the stream process while the web API is read.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python -m bench.streams
        [--streams 1000] [--locations 10] [--events 200] [--rate 20] [--port 8811] [--web-port 8812]

Creates a `bench_st_<run>` tenant with `--locations` stores and one owner's access token, starts
the stream process as the Procfile does (gunicorn + uvicorn worker, config.asgi) and the web
process (gunicorn gthread 2x4, config.wsgi), opens `--streams` connections to
/api/v1/streams/locations/<id>/stock spread over the stores (asyncio, one socket each), then commits
`--events` stock events at `--rate`/s, each carrying its commit time, and notes when each stream
receives each event. Meanwhile a client reads `GET /api/v1/locations` on the web process in a loop.
Prints: streams open, events received (expected = events x streams per store), delivery latency
(commit -> received) p50/p99, the stream process's RSS, and the web read's p50/p99 before and during.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from bench._common import django_setup, percentile

ROOT = Path(__file__).resolve().parent.parent


def _start(command: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)  # noqa: S603 - fixed argv


def _wait_up(port: int, host: str) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health/live", headers={"Host": host}, timeout=2).ok:
                return
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError(f"nothing answers on port {port}")


def _rss_kb(pid: int) -> int:
    """RSS of a process and its children (the gunicorn master and its worker)."""
    total = 0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            pids += [int(p) for p in fh.read().split()]
    except OSError:
        pass
    for p in pids:
        with open(f"/proc/{p}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def _web_reader(port: int, host: str, token: str, stop: threading.Event, out: list[float]) -> None:
    import requests

    session = requests.Session()
    headers = {"Host": host, "Authorization": f"Bearer {token}"}
    while not stop.is_set():
        t0 = time.perf_counter()
        response = session.get(f"http://127.0.0.1:{port}/api/v1/locations", headers=headers, timeout=10)
        if response.status_code == 200:
            out.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.01)


async def _stream(port: int, host: str, token: str, location_id: int, opened: list, latencies: list, stop) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /api/v1/streams/locations/{location_id}/stock HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        opened.append(False)
        writer.close()
        return
    opened.append(True)
    try:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                break
            if line.startswith(b"data: {"):
                now = time.time()
                body = line[6:].strip()
                if body.endswith(b"}"):
                    latencies.append((now - json.loads(body)["t"]) * 1000)
    except (ConnectionError, json.JSONDecodeError, KeyError):
        pass
    finally:
        writer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    parser.add_argument("--port", type=int, default=8811)
    parser.add_argument("--web-port", type=int, default=8812)
    args = parser.parse_args()

    django_setup()
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from apps.accounts.models import User
    from apps.accounts.services import session_start
    from apps.core.services import events_record
    from apps.stock.models import Location
    from apps.tenants.services import base_schema_ensure, tenant_create

    base_schema_ensure()
    run = uuid.uuid4().hex[:8]
    host = f"bench-st-{run}.localhost"
    tenant = tenant_create(name=f"Bench streams {run}", schema_name=f"bench_st_{run}", domain=host, plan="premium")
    procs: list[subprocess.Popen] = []
    ok = False
    try:
        with tenant_context(tenant):
            locations = [
                Location.objects.create(name=f"Store {i}", code=f"store-{i}", kind="store").pk
                for i in range(args.locations)
            ]
            owner = User.objects.create_user(f"owner-{run}@bench.test", "Bench-Owner-2026", is_staff=True)
            owner.groups.add(Group.objects.get(name="Owner"))
            token = session_start(user=owner).access
        connection.set_schema_to_public()
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "STREAM_LIFETIME_SECONDS": "600",
            "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
        }
        gunicorn = [sys.executable, "-m", "gunicorn", "--no-control-socket", "--log-level", "warning"]
        stream_cmd = [*gunicorn, "config.asgi:application", "--bind", f"127.0.0.1:{args.port}",
                      "--worker-class", "uvicorn_worker.UvicornWorker", "--workers", "1"]  # fmt: skip
        web_cmd = [*gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{args.web_port}",
                   "--worker-class", "gthread", "--workers", "2", "--threads", "4"]  # fmt: skip
        procs = [_start(stream_cmd, env), _start(web_cmd, env)]
        _wait_up(args.port, host)
        _wait_up(args.web_port, host)
        stream_pid = procs[0].pid
        rss_idle = _rss_kb(stream_pid)

        before: list[float] = []
        stop_web = threading.Event()
        reader = threading.Thread(target=_web_reader, args=(args.web_port, host, token, stop_web, before))
        reader.start()
        time.sleep(5)
        stop_web.set()
        reader.join()

        during: list[float] = []
        stop_web = threading.Event()
        opened: list[bool] = []
        latencies: list[float] = []
        loop = asyncio.new_event_loop()
        stop_streams = asyncio.Event()

        async def open_all() -> list[asyncio.Task]:
            tasks = []
            for i in range(args.streams):
                tasks.append(
                    loop.create_task(
                        _stream(args.port, host, token, locations[i % len(locations)], opened, latencies, stop_streams)
                    )
                )
                if i % 50 == 49:
                    await asyncio.sleep(0.05)
            while len(opened) < args.streams:
                await asyncio.sleep(0.1)
            return tasks

        loop_thread = threading.Thread(target=loop.run_forever, daemon=True)
        loop_thread.start()
        t0 = time.perf_counter()
        tasks = asyncio.run_coroutine_threadsafe(open_all(), loop).result(timeout=300)
        connect_s = time.perf_counter() - t0
        rss_open = _rss_kb(stream_pid)
        reader = threading.Thread(target=_web_reader, args=(args.web_port, host, token, stop_web, during))
        reader.start()
        with tenant_context(tenant):
            for n in range(args.events):
                with transaction.atomic():
                    payload = {"variant_id": n, "location_id": locations[n % len(locations)], "t": time.time()}
                    events_record([("stock.changed", payload)])
                time.sleep(1 / args.rate)
        time.sleep(3)
        stop_web.set()
        reader.join()
        rss_end = _rss_kb(stream_pid)
        loop.call_soon_threadsafe(stop_streams.set)
        for task in tasks:
            loop.call_soon_threadsafe(task.cancel)
        expected = args.events * (args.streams // len(locations))
        lat = sorted(latencies)
        before.sort()
        during.sort()
        print(f"streams: {sum(opened)} of {args.streams} open in {connect_s:.1f} s over {len(locations)} stores")
        print(f"events: {args.events} at {args.rate:.0f}/s -> {len(lat)} received (expected {expected})")
        print(
            f"delivery latency (commit -> received): p50 {percentile(lat, 50):.1f} ms, "
            f"p99 {percentile(lat, 99):.1f} ms"
        )
        print(f"stream process RSS: {rss_idle / 1024:.0f} MiB idle, {rss_open / 1024:.0f} MiB with the streams "
              f"open, {rss_end / 1024:.0f} MiB after the events")  # fmt: skip
        print(f"web GET /api/v1/locations: before p50 {percentile(before, 50):.1f} ms p99 "
              f"{percentile(before, 99):.1f} ms ({len(before)} reads); during p50 {percentile(during, 50):.1f} ms "
              f"p99 {percentile(during, 99):.1f} ms "
              f"({len(during)} reads)")  # fmt: skip
        ok = sum(opened) == args.streams and len(lat) == expected
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        connection.set_schema_to_public()
        tenant.domains.all().delete()
        tenant.delete(force_drop=True)
    print(f"\nresult: {'all streams got every event' if ok else 'MISSING STREAMS OR EVENTS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
