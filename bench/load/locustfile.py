"""The realistic multi-tenant mix, as locust users (run headless by `python -m bench.load`).

Environment: LOAD_FIXTURE (the run's JSON: tenants, tokens, SKUs, Stripe and stream addresses),
LOAD_RESULTS (where this process writes what the invariant checker needs), LOAD_RETRY_UNSAFE=1
(every unsafe request is sent twice with the same Idempotency-Key, and retried on 5xx / no answer),
LOAD_STRIPE_CHAOS=1 (Stripe's webhooks dropped, duplicated and out of order).

Users (each bound to one tenant; requests carry the tenant's Host header):
* Shopper (retail customer): browse and search the catalogue, product detail with its reviews and
  rating summary, price for a quantity, cart quotes, loyalty reads; places pickup and curbside
  orders (some spend points, some take the scarce "hot" variant, a few are cancelled), pays
  through the platform + the Stripe stand-in, and plays Stripe's webhook; announces curbside arrival.
* Staff (store manager): moves paid orders to preparing and ready, completes pickups and hands
  curbside orders over; reads the store's inventory.
* StoreScreen (store manager): keeps the store's curbside stream open on the stream process and
  notes how long an arrival takes to appear there.
* Partner (API key): bulk stock sync of the warehouse counts, stock reads, the changes feed.

Every response body is searched for another tenant's tag (`cross_tenant` failures).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import threading
import time
import uuid
from collections import Counter, defaultdict

import requests
from locust import FastHttpUser, User, between, events, task

FIXTURE = json.loads(open(os.environ["LOAD_FIXTURE"]).read()) if os.environ.get("LOAD_FIXTURE") else {}  # noqa: SIM115
TENANTS = FIXTURE.get("tenants", [])
RETRY_UNSAFE = os.environ.get("LOAD_RETRY_UNSAFE") == "1"
STRIPE_CHAOS = os.environ.get("LOAD_STRIPE_CHAOS") == "1"
TAGS = re.compile("|".join(re.escape(t["tag"]) for t in TENANTS) or "(?!)", re.IGNORECASE)

_lock = threading.Lock()
_next_user: dict[int, itertools.count] = defaultdict(itertools.count)
STATUS: dict[str, Counter] = defaultdict(Counter)  # endpoint -> status -> count
TIMELINE: dict[int, Counter] = defaultdict(Counter)  # unix second -> status -> count (every request)
RESULT = {
    "orders_placed": defaultdict(list),  # schema -> order ids (201)
    "cross_tenant": [],
    "idempotency_mismatch": [],
    "webhooks_dropped": [],  # (schema, signed payload) Stripe still owes
    "webhooks_sent": Counter(),
    "arrivals": {},  # "schema:order" -> when the customer announced it
    "arrival_seen": {},  # "schema:order" -> first seen on a stream
    "stream_events": 0,
    "intents_notified": [],  # intents whose succeeded event Stripe sent (or owes: dropped)
    "stream_opens": 0,
}


def _tenant_for(cls_name: str) -> dict:
    with _lock:
        n = next(_next_user[hash(cls_name) % 1000])
    return TENANTS[n % len(TENANTS)], n // len(TENANTS)


def _sign(payload: bytes) -> str:
    ts = int(time.time())
    digest = hmac.new(FIXTURE["webhook_secret"].encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


class Api:
    """What every user shares: one tenant, its credentials, checked calls."""

    tenant: dict
    auth: dict

    def call(self, method: str, path: str, name: str, *, ok=(200,), body=None, headers=None) -> dict | None:
        unsafe = method in ("POST", "PUT", "PATCH", "DELETE")
        hdrs = {"Host": self.tenant["host"], **self.auth, **(headers or {})}
        if unsafe and "Idempotency-Key" not in hdrs and name != "POST /payments/stripe/webhook":
            hdrs["Idempotency-Key"] = uuid.uuid4().hex
        attempts = 4 if (RETRY_UNSAFE and unsafe) else 1
        for attempt in range(attempts):
            data, status = self._once(method, path, name, ok, body, hdrs)
            if RETRY_UNSAFE and unsafe and status and status < 500:
                # The client lost the answer and sends the same request again, same key.
                again, status2 = self._once(method, path, name + " (retry)", (*ok, 409), body, hdrs)
                if status2 and status2 < 500 and status2 != 409 and status2 != status:
                    RESULT["idempotency_mismatch"].append([name, status, status2])
                elif status2 == status and status in (200, 201) and _ident(again) != _ident(data):
                    RESULT["idempotency_mismatch"].append([name, _ident(data), _ident(again)])
                return data if status in ok else None
            if status and status < 500:
                return data if status in ok else None
            if attempt + 1 < attempts:
                time.sleep(0.5 * (attempt + 1))
        return None

    def _once(self, method, path, name, ok, body, hdrs) -> tuple[dict | None, int]:
        with self.client.request(method, path, name=name, json=body, headers=hdrs, catch_response=True) as resp:
            status = resp.status_code or 0
            STATUS[name][status] += 1
            TIMELINE[int(time.time())][status] += 1
            text = resp.text or ""
            leak = [m for m in TAGS.findall(text) if m.upper() != self.tenant["tag"].upper()]
            if leak:
                RESULT["cross_tenant"].append([name, self.tenant["schema"], sorted(set(leak))[:3]])
                resp.failure(f"cross-tenant data: {sorted(set(leak))[:3]}")
                return None, status
            if status in ok:
                resp.success()
            else:
                code = ""
                with contextlib.suppress(Exception):  # not JSON: keep the status alone
                    code = (resp.json().get("error") or {}).get("code", "")
                resp.failure(f"{status} {code}".strip() if status else f"no answer: {resp.error!r}"[:200])
            try:
                return (resp.json() if text else None), status
            except Exception:
                return None, status


def _ident(data: dict | None) -> object:
    if isinstance(data, dict):
        return data.get("id") or data.get("payment_intent") or data.get("number")
    return None


class Shopper(Api, FastHttpUser):
    weight = 10
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.tenant, n = _tenant_for("Shopper")
        token = self.tenant["customers"][n % len(self.tenant["customers"])]
        self.auth = {"Authorization": f"Bearer {token}"}
        self.rng = random.Random()
        self.curbside: list[int] = []  # my paid curbside orders not announced yet
        self.unpaid: list[tuple[int, bool]] = []  # payment failed (provider down): try again later

    # -- browsing
    @task(12)
    def browse(self) -> None:
        self.call("GET", f"/api/v1/products?page_size=12&page={self.rng.randint(1, 2)}", "GET /products")

    @task(6)
    def search(self) -> None:
        word = self.rng.choice(["smoky", "mango", "garlic", "ghost", "verde", "honey", self.tenant["tag"]])
        self.call("GET", f"/api/v1/products?search={word}", "GET /products?search")

    @task(8)
    def product_detail(self) -> None:
        pid = self.rng.choice(self.tenant["reviewed_product_ids"] + self.tenant["product_ids"][:6])
        self.call("GET", f"/api/v1/products/{pid}", "GET /products/{id}")
        self.call("GET", f"/api/v1/products/{pid}/reviews", "GET /products/{id}/reviews")
        self.call("GET", f"/api/v1/products/{pid}/reviews/summary", "GET /products/{id}/reviews/summary")

    @task(4)
    def price(self) -> None:
        sku = self.rng.choice(self.tenant["skus"])
        self.call(
            "GET", f"/api/v1/variants/{sku}/price?quantity={self.rng.randint(1, 30)}", "GET /variants/{sku}/price"
        )

    @task(5)
    def quote(self) -> None:
        self.call("POST", "/api/v1/cart/quote", "POST /cart/quote", body={"lines": self._lines()})

    @task(3)
    def loyalty(self) -> None:
        self.call("GET", "/api/v1/loyalty/account", "GET /loyalty/account")
        self.call("GET", "/api/v1/loyalty/ledger", "GET /loyalty/ledger")

    # -- ordering
    def _lines(self) -> list[dict]:
        skus = [*self.rng.sample(self.tenant["skus"], 2), self.rng.choice(self.tenant["lot_skus"])]
        if self.rng.random() < 0.3:
            skus.append(self.tenant["hot_sku"])
        return [{"sku": sku, "quantity": self.rng.randint(1, 3)} for sku in skus]

    @task(5)
    def order_and_pay(self) -> None:
        curbside = self.rng.random() < 0.35
        body = {
            "fulfilment": "curbside" if curbside else "pickup",
            "location_id": self.tenant["store_id"],
            "lines": self._lines(),
        }
        if self.rng.random() < 0.2:
            body["redeem_points"] = 100
        order = self.call("POST", "/api/v1/orders", "POST /orders", ok=(201, 409), body=body)
        if not order or "id" not in order:
            return
        RESULT["orders_placed"][self.tenant["schema"]].append(order["id"])
        if self.rng.random() < 0.05:
            self.call("POST", f"/api/v1/orders/{order['id']}/cancel", "POST /orders/{id}/cancel", ok=(200, 409))
            return
        self._pay(order["id"], curbside)

    def _pay(self, order_id: int, curbside: bool) -> None:
        payment = self.call("POST", f"/api/v1/orders/{order_id}/payment", "POST /orders/{id}/payment", ok=(200, 409))
        if payment is None:
            self.unpaid.append((order_id, curbside))
            return
        if not payment.get("payment_intent"):
            return
        intent = self._stripe_confirm(payment["payment_intent"])
        if intent is None:
            self.unpaid.append((order_id, curbside))
            return
        self._stripe_webhooks(intent)
        if curbside:
            self.curbside.append(order_id)

    @task(6)
    def pay_again(self) -> None:
        """A payment that failed (the provider was down) is tried again by the customer."""
        if self.unpaid:
            self._pay(*self.unpaid.pop(0))

    def _stripe(self, method: str, path: str, data: dict | None = None) -> dict | None:
        start = time.perf_counter()
        exc, body, length = None, None, 0
        try:
            resp = requests.request(
                method,
                FIXTURE["stripe_base"] + path,
                data=data,
                headers={"Authorization": f"Bearer {FIXTURE['stripe_key']}"},
                timeout=20,
            )
            length = len(resp.content)
            if resp.status_code != 200:
                exc = RuntimeError(f"stripe {resp.status_code}")
            else:
                body = resp.json()
        except requests.RequestException as e:
            exc = e
        events.request.fire(
            request_type=method,
            name="stripe "
            + (
                "confirm"
                if path.endswith("/confirm")
                else "attach card"
                if path.count("/") == 3
                else path.split("/")[2]
            ),
            response_time=(time.perf_counter() - start) * 1000,
            response_length=length,
            exception=exc,
            context={},
        )
        return body

    def _stripe_confirm(self, intent_id: str) -> dict | None:
        """What the app's Stripe SDK does with the client secret: a card, then confirm."""
        card = self._stripe(
            "POST",
            "/v1/payment_methods",
            {
                "type": "card",
                "card[number]": "4242424242424242",
                "card[exp_month]": "12",
                "card[exp_year]": "2031",
                "card[cvc]": "123",
            },
        )
        if not card or not self._stripe("POST", f"/v1/payment_intents/{intent_id}", {"payment_method": card["id"]}):
            return None
        return self._stripe("POST", f"/v1/payment_intents/{intent_id}/confirm")

    def _stripe_webhooks(self, intent: dict) -> None:
        """Stripe tells the tenant's endpoint; with chaos, as a flaky network would."""
        now = int(time.time())
        succeeded = {
            "id": f"evt_{uuid.uuid4().hex[:20]}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": now,
            "data": {"object": intent},
        }
        plan = [succeeded]
        RESULT["intents_notified"].append(intent["id"])
        if STRIPE_CHAOS:
            r = self.rng.random()
            failed = {
                "id": f"evt_{uuid.uuid4().hex[:20]}",
                "object": "event",
                "type": "payment_intent.payment_failed",
                "created": now - 5,
                "data": {"object": {**intent, "status": "requires_payment_method"}},
            }
            if r < 0.25:  # dropped: Stripe retries later (the harness delivers it after the load)
                RESULT["webhooks_dropped"].append([self.tenant["host"], json.dumps(succeeded)])
                RESULT["webhooks_sent"]["dropped"] += 1
                return
            if r < 0.45:
                plan = [succeeded, succeeded]  # duplicated
            elif r < 0.65:
                plan = [succeeded, failed]  # an earlier failure arrives after the success
            elif r < 0.8:
                plan = [failed, succeeded]  # a failed attempt, then the success
        for event in plan:
            payload = json.dumps(event).encode()
            self._webhook(payload)
            RESULT["webhooks_sent"][event["type"]] += 1

    def _webhook(self, payload: bytes) -> None:
        name = "POST /payments/stripe/webhook"
        hdrs = {"Host": self.tenant["host"], "Stripe-Signature": _sign(payload), "Content-Type": "application/json"}
        for attempt in range(5):  # Stripe retries a webhook that did not answer 2xx
            with self.client.request(
                "POST", "/api/v1/payments/stripe/webhook", name=name, data=payload, headers=hdrs, catch_response=True
            ) as resp:
                STATUS[name][resp.status_code or 0] += 1
                TIMELINE[int(time.time())][resp.status_code or 0] += 1
                if resp.status_code == 200:
                    resp.success()
                    return
                resp.failure(f"{resp.status_code}")
            time.sleep(1 + attempt)
        RESULT["webhooks_dropped"].append([self.tenant["host"], payload.decode()])

    @task(3)
    def arrive(self) -> None:
        if not self.curbside:
            return
        order_id = self.curbside.pop(0)
        key = f"{self.tenant['schema']}:{order_id}"
        RESULT["arrivals"][key] = time.time()
        self.call(
            "POST",
            f"/api/v1/orders/{order_id}/arrival",
            "POST /orders/{id}/arrival",
            ok=(200, 409),
            body={"bay": str(self.rng.randint(1, 9)), "car": "red Mini"},
        )


