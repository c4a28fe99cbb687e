"""Restock alerts reach the locations' managers: one e-mail digest per manager per run, each alert
notified once (also through a real Celery worker, and with two runs racing), a reopened alert
notified again, and one `stock.low` webhook event per alert whatever the number of movements."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context

from apps.catalog.models import Product, Variant
from apps.core.models import OutboxEvent
from apps.core.redis import get_redis
from apps.stock import services
from apps.stock.models import RestockAlert, StockItem
from apps.stock.notifications import BATCH, kick_key, restock_alerts_notify, restock_notify_kick
from apps.stock.tasks import restock_alerts_notify_task
from apps.tenants.models import Tenant
from tests import factories as f
from tests.conftest import TENANT_A, make_staff
from tests.core.test_tasks import worker  # noqa: F401  (the real Celery worker fixture)


class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages: list) -> int:
        raise ConnectionRefusedError("the mail server is down")


def place(name: str):
    location = f.location()
    location.name = name
    location.save(update_fields=["name"])
    return location


def manager_of(tenant, location, email: str):
    user = make_staff(tenant, email, role="Store Manager", full_name=email.split("@")[0].title())
    with tenant_context(tenant):
        location.managers.add(user)
    return user


def low_item(location, *, sku: str, stock: int = 20, reorder_point: int = 15):
    """A stocked variant at `location` with its reorder point set (no alert yet)."""
    variant = f.variant(sku=sku)
    f.receive(location, variant, stock)
    StockItem.objects.filter(variant=variant, location=location).update(reorder_point=reorder_point)
    return variant


def take(location, variant, units: int = 1, times: int = 1) -> None:
    for _ in range(times):
        services.stock_adjust(location=location, variant=variant, reason="lost", quantity=units)


@pytest.fixture
def in_a(tenant_a):
    with tenant_context(tenant_a):
        yield tenant_a


def test_ten_movements_below_the_reorder_point_give_one_alert_one_email_and_one_stock_low_event(in_a):
    store = place("Downtown")
    manager_of(in_a, store, "dana@example.com")
    sauce = low_item(store, sku="LOW-SAUCE")

    take(store, sauce, times=10)  # available 19 .. 10: at 15 the alert opens, then stays open

    assert RestockAlert.objects.filter(closed_at__isnull=True).count() == 1
    assert OutboxEvent.objects.filter(topic="stock.low").count() == 1
    assert restock_alerts_notify() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dana@example.com"]
    assert "LOW-SAUCE" in message.body and "10 available, reorder point 15" in message.body
    assert message.subject == f"[{TENANT_A.name}] Low stock: 1 item at Downtown"
    assert RestockAlert.objects.get().notified_at is not None

    take(store, sauce, times=2)  # more movements of the same open alert
    assert restock_alerts_notify() == 0  # a re-run: nothing new
    assert len(mail.outbox) == 1
    assert OutboxEvent.objects.filter(topic="stock.low").count() == 1


def test_the_email_gives_the_low_since_time_on_the_locations_clock_not_utc(in_a):
    import datetime as dt

    store = place("Uptown")
    store.timezone = "America/New_York"
    store.save(update_fields=["timezone"])
    manager_of(in_a, store, "ny@example.com")
    sauce = low_item(store, sku="LOW-NY")
    take(store, sauce, times=6)
    RestockAlert.objects.update(opened_at=dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC))  # 08:00 in New York

    assert restock_alerts_notify() == 1
    assert "(low since 2026-07-01 08:00 EDT)" in mail.outbox[0].body


def test_the_task_through_apply_notifies_once(in_a):
    store = f.location()
    manager_of(in_a, store, "sam@example.com")
    take(store, low_item(store, sku="APPLY-1"), units=6)

    assert restock_alerts_notify_task.apply().get() == 1
    assert restock_alerts_notify_task.apply().get() == 0
    assert len(mail.outbox) == 1


def test_two_managers_at_two_locations_each_get_only_their_locations_alerts(in_a):
    north, south = place("North"), place("South")
    manager_of(in_a, north, "north@example.com")
    manager_of(in_a, south, "south@example.com")
    for sku in ("N-1", "N-2"):
        take(north, low_item(north, sku=sku), units=6)
    take(south, low_item(south, sku="S-1"), units=6)

    assert restock_alerts_notify() == 3

    sent = {m.to[0]: m for m in mail.outbox}
    assert sorted(sent) == ["north@example.com", "south@example.com"]  # one e-mail each
    assert "N-1" in sent["north@example.com"].body and "N-2" in sent["north@example.com"].body
    assert "S-1" not in sent["north@example.com"].body
    assert "S-1" in sent["south@example.com"].body
    assert "N-1" not in sent["south@example.com"].body and "N-2" not in sent["south@example.com"].body
    assert sent["north@example.com"].subject.endswith("Low stock: 2 items at North")


def test_a_manager_of_two_locations_gets_one_digest_listing_both(in_a):
    east, west = place("East"), place("West")
    manager_of(in_a, east, "both@example.com")
    with tenant_context(in_a):
        west.managers.add(east.managers.get())
    take(east, low_item(east, sku="E-1"), units=6)
    take(west, low_item(west, sku="W-1"), units=6)

    assert restock_alerts_notify() == 2

    assert len(mail.outbox) == 1
    assert "East:" in mail.outbox[0].body and "West:" in mail.outbox[0].body
    assert mail.outbox[0].subject.endswith("Low stock: 2 items at East, West")


def test_an_alert_that_closes_and_reopens_is_a_new_alert_and_is_notified_again(in_a):
    store = f.location()
    manager_of(in_a, store, "again@example.com")
    sauce = low_item(store, sku="REOPEN")
    take(store, sauce, units=6)
    assert restock_alerts_notify() == 1

    f.receive(store, sauce, 10)  # back above the reorder point: the alert closes
    assert not RestockAlert.objects.filter(closed_at__isnull=True).exists()
    assert restock_alerts_notify() == 0
    take(store, sauce, units=10)  # low again: a new alert

    assert RestockAlert.objects.count() == 2
    assert restock_alerts_notify() == 1
    assert len(mail.outbox) == 2
    assert OutboxEvent.objects.filter(topic="stock.low").count() == 2


def test_a_location_without_managers_is_reported_to_the_owners_and_inactive_managers_get_nothing(in_a):
    orphan, managed = place("Orphan"), place("Managed")
    make_staff(in_a, "owner@example.com", role="Owner")
    gone = manager_of(in_a, managed, "gone@example.com")
    with tenant_context(in_a):
        type(gone).objects.filter(pk=gone.pk).update(is_active=False)
    take(orphan, low_item(orphan, sku="ORPHAN"), units=6)
    take(managed, low_item(managed, sku="MANAGED"), units=6)

    assert restock_alerts_notify() == 2

    assert [m.to for m in mail.outbox] == [["owner@example.com"]]
    assert "ORPHAN" in mail.outbox[0].body and "MANAGED" in mail.outbox[0].body


def test_an_alert_nobody_can_receive_waits_for_someone_to_be_assigned(in_a):
    store = f.location()
    take(store, low_item(store, sku="NOBODY"), units=6)

    assert restock_alerts_notify() == 0
    assert RestockAlert.objects.get().notified_at is None

    manager_of(in_a, store, "new@example.com")
    assert restock_alerts_notify() == 1
    assert mail.outbox[0].to == ["new@example.com"]


def test_a_full_batch_of_alerts_nobody_can_receive_does_not_starve_one_that_can_be_sent(in_a, caplog):
    # More undeliverable alerts than one run takes (no managers, no owners), opened first ...
    nobody = place("Nobody")
    count = BATCH + 5
    category = f.variant(sku="STARVE-SEED").product.category
    products = Product.objects.bulk_create(
        Product(name=f"Starve {n}", slug=f"starve-{n}", category=category) for n in range(count)
    )
    variants = Variant.objects.bulk_create(
        Variant(product=product, sku=f"STARVE-{n}", name="250 ml", price="1.00") for n, product in enumerate(products)
    )
    StockItem.objects.bulk_create(
        StockItem(variant=variant, location=nobody, on_hand=20, reorder_point=15) for variant in variants
    )
    outcome = services.stock_levels_sync(
        lines=[services.LevelLine(variant.pk, nobody.pk, 10) for variant in variants], all_or_nothing=True
    )
    assert {result for result, _ in outcome.values()} == {"applied"}
    # ... then one at a managed location.
    managed = place("Managed")
    manager_of(in_a, managed, "heard@example.com")
    take(managed, low_item(managed, sku="HEARD"), units=6)
    assert RestockAlert.objects.filter(closed_at__isnull=True, notified_at__isnull=True).count() == count + 1

    assert restock_alerts_notify() == 1  # one run sends the deliverable alert
    assert f"{count} restock alerts have nobody to notify" in caplog.text

    assert [m.to for m in mail.outbox] == [["heard@example.com"]]
    assert "HEARD" in mail.outbox[0].body and "STARVE-" not in mail.outbox[0].body
    assert RestockAlert.objects.get(stock_item__variant__sku="HEARD").notified_at is not None
    # The undeliverable ones wait for someone to be assigned, each with its one webhook event.
    assert RestockAlert.objects.filter(stock_item__location=nobody, notified_at__isnull=True).count() == count
    low_events = OutboxEvent.objects.filter(topic="stock.low").values_list("payload__sku", flat=True)
    assert sorted(low_events) == sorted(["HEARD", *(v.sku for v in variants)])
    assert restock_alerts_notify() == 0  # nothing more to send, and nothing sent twice
    assert len(mail.outbox) == 1
    assert OutboxEvent.objects.filter(topic="stock.low").count() == count + 1


def test_a_failed_send_rolls_the_claim_back_and_the_next_run_sends_it(in_a):
    store = f.location()
    manager_of(in_a, store, "retry@example.com")
    take(store, low_item(store, sku="RETRY"), units=6)

    failing = override_settings(EMAIL_BACKEND="tests.stock.test_restock_notifications.FailingBackend")
    with failing, pytest.raises(ConnectionRefusedError):
        restock_alerts_notify()
    assert RestockAlert.objects.get().notified_at is None

    assert restock_alerts_notify() == 1
    assert len(mail.outbox) == 1


def test_an_alert_opening_kicks_one_debounced_run_after_the_commit(in_a, django_capture_on_commit_callbacks):
    store = f.location()
    sauce = low_item(store, sku="KICK")
    redis = get_redis(settings.REDIS_URL)

    with django_capture_on_commit_callbacks(execute=True):
        take(store, sauce, units=1)  # still above the reorder point: no alert, no kick
    assert not redis.exists(kick_key(TENANT_A.schema))
    with django_capture_on_commit_callbacks(execute=True):
        take(store, sauce, units=5)  # the alert opens: one run is queued
    assert redis.exists(kick_key(TENANT_A.schema))
    assert restock_notify_kick(schema=TENANT_A.schema) is False  # debounced: already queued

    restock_alerts_notify()  # the run clears the key, so the next alert kicks again
    assert not redis.exists(kick_key(TENANT_A.schema))


@pytest.mark.slow
@override_settings(RESTOCK_NOTIFY_DEBOUNCE_SECONDS=1)
def test_one_notification_per_alert_through_a_real_worker(worker):  # noqa: F811
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        store = place("Worker Store")
        manager_of(tenant, store, "worker@example.com")
        sauce = low_item(store, sku="WORKER-1")

        take(store, sauce, times=10)  # ten committed movements; the alert opens at the fifth

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not RestockAlert.objects.filter(notified_at__isnull=False).exists():
            time.sleep(0.2)
        assert RestockAlert.objects.get().notified_at is not None
        time.sleep(1.5)  # anything else the worker would (wrongly) do, it has done by now
        assert len(mail.outbox) == 1 and mail.outbox[0].to == ["worker@example.com"]
        assert OutboxEvent.objects.filter(topic="stock.low").count() == 1

        assert restock_alerts_notify_task.delay().get(timeout=20) == 0  # the sweep finds nothing new
    assert len(mail.outbox) == 1


@pytest.mark.slow
def test_two_runs_at_once_notify_each_alert_once(committed_db):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        stores = [place(f"Race {n}") for n in range(3)]
        for n, store in enumerate(stores):
            manager_of(tenant, store, f"race{n}@example.com")
            for k in range(4):
                take(store, low_item(store, sku=f"RACE-{n}-{k}"), units=6)
    barrier = threading.Barrier(4)

    def run() -> int:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=30)
        try:
            with tenant_context(tenant):
                return restock_alerts_notify()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(lambda _: run(), range(4)))

    assert sum(counts) == 12, counts
    notified = [sku for m in mail.outbox for sku in m.body.split() if sku.startswith("RACE-")]
    assert sorted(notified) == sorted(f"RACE-{n}-{k}" for n in range(3) for k in range(4))  # each once
    with tenant_context(tenant):
        assert not RestockAlert.objects.filter(notified_at__isnull=True).exists()
