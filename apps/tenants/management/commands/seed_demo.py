"""Seed the demo tenant (idempotent) and print where to find it and how to sign in."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import tenant_context

from apps.accounts.models import User
from apps.core.audit import system_actor
from apps.tenants.models import Tenant
from apps.tenants.services import tenant_create

DEMO_SCHEMA = "demo"
DEMO_ADMIN_EMAIL = "admin@demo.localhost"
DEMO_ADMIN_PASSWORD = "demo-admin-2026"  # local demo data only; printed for the newcomer
OPERATOR_EMAIL = "operator@localhost"
OPERATOR_PASSWORD = "operator-2026"


class Command(BaseCommand):
    help = "Create (once) the demo tenant at demo.<TENANT_DOMAIN_SUFFIX> with demo logins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", default="8000", help="Port printed in the URLs")

    def handle(self, *args: Any, **options: Any) -> None:
        with system_actor("command:seed_demo"):
            tenant = Tenant.objects.filter(schema_name=DEMO_SCHEMA).first()
            if tenant is None:
                tenant = tenant_create(
                    name="Demo Hot Sauce Co.",
                    schema_name=DEMO_SCHEMA,
                    plan=Tenant.Plan.STANDARD,
                    currency="USD",
                    timezone_name="America/New_York",
                )
            if not User.objects.filter(email=OPERATOR_EMAIL).exists():
                User.objects.create_superuser(OPERATOR_EMAIL, OPERATOR_PASSWORD)
            with tenant_context(tenant):
                if not User.objects.filter(email=DEMO_ADMIN_EMAIL).exists():
                    User.objects.create_superuser(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, full_name="Demo Owner")
        port = options["port"]
        domain = tenant.get_primary_domain()
        self.stdout.write(self.style.SUCCESS("Demo tenant ready."))
        self.stdout.write(
            f"  Demo tenant  http://{domain}:{port}/admin/   {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}\n"
            f"  API docs     http://{domain}:{port}/api/v1/docs/\n"
            f"  Operators    http://{settings.PUBLIC_DOMAIN}:{port}/admin/   "
            f"{OPERATOR_EMAIL} / {OPERATOR_PASSWORD}"
        )
