"""The Celery app: tenant-aware (a task runs in the schema it was queued from).

Defaults for every task: acknowledged late (settings), retried with exponential backoff and
jitter on transient infrastructure errors (database or broker connection trouble).
"""

import contextlib
import os

from celery.signals import beat_init, worker_process_init
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")


class PlatformTask(TenantTask):
    abstract = True
    autoretry_for = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)
    retry_backoff = True
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = 5


app = CeleryApp("fnb", task_cls=PlatformTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _setup_worker_observability(**kwargs: object) -> None:
    from config.observability import setup_observability

    setup_observability(component="worker")


def _setup_beat_observability(**kwargs: object) -> None:
    from config.observability import setup_observability

    setup_observability(component="beat")


# Only in worker and beat processes (a web process that queues a task must not re-run them).
worker_process_init.connect(_setup_worker_observability, weak=False)
beat_init.connect(_setup_beat_observability, weak=False)


_actor_tokens: dict[str, object] = {}


@app.on_after_configure.connect
def _connect_signals(sender: CeleryApp, **kwargs: object) -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_actor_start, weak=False, dispatch_uid="fnb.task_actor_start")
    task_postrun.connect(_task_actor_end, weak=False, dispatch_uid="fnb.task_actor_end")


def _task_actor_start(task_id: str, task: object, **kwargs: object) -> None:
    """Changes made by a task are attributed to the system, named after the task."""
    from apps.core.context import Actor, actor_var

    _actor_tokens[task_id] = actor_var.set(Actor(kind="system", label=f"task:{task.name}"))


def _task_actor_end(task_id: str, **kwargs: object) -> None:
    from apps.core.context import actor_var

    token = _actor_tokens.pop(task_id, None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context (eager tasks in a request)
            actor_var.reset(token)
