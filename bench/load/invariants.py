"""The invariants checked after every run, over every tenant schema of the run, the receiver's
records and the Stripe stand-in's state. Each check returns a list of violations (empty: holds).

* no_oversell            no stock or lot row negative or reserved beyond on hand
* ledger_equals_stock    every stock row and lot row equals the sum of its movements; lots add up
* reserved_equals_orders units reserved at the store == units on the orders still holding stock
* one_intent_per_order   at Stripe at most one PaymentIntent per order, and it is the Payment row's
* paid_once              no order has two succeeded intents; every paid order's intent succeeded;
                         every succeeded intent's order is paid (or moved on) — no payment lost
* points_equal_ledger    balance / pending / debt of every loyalty account == its ledger
* outbox_once            every outbox event published; each subscribed one has exactly one
                         delivery, succeeded, and the receiver accepted exactly those ids (deduped)
* orders_match_201s      orders in the database == the 201s the clients saw (none doubled by a
                         retry; an order committed without its 201 reaching the client is listed)
* no_cross_tenant        no response carried another tenant's tag; no delivery went to another
                         tenant's receiver
* idempotent_replays     a request repeated with the same Idempotency-Key answered the same
"""

from __future__ import annotations

from collections import Counter, defaultdict

HELD = ("placed", "on_hold", "confirmed", "paid", "preparing", "ready")
PAID_OR_LATER = ("paid", "preparing", "ready", "out_for_delivery", "shipped", "completed", "refunded")
SUBSCRIBED_FAMILIES = ("order.", "payment.", "curbside.")


def stripe_intents(stripe_base: str, api_key: str) -> list[dict]:
    import requests

    out, after = [], None
    while True:
        params = {"limit": 100, **({"starting_after": after} if after else {})}
        resp = requests.get(
            f"{stripe_base}/v1/payment_intents",
            params=params,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=60,
        )
        resp.raise_for_status()
        page = resp.json()
        out.extend(page["data"])
        if not page.get("has_more") or not page["data"]:
            return out
        after = page["data"][-1]["id"]


