"""Everything a deploy runs before new code serves traffic (Procfile `release`).

1. migrate the shared (public) schema;
2. make sure the base schema exists (migrated from scratch the first time, ~30 s);
3. migrate every tenant schema, the base schema included, so new tenants clone an up-to-date
   schema;
4. write the periodic jobs to django-celery-beat's tables.
Idempotent: running it twice does nothing the second time.
"""

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.core.audit import system_actor
from apps.core.schedules import periodic_tasks_sync
from apps.tenants.services import base_schema_ensure


class Command(BaseCommand):
    help = "Migrate the public schema, the base schema and every tenant; sync periodic jobs."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--executor",
            default="standard",
            choices=["standard", "multiprocessing"],
            help="django-tenants migration executor (multiprocessing for many tenants).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        with system_actor("command:release"):
            started = time.monotonic()
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
            self.stdout.write(f"Shared schema migrated ({time.monotonic() - started:.1f} s)")

            started = time.monotonic()
            base_schema_ensure()
            self.stdout.write(f"Base schema ready ({time.monotonic() - started:.1f} s)")

            started = time.monotonic()
            call_command(
                "migrate_schemas",
                tenant=True,
                interactive=False,
                verbosity=verbosity,
                executor=options["executor"],
            )
            self.stdout.write(f"Tenant schemas migrated ({time.monotonic() - started:.1f} s)")

            created = periodic_tasks_sync()
            self.stdout.write(f"Periodic jobs synced ({created} new)")
        self.stdout.write(self.style.SUCCESS("Release steps done."))
