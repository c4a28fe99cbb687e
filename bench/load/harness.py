"""One harness run: services and processes up, tenants seeded, locust headless for N seconds (a
fault injected while it runs), Stripe's owed webhooks delivered, the platform left to drain, the
invariants checked, the figures printed and written as JSON, everything taken down."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.load import invariants
from bench.load.faults import Fault
from bench.load.receiver import Receiver
from bench.load.stack import BIN, ROOT, STRIPE_KEY, WEBHOOK_SECRET, Stack, wait_for

TEMPLATE_URL = "postgres://root@127.0.0.1:5432/fnb_load"  # a migrated copy to clone a private cluster from


class Harness:
    def __init__(self, args, fault: Fault | None = None) -> None:
        self.args = args
        self.fault = fault
        from bench.load.seed import run_tag

        self.run = run_tag()
        self.run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix=f"fnb-load-{self.run}-"))
        self.receiver = Receiver().start()
        self.stack = Stack(
            self.run_dir,
            database_url=args.database_url,
            redis_url=args.redis_url,
            pg_port=args.pg_port,
            web_workers=args.web_workers,
            web_threads=args.web_threads,
            worker_concurrency=args.worker_concurrency,
        )
        self.schemas: list[str] = []
        self.tasks_before: set[str] | None = None
        self.log_lines: list[str] = []
        self.in_flight: list[str] = []

    def say(self, msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        self.log_lines.append(line)
        print(line, flush=True)

    # ------------------------------------------------------------------ set-up

    def _django(self) -> None:
        os.environ.update(self.stack.env())
        os.environ["REVIEW_REQUIRE_PURCHASE"] = "false"
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()

    def _populate_private_postgres(self) -> None:
        """A new private cluster gets the schema from a migrated template database (pg_dump), or is
        migrated with `manage.py release` when there is none."""
        pg = self.stack.pg
        dump = self.run_dir / "template.dump"
        res = subprocess.run(  # noqa: S603
            [str(pg.bin / "pg_dump"), "-Fc", "--no-owner", "--no-acl", "-d", self.args.template_url, "-f", str(dump)],
            capture_output=True,
            text=True,
        )
        if res.returncode == 0:
            self.say(f"private PostgreSQL: restoring the migrated template {self.args.template_url}")
            subprocess.run(  # noqa: S603
                [str(pg.bin / "pg_restore"), "--no-owner", "--no-acl", "-d", pg.url("fnb_load"), str(dump)],
                capture_output=True,
                check=False,
            )
            dump.unlink()
        self.say("private PostgreSQL: manage.py release (migrations, base schema)")
        subprocess.run([sys.executable, "manage.py", "release", "-v0"], cwd=ROOT, env=self.stack.env(), check=True)

    def setup(self) -> None:
        a = self.args
        self.say(f"run {self.run} in {self.run_dir}")
        self.stack.redis_start()
        if self.stack.postgres_start():
            self._populate_private_postgres()
        self._django()
        from django_celery_beat.models import PeriodicTask

        from apps.core.schedules import periodic_tasks_sync

        before = set(PeriodicTask.objects.values_list("name", flat=True))
        periodic_tasks_sync()  # what `manage.py release` does: beat's jobs
        self.tasks_before = before  # beat adds its own (celery.backend_cleanup): both go at the end
        from bench.load.seed import as_json, seed

        t0 = time.monotonic()
        customers = max(4, a.users)
        fixtures = seed(run=self.run, tenants=a.tenants, customers=customers, receiver_base=self.receiver.base)
        self.schemas = [f.schema for f in fixtures]
        for f in fixtures:
            self.receiver.secrets[f.endpoint_path] = f.endpoint_secret
        self.fixture = {
            "run": self.run,
            "tenants": as_json(fixtures),
            "stripe_base": self.stack.stripe_base,
            "stripe_key": STRIPE_KEY,
            "stream_base": self.stack.stream_base,
            "webhook_secret": WEBHOOK_SECRET,
        }
        (self.run_dir / "fixture.json").write_text(json.dumps(self.fixture))
        self.say(f"seeded {a.tenants} tenants ({customers} customers each) in {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        self.stack.up()
        self.say(
            f"up in {time.monotonic() - t0:.1f} s: web :{self.stack.web_port} (gunicorn gthread "
            f"{a.web_workers}x{a.web_threads}), stream :{self.stack.stream_port}, worker (prefork "
            f"{a.worker_concurrency}), beat, localstripe :{self.stack.stripe_port}, redis {self.stack.redis_url}, "
            f"postgres {'private :' + str(a.pg_port) if self.stack.pg else 'external'}"
        )

    # ------------------------------------------------------------------ load

    def note_in_flight(self, when: str) -> None:
        counts = self._open_work()
        self.in_flight.append(f"{when}: {counts}")
        self.say(f"in flight {when}: {counts}")

    def _open_work(self) -> dict:
        from django.db import close_old_connections, connection
        from django_tenants.utils import schema_context

        from apps.core.models import OutboxEvent
        from apps.integrations.models import WebhookDelivery

        close_old_connections()
        out = {"unrelayed": 0, "pending": 0, "sending": 0, "failed": 0}
        try:
            for schema in self.schemas:
                with schema_context(schema):
                    out["unrelayed"] += OutboxEvent.objects.filter(published_at__isnull=True).count()
                    for status in ("pending", "sending", "failed"):
                        out[status] += WebhookDelivery.objects.filter(status=status).count()
        except Exception as exc:
            connection.close()
            return {"error": type(exc).__name__}
        connection.set_schema_to_public()
        return out

    def load(self) -> None:
        a = self.args
        fixed = 3 * a.tenants  # Staff, StoreScreen, Partner: one each per tenant
        users = max(a.users, fixed + a.tenants)
        env = os.environ | {
            "LOAD_FIXTURE": str(self.run_dir / "fixture.json"),
            "LOAD_RESULTS": str(self.run_dir / "results.json"),
            **(self.fault.load_env if self.fault else {}),
        }
        argv = [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench" / "load" / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(max(2, users // 3)),
            "--run-time",
            f"{int(a.seconds)}s",
            "--host",
            self.stack.web_base,
            "--csv",
            str(self.run_dir / "locust"),
            "--csv-full-history",
            "--only-summary",
            "--stop-timeout",
            "5",
            "--loglevel",
            "WARNING",
        ]
        self.say(
            f"locust: {users} users ({users - fixed} shoppers, {a.tenants} staff, {a.tenants} store screens, "
            f"{a.tenants} partners) for {a.seconds:.0f} s" + (f"; fault {self.fault.name}" if self.fault else "")
        )
        if self.fault:
            self.fault.prepare(self)
        with (self.run_dir / "locust.log").open("wb") as log:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
            self.load_started = time.time()
            if self.fault:
                delay = self.fault.at * a.seconds
                threading.Event().wait(delay)
                self.say(f"fault {self.fault.name}: {self.fault.summary}")
                self.fault.during(self.stack, self)
                self.say(
                    f"fault {self.fault.name}: over after {self.fault.window.end - self.fault.window.start:.1f} s"
                )
            proc.wait(timeout=a.seconds + 120)
            self.load_ended = time.time()
        self.say(f"locust finished (exit {proc.returncode})")
        self.results = json.loads((self.run_dir / "results.json").read_text())

    # ------------------------------------------------------------------ after the load

    def stripe_owed(self) -> int:
        """What Stripe itself guarantees: a webhook that did not get a 2xx is sent again (later),
        and every succeeded intent's event is sent even when the client never came back."""
        import requests

        hosts = {t["schema"]: t["host"] for t in self.fixture["tenants"]}
        owed = [(host, payload) for host, payload in self.results.get("webhooks_dropped", [])]
        notified = set(self.results.get("intents_notified", []))
        for intent in invariants.stripe_intents(self.stack.stripe_base, STRIPE_KEY):
            schema = (intent.get("metadata") or {}).get("tenant")
            if intent["status"] == "succeeded" and intent["id"] not in notified and schema in hosts:
                event = {
                    "id": f"evt_owed_{intent['id']}",
                    "object": "event",
                    "type": "payment_intent.succeeded",
                    "created": int(time.time()),
                    "data": {"object": intent},
                }
                owed.append((hosts[schema], json.dumps(event)))
        import hashlib
        import hmac

        sent = 0
        for host, payload in owed:
            body = payload.encode()
            for attempt in range(10):
                ts = int(time.time())
                sig = hmac.new(WEBHOOK_SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
                try:
                    resp = requests.post(
                        f"{self.stack.web_base}/api/v1/payments/stripe/webhook",
                        data=body,
                        headers={
                            "Host": host,
                            "Content-Type": "application/json",
                            "Stripe-Signature": f"t={ts},v1={sig}",
                        },
                        timeout=30,
                    )
                    if resp.status_code == 200:
                        sent += 1
                        break
                except requests.RequestException:
                    pass
                time.sleep(1 + attempt)
        return sent

    def drain(self, timeout: float) -> bool:
        """Wait (without helping) until every event is relayed and every delivery succeeded."""
        self.say(f"draining: waiting up to {timeout:.0f} s for the relay and the worker to finish")
        t0 = time.monotonic()
        last = {}

        def done() -> bool:
            nonlocal last
            last = self._open_work()
            return last.get("unrelayed") == 0 and last.get("pending") == 0 and last.get("sending") == 0

        ok = wait_for(done, timeout, 2.0)
        self.drain_seconds = time.monotonic() - t0
        self.say(f"drained in {self.drain_seconds:.1f} s" if ok else f"NOT drained after {timeout:.0f} s: {last}")
        return ok

    def figures(self) -> dict:
        rows = []
        stats = self.run_dir / "locust_stats.csv"
        with stats.open() as fh:
            for row in csv.DictReader(fh):
                rows.append(
                    {
                        "name": row["Name"],
                        "requests": int(row["Request Count"]),
                        "failures": int(row["Failure Count"]),
                        "rps": float(row["Requests/s"]),
                        "p50": _num(row.get("50%")),
                        "p95": _num(row.get("95%")),
                        "p99": _num(row.get("99%")),
                    }
                )
        failures = []
        path = self.run_dir / "locust_failures.csv"
        if path.exists():
            with path.open() as fh:
                failures = [
                    {"name": r["Name"], "error": r["Error"][:120], "count": int(r["Occurrences"])}
                    for r in csv.DictReader(fh)
                ]
        return {"endpoints": rows, "failures": failures}

    def report(self, drained: bool, owed: int, checks: dict) -> dict:
        figures = self.figures()
        status = self.results.get("status", {})
        errors: dict[str, int] = {}
        for c in status.values():
            for code, n in c.items():
                if code == "0" or int(code) >= 400:
                    errors[code] = errors.get(code, 0) + n
        report = {
            "run": self.run,
            "fault": self.fault.name if self.fault else None,
            "args": {k: v for k, v in vars(self.args).items() if k not in ("func",)},
            "duration_s": round(self.load_ended - self.load_started, 1),
            "endpoints": figures["endpoints"],
            "failures": figures["failures"],
            "status": status,
            "errors_by_status": dict(sorted(errors.items())),
            "timeline": self.results.get("timeline", {}),
            "webhooks": self.results.get("webhooks_sent", {}),
            "stripe_owed_delivered": owed,
            "receiver": {k: v for k, v in self.receiver.snapshot().items() if k != "accepted"},
            "stream": {
                "opens": self.results.get("stream_opens", 0),
                "events": self.results.get("stream_events", 0),
                "arrivals": len(self.results.get("arrivals", {})),
                "arrivals_seen": len(self.results.get("arrival_seen", {})),
                "arrival_to_screen_ms": _arrival_latency(self.results),
            },
            "drained": drained,
            "drain_s": round(getattr(self, "drain_seconds", 0.0), 1),
            "invariants": checks["checks"],
            "tenants": checks["tenants"],
            "in_flight": self.in_flight,
            "events": [(round(t - self.load_started, 1), what) for t, what in self.stack.events],
        }
        problems = [f"{name}: {len(vs)} violations" for name, vs in checks["checks"].items() if vs]
        if not drained:
            problems.append("the platform did not drain (events or deliveries left open)")
        if errors.get("500"):
            problems.append(f"{errors['500']} answers were 500 server_error (a bug, whatever the fault)")
        if self.fault:
            fault_problems = self.fault.expect(report)
            problems += fault_problems
            report["fault_notes"] = self.fault.notes
        report["problems"] = problems
        report["passed"] = not problems
        return report

    def teardown(self) -> None:
        self.stack.close()
        self.receiver.close()
        if self.args.keep:
            self.say(f"kept tenants {', '.join(self.schemas)} and {self.run_dir}")
            return
        try:
            from django.db import close_old_connections

            close_old_connections()
            if self.stack.pg is not None:  # closed above; drop through a fresh start
                self.stack.pg.start()
            from bench.load.seed import drop

            drop(self.schemas)
            if self.tasks_before is not None:
                from django_celery_beat.models import PeriodicTask

                PeriodicTask.objects.exclude(name__in=self.tasks_before).delete()
            if self.stack.pg is not None:
                from django.db import connection

                connection.close()
                self.stack.pg.stop()
        except Exception as exc:
            self.say(f"teardown: {exc!r}")

    def execute(self) -> dict:
        try:
            self.setup()
            self.load()
            if self.fault and self.fault.name == "receiver-hang":
                self.receiver.mode = "ok"
            owed = self.stripe_owed()
            self.say(f"Stripe's owed webhooks delivered: {owed}")
            drained = self.drain(self.args.drain)
            checks = invariants.check_all(
                schemas=self.schemas,
                stripe_base=self.stack.stripe_base,
                api_key=STRIPE_KEY,
                receiver=self.receiver.snapshot(),
                results=self.results,
            )
            report = self.report(drained, owed, checks)
            (self.run_dir / "report.json").write_text(json.dumps(report, indent=1, default=str))
            print_report(report)
            return report
        finally:
            self.teardown()


def _num(value: str | None) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _arrival_latency(results: dict) -> dict:
    arrivals, seen = results.get("arrivals", {}), results.get("arrival_seen", {})
    lat = sorted((seen[k] - arrivals[k]) * 1000 for k in seen if k in arrivals)
    if not lat:
        return {}
    pick = lambda p: round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))], 1)  # noqa: E731
    return {"n": len(lat), "p50": pick(50), "p95": pick(95), "max": round(lat[-1], 1)}


