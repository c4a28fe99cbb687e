"""Writes settings.PERIODIC_TENANT_TASKS into django-celery-beat (public schema).

Each job is one beat entry that runs `core.fan_out(<task>)`, which queues the task once per
active tenant. Operators may change the timing in the admin; a later sync keeps their timing
and only adds missing jobs.
"""

import json

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask


@transaction.atomic
def periodic_tasks_sync() -> int:
    created = 0
    for name, spec in settings.PERIODIC_TENANT_TASKS.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab_spec = {
            "minute": "*",
            "hour": "*",
            "day_of_week": "*",
            "day_of_month": "*",
            "month_of_year": "*",
            **spec["crontab"],
        }
        crontab, _ = CrontabSchedule.objects.get_or_create(timezone="UTC", **crontab_spec)
        PeriodicTask.objects.create(
            name=name,
            task="core.fan_out",
            crontab=crontab,
            args=json.dumps([spec["task"]]),
            description=f"Runs {spec['task']} in every active tenant.",
        )
        created += 1
    return created