def check_tenant(schema: str, *, intents: list[dict], accepted: dict[str, float], placed_201: list[int]) -> dict:
    from django.db import connection
    from django.db.models import F, Q, Sum
    from django_tenants.utils import schema_context

    from apps.core.models import OutboxEvent
    from apps.integrations.models import WebhookDelivery
    from apps.integrations.services import message_id
    from apps.loyalty.models import Account, LedgerEntry
    from apps.orders.models import Order, OrderLine
    from apps.payments.models import Payment
    from apps.stock.models import Location, LotStock, Movement, StockItem

    v: dict[str, list[str]] = defaultdict(list)
    info: dict[str, object] = {}
    with schema_context(schema):
        # -- stock
        broken = Q(on_hand__lt=0) | Q(reserved__lt=0) | Q(reserved__gt=F("on_hand"))
        for row in StockItem.objects.filter(broken).values("variant__sku", "location__code", "on_hand", "reserved"):
            v["no_oversell"].append(f"stock row {row}")
        for row in LotStock.objects.filter(broken).values("lot__batch_number", "on_hand", "reserved"):
            v["no_oversell"].append(f"lot row {row}")
        sums = {
            (r["variant_id"], r["location_id"]): (r["oh"], r["rs"])
            for r in Movement.objects.values("variant_id", "location_id").annotate(
                oh=Sum("on_hand_delta"), rs=Sum("reserved_delta")
            )
        }
        for item in StockItem.objects.all():
            ledger = sums.get((item.variant_id, item.location_id), (0, 0))
            if ledger != (item.on_hand, item.reserved):
                v["ledger_equals_stock"].append(
                    f"stock {item.variant_id}@{item.location_id}: ledger {ledger} "
                    f"!= row ({item.on_hand}, {item.reserved})"
                )
        lot_sums = {
            (r["lot_id"], r["location_id"]): (r["oh"], r["rs"])
            for r in Movement.objects.filter(lot__isnull=False)
            .values("lot_id", "location_id")
            .annotate(oh=Sum("on_hand_delta"), rs=Sum("reserved_delta"))
        }
        per_item: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
        for ls in LotStock.objects.select_related("lot"):
            if lot_sums.get((ls.lot_id, ls.location_id), (0, 0)) != (ls.on_hand, ls.reserved):
                v["ledger_equals_stock"].append(f"lot {ls.lot.batch_number}: ledger != row")
            acc = per_item[(ls.lot.variant_id, ls.location_id)]
            acc[0] += ls.on_hand
            acc[1] += ls.reserved
        for item in StockItem.objects.filter(variant__tracks_lots=True):
            if tuple(per_item.get((item.variant_id, item.location_id), (0, 0))) != (item.on_hand, item.reserved):
                v["ledger_equals_stock"].append(f"lots of {item.variant_id}@{item.location_id} != its stock row")
        store = Location.objects.get(code="store")
        held = dict(
            OrderLine.objects.filter(order__status__in=HELD, order__location=store)
            .values("variant_id")
            .annotate(n=Sum("quantity"))
            .values_list("variant_id", "n")
        )
        for item in StockItem.objects.filter(location=store):
            on_orders = held.get(item.variant_id, 0)
            if item.reserved != on_orders:
                v["reserved_equals_orders"].append(
                    f"variant {item.variant_id}: {item.reserved} reserved, {on_orders} on held orders"
                )

        # -- payments against Stripe's state
        mine = [i for i in intents if (i.get("metadata") or {}).get("tenant") == schema]
        by_order: dict[str, list[dict]] = defaultdict(list)
        for intent in mine:
            by_order[intent["metadata"].get("order_number", "")].append(intent)
        orders = {o.number: o for o in Order.objects.all()}
        payments = {p.order_id: p for p in Payment.objects.all()}
        for number, its in by_order.items():
            if len(its) > 1:
                v["one_intent_per_order"].append(f"order {number}: {len(its)} PaymentIntents")
            succeeded = [i for i in its if i["status"] == "succeeded"]
            if len(succeeded) > 1:
                v["paid_once"].append(f"order {number}: charged {len(succeeded)} times")
            order = orders.get(number)
            if order is None:
                v["one_intent_per_order"].append(f"intent for unknown order {number}")
                continue
            payment = payments.get(order.pk)
            if payment is None or payment.payment_intent_id not in {i["id"] for i in its}:
                v["one_intent_per_order"].append(f"order {number}: Payment row does not hold the intent")
            if succeeded and (payment is None or payment.status != "succeeded" or order.status not in PAID_OR_LATER):
                v["paid_once"].append(
                    f"order {number}: charged at Stripe but {order.status} / payment {payment and payment.status}"
                )
        for order in orders.values():
            if order.status in PAID_OR_LATER:
                payment = payments.get(order.pk)
                stripe_ok = [i for i in by_order.get(order.number, []) if i["status"] == "succeeded"]
                if payment is None or payment.status != "succeeded" or len(stripe_ok) != 1:
                    v["paid_once"].append(f"order {order.number} is {order.status} without one succeeded charge")
        info["orders"] = dict(Counter(o.status for o in orders.values()))
        info["intents"] = len(mine)

        # -- loyalty
        ledger = {
            r["account_id"]: r
            for r in LedgerEntry.objects.values("account_id").annotate(
                posted=Sum("points", filter=Q(state="posted")),
                pending=Sum("points", filter=Q(state="pending")),
                debt=Sum("debt_change"),
            )
        }
        for account in Account.objects.all():
            row = ledger.get(account.pk, {})
            want = (row.get("posted") or 0, row.get("pending") or 0, row.get("debt") or 0)
            if (account.balance, account.pending, account.debt) != want or account.balance < 0:
                v["points_equal_ledger"].append(
                    f"account {account.pk}: ({account.balance}, {account.pending}, {account.debt}) != ledger {want}"
                )
        info["accounts"] = Account.objects.count()

        # -- outbox -> deliveries -> receiver
        unpublished = OutboxEvent.objects.filter(published_at__isnull=True).count()
        if unpublished:
            v["outbox_once"].append(f"{unpublished} outbox events never relayed")
        subscribed = {
            pk for pk, topic in OutboxEvent.objects.values_list("pk", "topic") if topic.startswith(SUBSCRIBED_FAMILIES)
        }
        deliveries = Counter()
        not_succeeded = Counter()
        for event_id, status in WebhookDelivery.objects.values_list("event_id", "status"):
            deliveries[event_id] += 1
            if status != "succeeded":
                not_succeeded[status] += 1
        missing = subscribed - set(deliveries)
        doubled = [e for e, n in deliveries.items() if n > 1]
        if missing:
            v["outbox_once"].append(f"{len(missing)} subscribed events without a delivery")
        if doubled:
            v["outbox_once"].append(f"{len(doubled)} events with two deliveries to one endpoint")
        if not_succeeded:
            v["outbox_once"].append(f"deliveries not succeeded: {dict(not_succeeded)}")
        want_ids = {message_id(schema, pk) for pk in subscribed}
        got_ids = set(accepted)
        if want_ids - got_ids:
            v["outbox_once"].append(f"{len(want_ids - got_ids)} events never accepted by the receiver")
        foreign = {i for i in got_ids if not i.startswith(f"evt_{schema}_")}
        if foreign:
            v["no_cross_tenant"].append(f"{len(foreign)} deliveries of another tenant at this tenant's receiver")
        if got_ids - want_ids - foreign:
            v["outbox_once"].append(f"{len(got_ids - want_ids - foreign)} ids at the receiver that are no event")
        info["events"] = len(subscribed)

        # -- orders vs the clients' 201s
        in_db = set(Order.objects.values_list("pk", flat=True))
        seen = Counter(placed_201)
        twice = [pk for pk, n in seen.items() if n > 1]
        if twice:
            v["orders_match_201s"].append(f"{len(twice)} order ids answered 201 to two different requests")
        if set(seen) - in_db:
            v["orders_match_201s"].append(f"{len(set(seen) - in_db)} orders answered 201 but not in the database")
        info["orders_without_201"] = len(in_db - set(seen))
        for order in Order.objects.filter(lines__isnull=True):
            v["orders_match_201s"].append(f"order {order.number} has no lines (half-applied)")
    connection.set_schema_to_public()
    return {"violations": {k: vs for k, vs in v.items() if vs}, "info": info}


