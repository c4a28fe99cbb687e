"""Provision a tenant: `manage.py tenant_create "Acme Hot Sauce" acme --plan standard ...`."""

import secrets
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.accounts.models import User
from apps.core.audit import system_actor
from apps.core.errors import ApplicationError
from apps.tenants.models import Tenant
from apps.tenants.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant (cloned from the base schema) with its domain and first admin."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", help="Business name, e.g. 'Acme Hot Sauce'")
        parser.add_argument("schema_name", help="Schema, lowercase: e.g. acme")
        parser.add_argument("--domain", help="Hostname (default <schema>.<TENANT_DOMAIN_SUFFIX>)")
        parser.add_argument("--plan", default="free", choices=[c for c, _ in Tenant.Plan.choices])
        parser.add_argument("--currency", default="USD", help="ISO 4217 code")
        parser.add_argument("--timezone", default="UTC", help="IANA time zone")
        parser.add_argument("--admin-email", help="E-mail of the tenant's first admin")
        parser.add_argument("--admin-password", help="Password (generated and printed if omitted)")
        parser.add_argument("--port", default="", help="Port to print in the URLs (e.g. 8000 locally)")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            with system_actor("command:tenant_create"):
                tenant = tenant_create(
                    name=options["name"],
                    schema_name=options["schema_name"],
                    domain=options["domain"],
                    plan=options["plan"],
                    currency=options["currency"],
                    timezone_name=options["timezone"],
                )
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} {exc.details or ''}".strip()) from exc
        domain = tenant.get_primary_domain()
        host = f"{domain}:{options['port']}" if options["port"] else str(domain)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created tenant {tenant.schema_name} at {domain} in {time.monotonic() - started:.2f} s"
            )
        )
        if options["admin_email"]:
            password = options["admin_password"] or secrets.token_urlsafe(12)
            with tenant_context(tenant), system_actor("command:tenant_create"):
                User.objects.create_superuser(options["admin_email"], password)
            self.stdout.write(f"Admin: {options['admin_email']} / {password}  (http://{host}/admin/)")
