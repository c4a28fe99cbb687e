"""Concurrent reservations against PostgreSQL from real threads: never oversold, never deadlocked."""

import contextlib
import datetime as dt
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from apps.stock import services
from apps.stock.errors import InsufficientStock
from apps.stock.models import LotStock, Reservation, StockItem
from apps.tenants.models import Tenant
from tests import factories as f
from tests.conftest import TENANT_A

TTL = dt.timedelta(minutes=5)


def _run(jobs, workers):
    barrier = threading.Barrier(workers)

    def start(job):
        try:
            return job()
        finally:
            connection.close()

    def gate(job):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=30)
        return start(job)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(gate if i < workers else start, job) for i, job in enumerate(jobs)]
        return [future.result(timeout=120) for future in futures]


@pytest.mark.slow
def test_200_concurrent_reservations_of_the_last_50_units_give_exactly_50(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        loc, var = f.location(), f.variant(tracks_lots=True)
        f.receive(loc, var, 30, batch="A", expires_in_days=30)
        f.receive(loc, var, 20, batch="B", expires_in_days=60)

    def reserve_one():
        with tenant_context(tenant):
            try:
                services.reservation_create(reference="race", lines=[services.ReserveLine(var, loc, 1)], ttl=TTL)
                return "ok"
            except InsufficientStock:
                return "short"

    # 200 attempts from 40 threads (each thread its own PostgreSQL connection; the server allows 100).
    outcomes = _run([reserve_one] * 200, workers=40)
    assert outcomes.count("ok") == 50 and outcomes.count("short") == 150
    with tenant_context(tenant):
        row = StockItem.objects.get(variant=var, location=loc)
        assert (row.on_hand, row.reserved) == (50, 50)
        assert sorted(LotStock.objects.values_list("reserved", "on_hand")) == [(20, 20), (30, 30)]
        assert Reservation.objects.count() == 50


@pytest.mark.slow
def test_multi_line_reservations_in_opposite_orders_never_deadlock(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        loc = f.location()
        variants = [f.variant() for _ in range(4)]
        for var in variants:
            f.receive(loc, var, 100)

    def reserve_random():
        lines = random.sample(variants, k=3)
        with tenant_context(tenant):
            services.reservation_create(
                reference="multi", lines=[services.ReserveLine(v, loc, 1) for v in lines], ttl=TTL
            )
        return "ok"

    outcomes = _run([reserve_random] * 90, workers=30)
    assert outcomes == ["ok"] * 90
    with tenant_context(tenant):
        assert sum(StockItem.objects.values_list("reserved", flat=True)) == 270