CHECKS = (
    "no_oversell",
    "ledger_equals_stock",
    "reserved_equals_orders",
    "one_intent_per_order",
    "paid_once",
    "points_equal_ledger",
    "outbox_once",
    "orders_match_201s",
    "no_cross_tenant",
    "idempotent_replays",
)


def check_all(*, schemas: list[str], stripe_base: str, api_key: str, receiver: dict, results: dict) -> dict:
    intents = stripe_intents(stripe_base, api_key)
    per_tenant = {}
    for schema in schemas:
        per_tenant[schema] = check_tenant(
            schema,
            intents=intents,
            accepted=receiver["accepted"].get(f"/{schema}/0", {}),
            placed_201=results.get("orders_placed", {}).get(schema, []),
        )
    combined: dict[str, list[str]] = {name: [] for name in CHECKS}
    for schema, res in per_tenant.items():
        for name, vs in res["violations"].items():
            combined[name].extend(f"{schema}: {x}" for x in vs)
    combined["no_cross_tenant"].extend(f"response: {x}" for x in results.get("cross_tenant", []))
    combined["idempotent_replays"].extend(str(x) for x in results.get("idempotency_mismatch", []))
    if receiver.get("bad_signatures"):
        combined["outbox_once"].append(f"{receiver['bad_signatures']} deliveries with a bad signature")
    return {"checks": combined, "tenants": {s: r["info"] for s, r in per_tenant.items()}, "intents": len(intents)}
