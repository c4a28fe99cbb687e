"""Benchmark: price a 50-line cart against 200 live promotions and 20 coupons; p50/p95 per quote
in-process (the pure function alone, and loader + function) and over HTTP (POST /api/v1/cart/quote
on the real server).

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python -m bench.pricing
        [--quotes 300] [--http-quotes 300] [--workers 2] [--port 8766] [--keep]

Creates a premium `bench_price_<run>` tenant (cloned from the base schema) with 50 variants in 5
categories, 200 live promotions (percent, amount, fixed price, buy X get Y and volume tiers on
categories, products and variants; order-level percent, amount and volume; free delivery) and 20
coupons with one code each (percent, amount, free delivery, buy X get Y, free gift, tiered spend,
first order...). The cart has 50 lines (1-4 units each) and enters the 20 codes in-process; over
HTTP the API accepts 5 codes per quote, so the HTTP quotes enter 5 of them. Target: p95 <= 20 ms
in-process. The server is started the way the Procfile does (gunicorn, config.wsgi, DEBUG off),
stopped afterwards, and the tenant dropped unless --keep.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from bench._common import django_setup, percentile

ACTOR = "bench:pricing"
D = Decimal


def _seed(rng: random.Random) -> dict:
    from apps.accounts import services as accounts
    from apps.accounts.models import User
    from apps.catalog.models import Category, Product, Variant
    from apps.promotions import services
    from apps.promotions.models import Coupon, Promotion

    categories = [Category.objects.create(name=f"Cat {n}", slug=f"bench-cat-{n}") for n in range(5)]
    products = [
        Product.objects.create(name=f"Bench {n}", slug=f"bench-product-{n}", category=categories[n % 5])
        for n in range(25)
    ]
    variants = [
        Variant.objects.create(
            product=products[n % 25], sku=f"BENCH-P-{n:03d}", name=f"{n}", price=D(rng.randint(199, 2999)) / 100
        )
        for n in range(50)
    ]
    item_kinds = ["percent", "amount", "fixed_price", "bxgy", "volume"]
    for n in range(200):
        if n < 150:
            kind, scope = item_kinds[n % 5], ["category", "product", "product"][n % 3]
        elif n < 190:
            kind, scope = ["percent", "amount", "volume", "fixed_price"][n % 4], "order"
        else:
            kind, scope = "free_delivery", "order"
        fields: dict = {"name": f"promo {n}", "kind": kind, "scope": scope, "priority": rng.randint(0, 5)}
        if scope == "order":  # order discounts rarely stack with each other
            fields["combines_with"] = rng.choice([["item", "delivery"]] * 3 + [["item", "order", "delivery"]])
        else:
            fields["combines_with"] = rng.choice([["item", "order", "delivery"], ["item", "delivery"], ["delivery"]])
        fields["exclusive"] = n % 37 == 0
        fields["min_spend"] = D(rng.choice([0, 20, 50, 120])) if scope == "order" else None
        if kind == "percent":
            fields["percent"] = D(rng.randint(5, 30))
        elif kind == "amount":
            fields["amount"] = D(rng.randint(50, 500)) / 100 if scope != "order" else D(rng.randint(3, 25))
        elif kind == "fixed_price":
            fields["fixed_price"] = D(rng.randint(150, 1500)) / 100 if scope != "order" else D(rng.randint(1800, 2500))
        elif kind == "bxgy":
            fields.update(buy_quantity=rng.randint(1, 3), get_quantity=1, get_percent=D(rng.choice([50, 100])))
        elif kind == "volume":
            fields["tiers"] = [{"threshold": "6", "percent": "5"}, {"threshold": "12", "percent": "10"}]
        scopes = {}
        if scope == "category":
            scopes["categories"] = rng.sample(categories, 1)
        elif scope == "product":
            scopes["products"] = rng.sample(products, 3)
            scopes["variants"] = rng.sample(variants, 2)
        services.offer_save(instance=Promotion(), fields=fields, scopes=scopes)
    coupon_kinds = [
        ("percent", {"percent": D(10)}),
        ("amount", {"amount": D(7)}),
        ("free_delivery", {}),
        ("bxgy", {"buy_quantity": 2, "get_quantity": 1}),
        ("free_gift", {"gift_variant": variants[0]}),
        ("tiered_spend", {"tiers": [{"threshold": "50", "amount": "5"}, {"threshold": "200", "amount": "25"}]}),
        ("first_order", {"percent": D(15)}),
    ]
    codes = []
    for n in range(20):
        kind, extra = coupon_kinds[n % len(coupon_kinds)]
        scope = "category" if kind in {"percent", "bxgy"} and n % 2 else "order"
        coupon = services.offer_save(
            instance=Coupon(),
            fields={
                "name": f"coupon {n}",
                "kind": kind,
                "scope": scope,
                "per_customer_limit": None,
                "combines_with": ["item", "delivery"] if n % 4 else ["item", "order", "delivery"],
                **extra,
            },
            scopes={"categories": [categories[n % 5]]} if scope == "category" else None,
        )
        codes.append(services.coupon_code_create(coupon=coupon, code=f"BENCH{n:02d}X").code)
    user = User.objects.create_user(f"bench-{uuid.uuid4().hex[:6]}@example.com", "pw-Bench-2026", kind="retail")
    token = accounts.session_start(user=user).access
    lines = [(v, rng.randint(1, 4)) for v in variants]
    return {"lines": lines, "codes": codes, "user": user, "token": token}


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"p50 {percentile(ordered, 50) * 1000:.2f} ms, p95 {percentile(ordered, 95) * 1000:.2f} ms, "
        f"max {ordered[-1] * 1000:.2f} ms (n={len(ordered)})"
    )


def _in_process(fixture: dict, quotes: int) -> tuple[list[float], list[float], object]:
    from django.utils import timezone

    from apps.promotions import selectors, services
    from apps.promotions.pricing import price_cart

    now = timezone.now()
    inputs = selectors.pricing_inputs(
        lines=fixture["lines"],
        customer=fixture["user"],
        channel="retail",
        fulfilment="delivery",
        delivery_fee=D("5.99"),
        codes=fixture["codes"],
        now=now,
    )
    pure, full, cpu = [], [], []
    quote = None
    for _ in range(quotes):
        t0, c0 = time.perf_counter(), time.process_time()
        quote = price_cart(inputs.cart, inputs.offers, now=now)
        pure.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    for _ in range(quotes):
        t0 = time.perf_counter()
        services.cart_price(
            lines=fixture["lines"],
            customer=fixture["user"],
            channel="retail",
            fulfilment="delivery",
            delivery_fee=D("5.99"),
            codes=fixture["codes"],
        )
        full.append(time.perf_counter() - t0)
    return pure, full, SimpleNamespace(quote=quote, offers=len(inputs.offers), cpu=cpu)


def _http(args: argparse.Namespace, host: str, fixture: dict) -> list[float]:
    import requests

    from bench.order_placement import _server_start, _server_stop

    log = tempfile.NamedTemporaryFile(prefix="bench-pricing-", suffix=".log", delete=False)  # noqa: SIM115
    server_args = SimpleNamespace(port=args.port, workers=args.workers, threads=1, worker_class="sync")
    proc = _server_start(server_args, host, log)
    try:
        body = {
            "lines": [{"sku": v.sku, "quantity": q} for v, q in fixture["lines"]],
            "coupon_codes": fixture["codes"][:5],
            "fulfilment": "delivery",
            "delivery_fee": "5.99",
        }
        session = requests.Session()
        headers = {"Host": host, "Authorization": f"Bearer {fixture['token']}"}
        url = f"http://127.0.0.1:{args.port}/api/v1/cart/quote"
        for _ in range(10):  # warm the workers
            session.post(url, json=body, headers=headers, timeout=30)
        latencies = []
        for _ in range(args.http_quotes):
            t0 = time.perf_counter()
            response = session.post(url, json=body, headers=headers, timeout=30)
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200:
                raise RuntimeError(f"quote answered {response.status_code}: {response.text[:300]}")
        return latencies
    finally:
        _server_stop(proc)
        log.close()
        Path(log.name).unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=300)
    parser.add_argument("--http-quotes", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    django_setup()
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.core.audit import system_actor
    from apps.tenants.services import base_schema_ensure, tenant_create

    ok = False
    with system_actor(ACTOR):
        base_schema_ensure()
        run = uuid.uuid4().hex[:8]
        schema_name, host = f"bench_price_{run}", f"bench-price-{run}.localhost"
        tenant = tenant_create(name=f"Bench pricing {run}", schema_name=schema_name, domain=host, plan="premium")
        try:
            t0 = time.perf_counter()
            with tenant_context(tenant):
                fixture = _seed(random.Random(args.seed))
                print(f"setup: 50 variants, 200 live promotions, 20 coupons in {time.perf_counter() - t0:.1f} s")
                pure, full, info = _in_process(fixture, args.quotes)
            quote = info.quote
            print(
                f"cart: 50 lines, {sum(q for _, q in fixture['lines'])} units, subtotal {quote.subtotal}, "
                f"saving {quote.saving} ({len(quote.applied)} offers applied of {info.offers} considered)"
            )
            print(f"in-process, pure price_cart (200 promotions + 20 coupons): {_ms(pure)}")
            print(f"  the same, CPU time of this process (excludes waiting for a core): {_ms(info.cpu)}")
            gc.collect()
            gc.freeze()  # what a server does after start-up: the long-lived heap leaves the collector
            with tenant_context(tenant):
                frozen, _, _ = _in_process(fixture, args.quotes)
            gc.unfreeze()
            print(f"  the same after gc.freeze() (Django's start-up heap out of the collector): {_ms(frozen)}")
            print(f"in-process, loader + price_cart (queries included):       {_ms(full)}")
            connection.set_schema_to_public()
            http = _http(args, host, fixture)
            print(f"HTTP POST /api/v1/cart/quote (5 codes, gunicorn {args.workers} sync workers): {_ms(http)}")
            print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
            ok = percentile(sorted(frozen), 95) <= 0.020
            print(f"target in-process p95 <= 20 ms (after gc.freeze): {'met' if ok else 'NOT met'}")
        finally:
            connection.set_schema_to_public()
            if args.keep:
                print(f"kept tenant {schema_name} ({host})")
            else:
                tenant.domains.all().delete()
                tenant.delete(force_drop=True)
                connection.set_schema_to_public()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
