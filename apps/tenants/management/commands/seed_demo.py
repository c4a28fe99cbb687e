"""Seed the demo tenant (idempotent) and print where to find it and how to sign in.

Local demo data only: the passwords below are printed for the newcomer and are not secrets.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import User, UserKind, WholesaleAccount
from apps.core.audit import system_actor
from apps.tenants.models import Tenant
from apps.tenants.services import tenant_create

DEMO_SCHEMA = "demo"
DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD = "admin@demo.localhost", "demo-admin-2026"
STAFF_USERS = [  # (email, password, role group)
    ("manager@demo.localhost", "demo-manager-2026", "Store Manager"),
    ("warehouse@demo.localhost", "demo-warehouse-2026", "Warehouse Staff"),
]
RETAIL_EMAIL, RETAIL_PASSWORD = "retail@demo.localhost", "demo-retail-2026"
WHOLESALE_EMAIL, WHOLESALE_PASSWORD = "buyer@demo.localhost", "demo-buyer-2026"
OPERATOR_EMAIL, OPERATOR_PASSWORD = "operator@localhost", "operator-2026"


class Command(BaseCommand):
    help = "Create (once) the demo tenant at demo.<TENANT_DOMAIN_SUFFIX> with one user of each kind."

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
            # The demo data in one transaction: a step that fails leaves nothing half-seeded (each
            # step skips itself when its data exists, so a half-seeded demo would stay that way).
            with tenant_context(tenant), transaction.atomic():
                self._seed_users()
                from apps.stock.demo import seed_catalog_and_stock

                if seed_catalog_and_stock():
                    from apps.stock.models import Location

                    manager = User.objects.get(email=STAFF_USERS[0][0])
                    Location.objects.get(code="north").managers.add(manager)
                    self.stdout.write("Seeded the demo catalog, two stores, a warehouse, lots and stock.")
                from apps.orders.demo import seed_orders

                if count := seed_orders(retail_email=RETAIL_EMAIL, wholesale_email=WHOLESALE_EMAIL):
                    self.stdout.write(f"Seeded {count} demo orders, one in every status.")
                from apps.reviews.demo import seed_reviews

                if count := seed_reviews(retail_email=RETAIL_EMAIL, owner_email=DEMO_ADMIN_EMAIL):
                    self.stdout.write(
                        f"Seeded {count} demo reviews (published, held, rejected, reported, replied, with a photo)."
                    )
                from apps.promotions.demo import seed_promotions

                if count := seed_promotions(retail_email=RETAIL_EMAIL, wholesale_email=WHOLESALE_EMAIL):
                    self.stdout.write(
                        f"Seeded {count} promotions and coupons of every type (codes WELCOME15, FIVEOFF, SHIPFREE, "
                        "B1G1, TOTEBAG, SPEND, FIRST20, SUMMER...) and demo orders that used them."
                    )
                from apps.loyalty.demo import seed_loyalty

                if count := seed_loyalty():
                    self.stdout.write(
                        f"Seeded {count} loyalty members (diamond@, gold@, silver@, scoops@demo.localhost / "
                        "demo-retail-2026): every tier, a streak with its grace used, achievements, a referral chain."
                    )
                from apps.dashboards.demo import seed_dashboards

                if seed_dashboards():
                    self.stdout.write("Seeded the store dashboard's curbside arrival and reorder suggestions.")
        port = options["port"]
        base = f"http://{tenant.get_primary_domain()}:{port}"
        lines = [
            "Demo tenant ready.",
            f"  Admin        {base}/admin/",
            f"  API docs     {base}/api/v1/docs/",
            f"  Dashboard    {base}/dashboard/  (store manager: {STAFF_USERS[0][0]})",
            f"    owner      {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}",
            *[f"    staff      {email} / {password}  ({role})" for email, password, role in STAFF_USERS],
            f"    retail     {RETAIL_EMAIL} / {RETAIL_PASSWORD}  (API: POST /api/v1/auth/sign-in)",
            f"    wholesale  {WHOLESALE_EMAIL} / {WHOLESALE_PASSWORD}  (buyer of an approved account)",
            "    guest      POST /api/v1/auth/guest with any device_id (no credentials)",
            f"  Operators    http://{settings.PUBLIC_DOMAIN}:{port}/admin/  {OPERATOR_EMAIL} / {OPERATOR_PASSWORD}",
        ]
        self.stdout.write(self.style.SUCCESS(lines[0]))
        self.stdout.write("\n".join(lines[1:]))

    def _seed_users(self) -> None:
        if not User.objects.filter(email=DEMO_ADMIN_EMAIL).exists():
            owner = User.objects.create_superuser(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, full_name="Demo Owner")
            owner.groups.add(Group.objects.get(name="Owner"))
        for email, password, role in STAFF_USERS:
            if not User.objects.filter(email=email).exists():
                user = User.objects.create_user(email, password, is_staff=True, full_name=role)
                user.groups.add(Group.objects.get(name=role))
        if not User.objects.filter(email=RETAIL_EMAIL).exists():
            User.objects.create_user(RETAIL_EMAIL, RETAIL_PASSWORD, kind=UserKind.RETAIL, full_name="Rita Retail")
        if not User.objects.filter(email=WHOLESALE_EMAIL).exists():
            account = WholesaleAccount.objects.create(
                name="Corner Deli LLC",
                tax_id="12-3456789",
                billing_address="1 Main St, Springfield",
                price_list_group="wholesale-a",
                is_approved=True,
                approved_at=timezone.now(),
                credit_limit=Decimal("5000.00"),  # orders on account up to this open balance (net 30)
            )
            User.objects.create_user(
                WHOLESALE_EMAIL,
                WHOLESALE_PASSWORD,
                kind=UserKind.WHOLESALE,
                full_name="Walt Wholesale",
                wholesale_account=account,
            )
