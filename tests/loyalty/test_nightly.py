"""The nightly recalculation: due from 03:00 in each tenant's timezone, once per local day, the
same result when run twice, resumable after a crash, and through a real Celery worker."""

import datetime as dt
import time
import zoneinfo

import pytest
from celery.contrib.testing.worker import start_worker
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from apps.core.tasks import fan_out
from apps.loyalty import services
from apps.loyalty.models import Account, LedgerEntry, NightlyRun
from apps.tenants.models import Tenant
from config.celery import app
from tests.conftest import TENANT_A, TENANT_B
from tests.loyalty.conftest import account, assert_invariant, customer, paid_order

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def _scenario(now):
    """Pending points to approve, a batch to expire, a tier at its anniversary."""
    ready = customer()
    paid_order(ready, "1200.00", paid_at=now - dt.timedelta(days=31))
    old = account()
    services._insert_entry(account_id=old.pk, kind="bonus", points=80, t=now - relativedelta(months=13), expires=True)
    Account.objects.filter(pk=old.pk).update(balance=80)
    gold = account()
    Account.objects.filter(pk=gold.pk).update(tier="gold", tier_hold_until=now - dt.timedelta(hours=1))
    return Account.objects.get(user=ready), old, gold


def _snapshot():
    return sorted(Account.objects.values_list("id", "balance", "pending", "debt", "tier", "tier_hold_until")), sorted(
        LedgerEntry.objects.values_list("account_id", "kind", "state", "points")
    )


def test_it_runs_from_03_00_local_time_only(programme):
    before = dt.datetime(2026, 3, 2, 2, 59, tzinfo=CHICAGO)
    assert services.loyalty_nightly(now=before.astimezone(dt.UTC)) is None
    assert not NightlyRun.objects.exists()
    at_three = dt.datetime(2026, 3, 2, 3, 0, tzinfo=CHICAGO)  # 09:00 UTC
    run = services.loyalty_nightly(now=at_three.astimezone(dt.UTC))
    assert run.run_date == dt.date(2026, 3, 2) and run.finished_at is not None
    assert [name for name, _ in services.NIGHTLY_STEPS] == run.steps_done
    # The next hourly tick the same local day does nothing.
    assert services.loyalty_nightly(now=(at_three + dt.timedelta(hours=1)).astimezone(dt.UTC)) is None


def test_running_it_twice_gives_the_same_result(programme):
    now = timezone.now()
    ready, old, gold = _scenario(now)
    services.loyalty_nightly(now=now, force=True)
    first = _snapshot()
    ready.refresh_from_db(), old.refresh_from_db(), gold.refresh_from_db()
    assert (ready.balance, ready.pending, ready.tier) == (1200 + 100, 0, "silver")  # + tier_reached silver
    assert old.balance == 0 and gold.tier == "silver"
    # Run the steps again (as a second run on the same clock would) and via the gate.
    for _, step in services.NIGHTLY_STEPS:
        step(NightlyRun.objects.get().as_of)
    services.loyalty_nightly(now=now, force=True)
    assert _snapshot() == first
    for acc in (ready, old, gold):
        assert_invariant(acc)


def test_a_run_that_crashed_resumes_with_the_steps_not_done_and_the_same_clock(programme, monkeypatch):
    # A fixed local midday: the resume an hour later is the same local day whatever the wall clock
    # (on the real clock, a run at 23:35 Chicago resumed at 00:35 is the next day's run).
    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=CHICAGO).astimezone(dt.UTC)
    ready, old, _ = _scenario(now)
    calls = []

    def boom(t):
        calls.append(t)
        raise RuntimeError("worker lost")

    steps = list(services.NIGHTLY_STEPS)
    monkeypatch.setattr(services, "NIGHTLY_STEPS", [steps[0], ("expire", boom), *steps[2:]])
    with pytest.raises(RuntimeError):
        services.loyalty_nightly(now=now, force=True)
    run = NightlyRun.objects.get()
    assert run.steps_done == ["approve"] and run.finished_at is None
    monkeypatch.setattr(services, "NIGHTLY_STEPS", steps)
    resumed = services.loyalty_nightly(now=now + dt.timedelta(hours=1), force=True)
    assert resumed.finished_at is not None and resumed.as_of == run.as_of
    assert resumed.steps_done[0] == "approve" and set(resumed.steps_done) == {n for n, _ in steps}
    ready.refresh_from_db(), old.refresh_from_db()
    assert (ready.balance, old.balance) == (1200 + 100, 0)
    assert LedgerEntry.objects.filter(account=ready, kind="earned", state="posted").count() == 1


@pytest.fixture
def worker(committed_db):
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=20) as running:
        yield running
    connection.set_schema_to_public()


@pytest.mark.slow
def test_the_hourly_fan_out_runs_the_nightly_job_through_a_real_worker_and_a_repeat_changes_nothing(worker):
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        now = timezone.now()
        ready, _old, _gold = _scenario(now)
        services.programme()
        # Whatever the hour in Chicago, make the job due now.
        from apps.loyalty.models import ProgrammeSettings

        ProgrammeSettings.objects.filter(pk=1).update(nightly_hour=0)
    with schema_context(TENANT_B.schema):
        from apps.loyalty.models import ProgrammeSettings

        ProgrammeSettings.objects.get_or_create(pk=1)
        ProgrammeSettings.objects.filter(pk=1).update(nightly_hour=23)

    assert fan_out.delay("loyalty.nightly").get(timeout=30) == 2
    deadline = time.monotonic() + 60
    finished = None
    while time.monotonic() < deadline and finished is None:
        with tenant_context(tenant):
            finished = NightlyRun.objects.filter(finished_at__isnull=False).first()
        time.sleep(0.2)
    assert finished is not None
    with tenant_context(tenant):
        first = _snapshot()
        ready.refresh_from_db()
        # Approved and upgraded (the customer's achievements were evaluated on commit by the worker too).
        assert (ready.pending, ready.tier) == (0, "silver") and ready.balance >= 1200 + 100
        assert LedgerEntry.objects.get(account=ready, kind="earned").state == "posted"

    # A repeat (the next hourly tick, or a redelivered message) changes nothing.
    with schema_context(TENANT_A.schema):
        from apps.loyalty.tasks import loyalty_nightly_task

        assert loyalty_nightly_task.delay().get(timeout=30) is None
    with tenant_context(tenant):
        assert _snapshot() == first
        assert NightlyRun.objects.count() == 1
    # Tenant B: 23:00 local has not come (unless it is 23:xx in Paris right now).
    with schema_context(TENANT_B.schema):
        local_hour = timezone.now().astimezone(zoneinfo.ZoneInfo("Europe/Paris")).hour
        assert NightlyRun.objects.exists() == (local_hour >= 23)
