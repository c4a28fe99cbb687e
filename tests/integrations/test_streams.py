"""Live streams over real connections to the `stream` process (gunicorn + uvicorn worker, started
here against the test database): resume with Last-Event-ID, tenant and owner checks, curbside."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import tenant_context

from apps.core.services import events_record
from apps.tenants.models import Tenant
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A, TENANT_B

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The test database (pytest-django's `test_` name), for a server process of our own."""
    d = connection.settings_dict
    name = d["NAME"] if d["NAME"].startswith("test_") else f"test_{d['NAME']}"
    auth = d["USER"] + (f":{d['PASSWORD']}" if d.get("PASSWORD") else "")
    return f"postgres://{auth}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{name}"


@pytest.fixture(scope="module")
def stream_base():
    port = _free_port()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "TEST_REDIS_URL": settings.REDIS_URL,
        "STREAM_HEARTBEAT_SECONDS": "1",
        "STREAM_LIFETIME_SECONDS": "30",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.asgi:application",
        "--worker-class",
        "uvicorn_worker.UvicornWorker",
        "--workers",
        "1",
        "--bind",
        f"127.0.0.1:{port}",
        "--no-control-socket",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/health/live", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the stream process did not start")
    yield base
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


class SSE:
    """A real streaming connection, read event by event."""

    def __init__(self, url: str, host: str, headers: dict, timeout: float = 5) -> None:
        self.response = requests.get(url, headers={"Host": host, **headers}, stream=True, timeout=timeout)
        self.lines = self.response.iter_lines(chunk_size=1, decode_unicode=True)

    def next(self, skip_comments: bool = True) -> dict:
        event: dict = {}
        for line in self.lines:
            if line == "":
                if event:
                    return event
                continue
            if line.startswith(":"):
                if not skip_comments:
                    return {"comment": line}
                continue
            name, _, value = line.partition(": ")
            event[name] = value
        raise EOFError

    def close(self) -> None:
        self.response.close()


def _headers(http_headers: dict) -> dict:
    return {k.removeprefix("HTTP_").replace("_", "-").title(): v for k, v in http_headers.items()}


@pytest.fixture
def tenant(committed_db):
    return Tenant.objects.get(schema_name=TENANT_A.schema)


def _stock_event(tenant, location_id: int, n: int) -> None:
    with tenant_context(tenant), transaction.atomic():
        events_record([("stock.changed", {"variant_id": n, "location_id": location_id, "available": n})])


def test_the_stream_process_is_up_and_leaves_other_paths_to_django(db, stream_base):
    # (First in the module on purpose: a `db` test sets the test database up before the
    # `committed_db` tests below; a session whose first test is a committed_db one fails set-up.)
    assert requests.get(f"{stream_base}/health/live", timeout=5).json()["status"] == "ok"


def test_a_client_resumes_with_last_event_id_and_gets_exactly_what_it_missed(stream_base, tenant):
    with tenant_context(tenant):
        store = f.location(code="north")
    staff = _headers(p.staff_headers(tenant, "owner"))
    url = f"{stream_base}/api/v1/streams/locations/{store.pk}/stock"
    first = SSE(url, TENANT_A.domain, staff)
    assert first.response.status_code == 200
    assert first.response.headers["content-type"] == "text/event-stream"
    assert first.next() == {"retry": "2000"}
    for n in (1, 2):
        _stock_event(tenant, store.pk, n)
    got = [first.next(), first.next()]
    assert [e["event"] for e in got] == ["stock.changed", "stock.changed"]
    assert ['"variant_id": 1' in got[0]["data"], '"variant_id": 2' in got[1]["data"]] == [True, True]
    first.close()

    for n in (3, 4, 5):  # while the client is away
        _stock_event(tenant, store.pk, n)
    _stock_event(tenant, store.pk + 1000, 99)  # another location's: never on this stream
    again = SSE(url, TENANT_A.domain, {**staff, "Last-Event-ID": got[1]["id"]})
    assert again.next() == {"retry": "2000"}
    missed = [again.next() for _ in range(3)]
    assert [f'"variant_id": {n}' in e["data"] for n, e in zip((3, 4, 5), missed, strict=True)] == [True] * 3
    assert [e["id"] for e in missed] == sorted({e["id"] for e in missed}, key=lambda i: tuple(map(int, i.split("-"))))
    _stock_event(tenant, store.pk, 6)  # and live again after the catch-up
    assert '"variant_id": 6' in again.next()["data"]
    assert again.next(skip_comments=False) == {"comment": ": keepalive"}  # heartbeats while idle
    again.close()