def print_report(r: dict) -> None:
    print()
    title = f"fault {r['fault']}" if r["fault"] else "load run"
    total = sum(e["requests"] for e in r["endpoints"] if e["name"] == "Aggregated")
    print(f"== {title} {r['run']}: {r['duration_s']} s, {total} requests")
    print(f"{'endpoint':<42}{'reqs':>7}{'req/s':>8}{'fail':>6}{'p50':>7}{'p95':>7}{'p99':>7}  (ms)")
    for e in r["endpoints"]:
        print(
            f"{e['name'][:41]:<42}{e['requests']:>7}{e['rps']:>8.1f}{e['failures']:>6}"
            f"{_fmt(e['p50'])}{_fmt(e['p95'])}{_fmt(e['p99'])}"
        )
    print(f"errors by status (0 = no answer): {r['errors_by_status'] or 'none'}")
    for f in r["failures"][:12]:
        print(f"  {f['count']:>5} x {f['name']}: {f['error']}")
    s = r["stream"]
    print(
        f"stream: {s['opens']} opens, {s['events']} events; arrivals {s['arrivals']}, seen on a screen "
        f"{s['arrivals_seen']} {s['arrival_to_screen_ms']}"
    )
    print(
        f"webhooks (Stripe -> platform): {r['webhooks']}; owed, delivered after the load: {r['stripe_owed_delivered']}"
    )
    print(f"receiver: {r['receiver']}")
    print(f"drained: {r['drained']} in {r['drain_s']} s")
    for schema, info in r["tenants"].items():
        print(f"  {schema}: {info}")
    print("invariants:")
    for name, vs in r["invariants"].items():
        print(f"  {name:<24}{'ok' if not vs else f'FAILED ({len(vs)})'}")
        for x in vs[:5]:
            print(f"      {x}")
    for note in r.get("fault_notes", []):
        print(f"  note: {note}")
    for line in r["in_flight"]:
        print(f"  in flight {line}")
    print(f"result: {'PASSED' if r['passed'] else 'FAILED: ' + '; '.join(r['problems'])}")


def _fmt(v: float | None) -> str:
    return f"{v:>7.0f}" if v is not None else f"{'-':>7}"
