"""Celery: Redis broker, tenant-aware tasks (tenant-schemas-celery), database beat schedule."""

from config.settings.env import env

_redis = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=_redis)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=_redis)
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task is acknowledged after it ran, so a worker that dies mid-task hands it to another.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep our handlers (JSON lines with tenant and request id) in worker and beat.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Restock alerts: the e-mail run is queued this many seconds after the first alert of a burst opens
# (apps.stock.notifications), so many movements give one digest.
RESTOCK_NOTIFY_DEBOUNCE_SECONDS = env.int("RESTOCK_NOTIFY_DEBOUNCE_SECONDS", default=10)

# Periodic jobs, written to django-celery-beat's tables by `manage.py release` (the operators
# can change the schedule in the public admin). Each runs once per active tenant through
# `core.fan_out`, which queues the task in every tenant's schema.
PERIODIC_TENANT_TASKS = {
    "idempotency-keys-purge": {
        "task": "core.idempotency_keys_purge",
        "crontab": {"minute": "17"},
    },
    "stock-reservations-expire": {
        "task": "stock.reservations_expire",
        "crontab": {"minute": "*"},
    },
    "orders-expire-unpaid": {
        "task": "orders.expire_unpaid",
        "crontab": {"minute": "*"},
    },
    "payments-reconcile-creating": {
        "task": "payments.reconcile_creating",
        "crontab": {"minute": "*/10"},
    },
    "webhooks-relay": {
        "task": "integrations.webhooks_relay",
        "crontab": {"minute": "*"},
    },
    "promotions-birthday-coupons": {
        "task": "promotions.birthday_coupons_issue",
        "crontab": {"minute": "5", "hour": "6"},
    },
    "promotions-winback-coupons": {
        "task": "promotions.winback_coupons_issue",
        "crontab": {"minute": "35", "hour": "6"},
    },
    # Hourly: the task acts in each tenant from 03:00 local time, once per local day (run marker).
    "loyalty-nightly": {
        "task": "loyalty.nightly",
        "crontab": {"minute": "7"},
    },
    "stock-reorder-suggestions": {
        "task": "stock.reorder_suggestions",
        "crontab": {"minute": "30", "hour": "4"},
    },
    # Hourly, so each tenant's invoices turn overdue soon after its own midnight (due dates are local days).
    "payments-invoices-overdue": {
        "task": "payments.invoices_mark_overdue",
        "crontab": {"minute": "23"},
    },
    # The sweep behind the on-commit kick: restock alerts not yet e-mailed to their managers.
    "stock-restock-alerts-notify": {
        "task": "stock.restock_alerts_notify",
        "crontab": {"minute": "*/5"},
    },
}
