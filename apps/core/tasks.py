"""Celery tasks of the core app, and the per-tenant fan-out used by every periodic job."""

import logging

from celery import shared_task
from django.db import connection

from apps.core.services import idempotency_keys_purge

logger = logging.getLogger(__name__)


@shared_task(name="core.fan_out")
def fan_out(task_name: str) -> int:
    """Queue `task_name` once in every active tenant's schema. Scheduled by beat."""
    from apps.tenants.selectors import tenant_schemas_active
    from config.celery import app

    schemas = tenant_schemas_active()
    for schema_name in schemas:
        app.send_task(task_name, headers={"_schema_name": schema_name})
    logger.info("Fanned out %s to %d tenants", task_name, len(schemas))
    return len(schemas)


@shared_task(name="core.idempotency_keys_purge")
def idempotency_keys_purge_task() -> int:
    deleted = idempotency_keys_purge()
    logger.info("Purged %d expired idempotency keys in %s", deleted, connection.schema_name)
    return deleted