class Staff(Api, FastHttpUser):
    weight = 1
    fixed_count = len(TENANTS)  # one per tenant
    wait_time = between(1.0, 2.0)

    def on_start(self) -> None:
        self.tenant, _ = _tenant_for("Staff")
        self.auth = {"Authorization": f"Bearer {self.tenant['staff']}"}
        self.rng = random.Random()

    def _orders(self, status: str) -> list[dict]:
        page = self.call(
            "GET",
            f"/api/v1/orders?status={status}&location={self.tenant['store_id']}&page_size=10",
            "GET /orders?status",
        )
        return (page or {}).get("results", [])

    @task(4)
    def move_orders(self) -> None:
        for order in self._orders("paid")[:4]:
            for to in ("preparing", "ready"):
                self.call(
                    "POST",
                    f"/api/v1/orders/{order['id']}/transitions",
                    "POST /orders/{id}/transitions",
                    ok=(200, 409),
                    body={"to": to},
                )
        for order in self._orders("ready")[:4]:
            if order.get("fulfilment") == "curbside":
                if f"{self.tenant['schema']}:{order['id']}" in RESULT["arrivals"]:
                    self.call(
                        "POST", f"/api/v1/orders/{order['id']}/hand-over", "POST /orders/{id}/hand-over", ok=(200, 409)
                    )
            else:
                self.call(
                    "POST",
                    f"/api/v1/orders/{order['id']}/transitions",
                    "POST /orders/{id}/transitions",
                    ok=(200, 409),
                    body={"to": "completed"},
                )

    @task(1)
    def inventory(self) -> None:
        self.call(
            "GET",
            f"/api/v1/locations/{self.tenant['store_id']}/inventory?page_size=50",
            "GET /locations/{id}/inventory",
        )


