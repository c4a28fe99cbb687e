"""Celery tasks: each runs in its tenant's schema, through a real worker consuming from Redis."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.core.models import IdempotencyKey
from apps.core.tasks import fan_out, idempotency_keys_purge_task
from config.celery import app
from tests.conftest import TENANT_A, TENANT_B


def make_key(key: str, *, expired: bool) -> None:
    now = timezone.now()
    expires = now - timedelta(minutes=1) if expired else now + timedelta(hours=1)
    IdempotencyKey.objects.create(
        principal="user:1",
        key=key,
        fingerprint="f",
        method="POST",
        path="/api/v1/x",
        state="completed",
        created_at=now,
        locked_until=now,
        expires_at=expires,
    )


def keys_in(schema: str) -> list[str]:
    with schema_context(schema):
        return sorted(IdempotencyKey.objects.values_list("key", flat=True))


@pytest.fixture
def worker(committed_db):
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=20) as running:
        yield running
    connection.set_schema_to_public()


@pytest.mark.slow
def test_the_purge_task_runs_in_the_tenant_schema_it_was_queued_for(worker):
    for schema in (TENANT_A.schema, TENANT_B.schema):
        with schema_context(schema):
            make_key(f"{schema}-old", expired=True)
            make_key(f"{schema}-fresh", expired=False)

    with schema_context(TENANT_A.schema):
        result = idempotency_keys_purge_task.delay()
    assert result.get(timeout=20) == 1

    assert keys_in(TENANT_A.schema) == [f"{TENANT_A.schema}-fresh"]
    # Tenant B was not touched by tenant A's task.
    assert keys_in(TENANT_B.schema) == [f"{TENANT_B.schema}-fresh", f"{TENANT_B.schema}-old"]


@pytest.mark.slow
def test_the_scheduled_fan_out_runs_the_job_in_every_active_tenant(worker):
    for schema in (TENANT_A.schema, TENANT_B.schema):
        with schema_context(schema):
            make_key(f"{schema}-old", expired=True)

    fanned = fan_out.delay("core.idempotency_keys_purge").get(timeout=20)
    assert fanned == 2  # the two test tenants; never the base schema

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (keys_in(TENANT_A.schema) or keys_in(TENANT_B.schema)):
        time.sleep(0.1)
    assert keys_in(TENANT_A.schema) == []
    assert keys_in(TENANT_B.schema) == []


def test_the_purge_task_through_apply_uses_the_current_schema(tenant_a):
    with schema_context(TENANT_A.schema):
        make_key("eager-old", expired=True)
        assert idempotency_keys_purge_task.apply().get() == 1
        assert not IdempotencyKey.objects.exists()


def test_fan_out_skips_suspended_tenants(tenant_a, tenant_b):
    from apps.tenants.selectors import tenant_schemas_active
    from apps.tenants.services import tenant_suspend

    tenant_suspend(tenant=tenant_b)
    assert tenant_schemas_active() == [TENANT_A.schema]