def test_another_tenants_token_another_stores_manager_and_no_credentials_are_refused(stream_base, tenant):
    with tenant_context(tenant):
        store = f.location(code="north")
    url = f"{stream_base}/api/v1/streams/locations/{store.pk}/stock"
    other_tenant = requests.get(
        url,
        headers={
            "Host": TENANT_A.domain,
            **_headers(p.staff_headers(Tenant.objects.get(schema_name=TENANT_B.schema), "owner")),
        },
        timeout=5,
    )
    assert other_tenant.status_code == 401 and other_tenant.json()["error"]["code"] == "token_invalid"
    manager = requests.get(
        url, headers={"Host": TENANT_A.domain, **_headers(p.staff_headers(tenant, "store_manager"))}, timeout=5
    )
    assert manager.status_code == 404 and manager.json()["error"]["code"] == "not_found"
    anonymous = requests.get(url, headers={"Host": TENANT_A.domain}, timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    customer = requests.get(url, headers={"Host": TENANT_A.domain, **_headers(p.customer_headers(tenant))}, timeout=5)
    assert customer.status_code == 403
    unknown = requests.get(
        url, headers={"Host": "nobody.test", **_headers(p.staff_headers(tenant, "owner"))}, timeout=5
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "tenant_not_found"


def test_the_order_stream_is_the_owners_only_and_follows_the_status(stream_base, tenant):
    with tenant_context(tenant):
        store = f.location(code="north", pickup_enabled=True)
        f.receive(store, f.variant(sku="SAUCE", price="5.00"), 5)
    owner = p.customer_headers(tenant)
    placed = Client(HTTP_HOST=TENANT_A.domain, **owner).post(
        "/api/v1/orders",
        {"fulfilment": "pickup", "location_id": store.pk, "lines": [{"sku": "SAUCE", "quantity": 1}]},
        content_type="application/json",
    )
    assert placed.status_code == 201, placed.content
    order = placed.json()
    url = f"{stream_base}/api/v1/streams/orders/{order['id']}"
    stranger = requests.get(url, headers={"Host": TENANT_A.domain, **_headers(p.customer_headers(tenant))}, timeout=5)
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "not_found"

    stream = SSE(url, TENANT_A.domain, _headers(owner))
    assert stream.next() == {"retry": "2000"}
    snapshot = stream.next()
    assert snapshot["event"] == "order.status" and '"status": "placed"' in snapshot["data"] and "id" not in snapshot
    staff = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(tenant, "owner"))
    assert (
        staff.post(
            f"/api/v1/orders/{order['id']}/transitions", {"to": "paid"}, content_type="application/json"
        ).status_code
        == 200
    )
    paid = stream.next()
    assert paid["event"] == "order.paid" and order["number"] in paid["data"]
    stream.close()


def test_curbside_arrivals_reach_the_store_stream_on_the_stream_process(stream_base, tenant):
    with tenant_context(tenant):
        store = f.location(code="curb", curbside_enabled=True, pickup_enabled=True)
        f.receive(store, f.variant(sku="SAUCE", price="5.00"), 5)
    customer = Client(HTTP_HOST=TENANT_A.domain, **p.customer_headers(tenant))
    staff_http = p.staff_headers(tenant, "owner")
    staff = Client(HTTP_HOST=TENANT_A.domain, **staff_http)
    order = customer.post(
        "/api/v1/orders",
        {"fulfilment": "curbside", "location_id": store.pk, "lines": [{"sku": "SAUCE", "quantity": 1}]},
        content_type="application/json",
    ).json()
    for to in ("paid", "preparing", "ready"):
        staff.post(f"/api/v1/orders/{order['id']}/transitions", {"to": to}, content_type="application/json")
    # The web process sends the old URL to the stream process.
    moved = staff.get(f"/api/v1/locations/{store.pk}/curbside/stream")
    assert moved.status_code == 307 and moved["Location"].endswith(f"/api/v1/locations/{store.pk}/curbside/stream")

    stream = SSE(f"{stream_base}/api/v1/locations/{store.pk}/curbside/stream", TENANT_A.domain, _headers(staff_http))
    assert stream.next() == {"retry": "2000"}  # nobody waiting yet
    arrived = customer.post(
        f"/api/v1/orders/{order['id']}/arrival", {"bay": "3", "car": "red Mini"}, content_type="application/json"
    )
    assert arrived.status_code == 200
    event = stream.next()
    assert event["event"] == "curbside.arrived" and '"bay": "3"' in event["data"] and "red Mini" in event["data"]
    assert staff.post(f"/api/v1/orders/{order['id']}/hand-over").json()["status"] == "completed"
    assert stream.next()["event"] == "curbside.handed_over"
    stream.close()
    # A new stream starts with who is waiting (nobody now); other stores' managers cannot open it.
    manager = _headers(p.staff_headers(tenant, "store_manager"))
    refused = requests.get(
        f"{stream_base}/api/v1/streams/locations/{store.pk}/curbside",
        headers={"Host": TENANT_A.domain, **manager},
        timeout=5,
    )
    assert refused.status_code == 404