class StoreScreen(User):
    """The store's curbside screen: a live stream held open on the stream process."""

    fixed_count = len(TENANTS)
    wait_time = between(0.5, 1.0)

    def on_start(self) -> None:
        self.tenant, _ = _tenant_for("StoreScreen")

    @task
    def watch(self) -> None:
        url = f"{FIXTURE['stream_base']}/api/v1/streams/locations/{self.tenant['store_id']}/curbside"
        hdrs = {
            "Host": self.tenant["host"],
            "Authorization": f"Bearer {self.tenant['staff']}",
            "Accept": "text/event-stream",
        }
        start = time.perf_counter()
        exc = None
        status = 0
        try:
            with requests.get(url, headers=hdrs, stream=True, timeout=(5, 20)) as resp:
                status = resp.status_code
                events.request.fire(
                    request_type="SSE",
                    name="stream curbside (open)",
                    response_time=(time.perf_counter() - start) * 1000,
                    response_length=0,
                    exception=None if status == 200 else RuntimeError(str(status)),
                    context={},
                )
                STATUS["stream curbside (open)"][status] += 1
                TIMELINE[int(time.time())][status] += 1
                RESULT["stream_opens"] += 1
                if status != 200:
                    time.sleep(1)
                    return
                deadline = time.monotonic() + 25
                for line in resp.iter_lines(decode_unicode=True):
                    if line and TAGS.search(line) and not re.search(re.escape(self.tenant["tag"]), line, re.I):
                        RESULT["cross_tenant"].append(["stream", self.tenant["schema"], line[:80]])
                    if line and line.startswith("data:"):
                        RESULT["stream_events"] += 1
                        try:
                            data = json.loads(line[5:])
                        except ValueError:
                            continue
                        if data.get("type") == "arrived":
                            key = f"{self.tenant['schema']}:{data.get('order_id')}"
                            RESULT["arrival_seen"].setdefault(key, time.time())
                    if time.monotonic() > deadline:
                        break
        except requests.RequestException as e:
            exc = e
            STATUS["stream curbside (open)"][0] += 1
            TIMELINE[int(time.time())][0] += 1
            events.request.fire(
                request_type="SSE",
                name="stream curbside (open)",
                response_time=(time.perf_counter() - start) * 1000,
                response_length=0,
                exception=exc,
                context={},
            )
            time.sleep(1)


