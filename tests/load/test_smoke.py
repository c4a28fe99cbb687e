"""The load and fault harness, short: the real processes (web, stream, worker, beat, localstripe)
against the test database, 20 s of the multi-tenant mix over two tenants with the Celery worker
SIGKILLed mid-delivery and started again, then every invariant. The long runs and the other
faults: `python -m bench.load` (docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.conf import settings

from tests.servers import database_url

pytestmark = pytest.mark.slow


def test_the_mix_with_a_worker_killed_mid_task_keeps_every_invariant(committed_db, tmp_path):
    report_path = tmp_path / "report.json"
    command = [
        sys.executable,
        "-m",
        "bench.load",
        "fault",
        "worker-kill",
        "--seconds",
        "20",
        "--users",
        "12",
        "--tenants",
        "2",
        "--database-url",
        database_url(),
        "--redis-url",
        settings.REDIS_URL,
        "--drain",
        "90",
        "--run-dir",
        str(tmp_path / "run"),
        "--json",
        str(report_path),
    ]
    done = subprocess.run(command, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=230)
    assert report_path.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(report_path.read_text())

    assert report["passed"], report["problems"]
    assert done.returncode == 0
    assert all(not violations for violations in report["invariants"].values())
    # The run did what it claims: orders were placed and paid, events went out, the worker died
    # while a delivery was being sent and every event still reached the receiver once (deduped).
    orders = [report["tenants"][s]["orders"] for s in report["tenants"]]
    assert sum(sum(o.values()) for o in orders) >= 3
    assert any(o.get("completed") or o.get("ready") or o.get("paid") for o in orders)
    assert sum(t["events"] for t in report["tenants"].values()) >= 5
    assert any("worker SIGKILL" in what for _, what in report["events"])
    assert any("worker started" in what for _, what in report["events"][-3:] + report["events"])
    assert report["drained"]
    assert report["errors_by_status"].get("500", 0) == 0
