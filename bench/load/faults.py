"""Fault scenarios: what is broken, when, for how long, and what must hold besides the invariants.

Each scenario acts on the running stack while the load runs (`during`, called in the harness's
main thread at `at` x the load's duration), may change how the load behaves (`load_env`), and
states its own expectations over the run's report (`expect`). Recovery is never helped by the
harness: processes are started again as an orchestrator would restart them, nothing else.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field


@dataclass
class Window:
    start: float = 0.0
    end: float = 0.0


@dataclass
class Fault:
    name: str
    summary: str
    at: float = 0.3  # fraction of the load's duration
    down: float = 8.0  # seconds the broken part stays broken
    load_env: dict[str, str] = field(default_factory=dict)
    needs_private_redis: bool = False
    needs_private_postgres: bool = False
    window: Window = field(default_factory=Window)
    notes: list[str] = field(default_factory=list)

    def prepare(self, harness) -> None:
        """Before the load starts."""

    def during(self, stack, harness) -> None:
        raise NotImplementedError

    def expect(self, report: dict) -> list[str]:
        """Fault-specific failures (beyond the invariants); empty when it behaved."""
        return _recovered(report, self.window)


def _recovered(report: dict, window: Window, grace: float = 30.0) -> list[str]:
    """After the fault ended (plus `grace`), requests answer without 5xx or connection errors again."""
    timeline = report.get("timeline", {})
    after = [(int(s), c) for s, c in timeline.items() if int(s) >= window.end + grace]
    if not after:
        return []  # the load ended inside the grace period: nothing to judge
    bad = sum(n for _, c in after for status, n in c.items() if status == "0" or status.startswith("5"))
    total = sum(n for _, c in after for n in c.values())
    if bad:
        return [f"{bad} of {total} requests still failed (5xx / no answer) {grace:.0f} s after the fault ended"]
    return []


def _during_statuses(report: dict, window: Window) -> dict[str, int]:
    out: dict[str, int] = {}
    for s, c in report.get("timeline", {}).items():
        if window.start - 1 <= int(s) <= window.end + 5:
            for status, n in c.items():
                out[status] = out.get(status, 0) + n
    return out


class WorkerKill(Fault):
    def prepare(self, harness) -> None:
        harness.receiver.delay = 0.3  # a receiver that takes its time: deliveries are in flight

    def during(self, stack, harness) -> None:
        # Mid-task: wait (up to 15 s) until a delivery is being sent, then kill.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not harness._open_work().get("sending"):
            time.sleep(0.05)
        harness.note_in_flight("at the kill")
        self.window.start = time.time()
        stack.kill("worker", signal.SIGKILL)  # the whole process group: master and its children
        time.sleep(self.down)
        stack.start("worker")
        self.window.end = time.time()


class RedisRestart(Fault):
    def during(self, stack, harness) -> None:
        self.window.start = time.time()
        stack.redis_kill(signal.SIGKILL)
        time.sleep(self.down)
        stack.redis_start()
        self.window.end = time.time()

    def expect(self, report: dict) -> list[str]:
        problems = _recovered(report, self.window)
        during = _during_statuses(report, self.window)
        self.notes.append(f"statuses while Redis was down: {dict(sorted(during.items()))}")
        if during.get("500"):
            problems.append(f"{during['500']} answers were 500 (not a clear 503) while Redis was down")
        return problems


class PostgresRestart(Fault):
    def during(self, stack, harness) -> None:
        self.window.start = time.time()
        stack.pg.stop("immediate")  # like a crash: in-flight transactions are cut, recovery on start
        stack.note("postgres stopped (immediate)")
        time.sleep(self.down)
        stack.pg.start()
        stack.note("postgres up")
        self.window.end = time.time()

    def expect(self, report: dict) -> list[str]:
        problems = _recovered(report, self.window)
        during = _during_statuses(report, self.window)
        self.notes.append(f"statuses while PostgreSQL was down: {dict(sorted(during.items()))}")
        if during.get("500"):
            problems.append(f"{during['500']} answers were 500 (not a clear 503) while PostgreSQL was down")
        return problems


class StripeWebhooksChaos(Fault):
    def during(self, stack, harness) -> None:
        self.window.start = self.window.end = time.time()  # the chaos lasts the whole run

    def expect(self, report: dict) -> list[str]:
        sent = report.get("webhooks", {})
        self.notes.append(f"webhooks: {sent}")
        return [] if sent.get("dropped") else ["no webhook was dropped: the scenario did not run"]


class StripeDown(Fault):
    def during(self, stack, harness) -> None:
        self.window.start = time.time()
        stack.stop("stripe")  # state saved; connection refused until it is back
        time.sleep(self.down)
        stack.start("stripe")
        stack.wait_ready("stripe")
        self.window.end = time.time()

    def expect(self, report: dict) -> list[str]:
        statuses = report.get("status", {}).get("POST /orders/{id}/payment", {})
        self.notes.append(f"POST /orders/{{id}}/payment statuses: {statuses}")
        problems = []
        if statuses.get("500"):
            problems.append(f"{statuses['500']} payment calls answered 500 (want 502 payment_provider_error)")
        return problems


class ReceiverMode(Fault):
    mode = "error"

    def during(self, stack, harness) -> None:
        self.window.start = time.time()
        harness.receiver.mode = self.mode
        time.sleep(self.down)
        harness.receiver.mode = "ok"
        self.window.end = time.time()

    def expect(self, report: dict) -> list[str]:
        answered = report.get("receiver", {}).get("answered", {})
        self.notes.append(f"receiver answered: {answered}")
        return []  # the invariants (every event delivered once, deduped) are the test


class ReceiverHang(ReceiverMode):
    mode = "hang"


class IdempotentRetry(Fault):
    def during(self, stack, harness) -> None:
        self.window.start = self.window.end = time.time()

    def expect(self, report: dict) -> list[str]:
        replays = sum(
            n for name, c in report.get("status", {}).items() if name.endswith("(retry)") for n in c.values()
        )
        self.notes.append(f"{replays} requests repeated with the same Idempotency-Key")
        return [] if replays else ["no request was repeated: the scenario did not run"]


def make(name: str, seconds: float) -> Fault:
    long = max(8.0, seconds * 0.4)
    table = {
        "worker-kill": lambda: WorkerKill(
            "worker-kill", "SIGKILL the Celery worker (master and children) mid-task, start it again", down=5.0
        ),
        "redis-restart": lambda: RedisRestart(
            "redis-restart",
            "SIGKILL the private Redis during load, start it again",
            down=8.0,
            needs_private_redis=True,
        ),
        "postgres-restart": lambda: PostgresRestart(
            "postgres-restart",
            "stop the private PostgreSQL (immediate: a crash) during load, start it again",
            down=6.0,
            needs_private_postgres=True,
        ),
        "stripe-webhooks": lambda: StripeWebhooksChaos(
            "stripe-webhooks",
            "Stripe's webhooks dropped (delivered later), duplicated and out of order",
            load_env={"LOAD_STRIPE_CHAOS": "1"},
        ),
        "stripe-down": lambda: StripeDown(
            "stripe-down", "the Stripe stand-in stopped during payments, started again", down=10.0
        ),
        "receiver-500": lambda: ReceiverMode(
            "receiver-500", "the webhook receiver answers 500 for 40% of the run", at=0.2, down=long
        ),
        "receiver-hang": lambda: ReceiverHang(
            "receiver-hang", "the webhook receiver hangs (no answer) for 40% of the run", at=0.2, down=long
        ),
        "idempotent-retry": lambda: IdempotentRetry(
            "idempotent-retry",
            "the client repeats every unsafe request with the same Idempotency-Key",
            load_env={"LOAD_RETRY_UNSAFE": "1"},
        ),
    }
    if name not in table:
        raise SystemExit(f"unknown fault {name!r}; choose from {', '.join(table)}")
    return table[name]()


NAMES = (
    "worker-kill",
    "redis-restart",
    "postgres-restart",
    "stripe-webhooks",
    "stripe-down",
    "receiver-500",
    "receiver-hang",
    "idempotent-retry",
)