class Partner(Api, FastHttpUser):
    fixed_count = len(TENANTS)
    wait_time = between(2.0, 4.0)

    def on_start(self) -> None:
        self.tenant, _ = _tenant_for("Partner")
        self.auth = {"X-API-Key": self.tenant["partner_key"]}
        self.rng = random.Random()
        self.cursor = ""

    @task(2)
    def bulk_sync(self) -> None:
        lines = [
            {"sku": sku, "location": self.tenant["warehouse_code"], "on_hand": self.rng.randint(100, 900)}
            for sku in self.tenant["sync_skus"]
        ]
        self.call("POST", "/api/v1/sync/stock", "POST /sync/stock", body={"mode": "per_line", "lines": lines})

    @task(2)
    def stock_read(self) -> None:
        sku = self.rng.choice(self.tenant["skus"])
        self.call("GET", f"/api/v1/inventory/{sku}", "GET /inventory/{sku}")

    @task(1)
    def changes(self) -> None:
        page = self.call("GET", f"/api/v1/sync/changes?limit=200&cursor={self.cursor}", "GET /sync/changes")
        if page and page.get("cursor"):
            self.cursor = page["cursor"]


@events.test_stop.add_listener
def _write_results(environment, **_: object) -> None:
    path = os.environ.get("LOAD_RESULTS")
    if not path:
        return
    out = dict(RESULT)
    out["orders_placed"] = dict(RESULT["orders_placed"])
    out["webhooks_sent"] = dict(RESULT["webhooks_sent"])
    out["status"] = {name: {str(k): v for k, v in c.items()} for name, c in STATUS.items()}
    out["timeline"] = {str(s): {str(k): v for k, v in c.items()} for s, c in sorted(TIMELINE.items())}
    with open(path, "w") as fh:
        json.dump(out, fh)
