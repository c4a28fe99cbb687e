"""Test set-up: one test database with the base schema and two tenants, built once and reused.

* `django_db_setup` (session): after pytest-django migrated the public schema, make sure the base
  schema and the test tenants exist. With `--reuse-db` they survive between runs, so a second
  run only checks migrations.
* Tests that need committed data (real threads, a real Celery worker) use `committed_db`, which
  cleans the tenant tables it may have touched instead of pytest-django's flush (a flush would
  also empty the public schema's tenants).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import pytest_django.fixtures
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from apps.accounts.policy import STAFF_ROLE_GROUPS
from apps.core.redis import get_redis
from apps.tenants.models import Tenant


@dataclass(frozen=True)
class TenantSpec:
    schema: str
    name: str
    domain: str
    plan: str
    currency: str
    timezone: str


TENANT_A = TenantSpec("tenant_a", "Alpha Hot Sauce", "alpha.test", "free", "USD", "America/Chicago")
TENANT_B = TenantSpec("tenant_b", "Beta Bakery", "beta.test", "premium", "EUR", "Europe/Paris")

# Tables emptied after a `committed_db` test, in every test tenant's schema.
TENANT_TABLES_TO_CLEAN = [
    "integrations_deliveryattempt",
    "integrations_webhookdelivery",
    "integrations_webhookendpoint",
    "reviews_reviewaggregate",
    "reviews_reviewreply",
    "reviews_reviewvote",
    "reviews_reviewreport",
    "reviews_reviewphoto",
    "reviews_reviewdecision",
    "reviews_reviewrevision",
    "reviews_review",
    "promotions_redemption",
    "promotions_couponcustomeruse",
    "promotions_couponcode",
    "promotions_coupon_variants",
    "promotions_coupon_products",
    "promotions_coupon_categories",
    "promotions_coupon",
    "promotions_promotion_variants",
    "promotions_promotion_products",
    "promotions_promotion_categories",
    "promotions_promotion",
    "loyalty_nightlyrun",
    "loyalty_referral",
    "loyalty_streakbonus",
    "loyalty_achievement",
    "loyalty_ledgerentry",
    "loyalty_account",
    "loyalty_campaign_categories",
    "loyalty_campaign_products",
    "loyalty_campaign",
    "loyalty_programmesettings",
    "orders_routestop",
    "orders_deliveryroute",
    "payments_invoicepayment",
    "payments_invoice",
    "payments_refund",
    "payments_payment",
    "payments_stripeevent",
    "orders_returnline",
    "orders_returnrequest",
    "orders_orderevent",
    "orders_orderline",
    "orders_order",
    "core_outboxevent",
    "stock_reordersuggestion",
    "stock_purchaseorderline",
    "stock_purchaseorder",
    "stock_transferline",
    "stock_transfer",
    "stock_movement",
    "stock_reservationline",
    "stock_reservation",
    "stock_restockalert",
    "stock_lotstock",
    "stock_lot",
    "stock_stockitem",
    "stock_location_managers",
    "stock_location",
    "catalog_pricelistentry",
    "catalog_pricelist",
    "catalog_suppliervariant",
    "catalog_supplier",
    "catalog_variant",
    "catalog_product",
    "catalog_category",
    "core_idempotencykey",
    "auditlog_logentry",
    "django_session",
    "accounts_authsession",
    "accounts_user",
    "accounts_wholesaleaccount",
]


def _default_database_always(items):
    aliases, serialized = _databases_for_setup(items)
    return aliases | {"default"}, serialized


# pytest-django sets the test database up only for a session that has a test asking for `db`;
# tests of committed data (`committed_db`, the schema fuzz's module-wide server) ask for none, so
# alone they would run against the development database. Every test here needs the database.
_databases_for_setup = pytest_django.fixtures._get_databases_for_setup
pytest_django.fixtures._get_databases_for_setup = _default_database_always


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> None:
    from apps.tenants.services import base_schema_ensure, tenant_create

    with django_db_blocker.unblock():
        base_schema_ensure()
        for spec in (TENANT_A, TENANT_B):
            if not Tenant.objects.filter(schema_name=spec.schema).exists():
                tenant_create(
                    name=spec.name,
                    schema_name=spec.schema,
                    domain=spec.domain,
                    plan=spec.plan,
                    currency=spec.currency,
                    timezone_name=spec.timezone,
                )
        _clean_tenant_tables()


def _clean_tenant_tables() -> None:
    with connection.cursor() as cursor:
        for spec in (TENANT_A, TENANT_B):
            tables = ", ".join(f'"{spec.schema}"."{t}"' for t in TENANT_TABLES_TO_CLEAN)
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            # Groups made by tests go; the role groups the migrations made stay.
            cursor.execute(
                f'DELETE FROM "{spec.schema}".auth_group WHERE NOT (name = ANY(%s))',
                [list(STAFF_ROLE_GROUPS.values())],
            )
    connection.set_schema_to_public()


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Database access outside a test transaction; tenant tables are emptied afterwards."""
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            connection.set_schema_to_public()
            _clean_tenant_tables()


@pytest.fixture(autouse=True)
def _reset_state() -> Iterator[None]:
    """Each test starts with an empty test Redis (rate limits, lockouts) and the public schema."""
    get_redis(settings.REDIS_URL).flushdb()
    yield
    connection.set_schema_to_public()


def _tenant(spec: TenantSpec) -> Tenant:
    return Tenant.objects.get(schema_name=spec.schema)


@pytest.fixture
def tenant_a(db) -> Tenant:
    return _tenant(TENANT_A)


@pytest.fixture
def tenant_b(db) -> Tenant:
    return _tenant(TENANT_B)


@pytest.fixture
def client_a() -> Client:
    return Client(HTTP_HOST=TENANT_A.domain)


@pytest.fixture
def client_b() -> Client:
    return Client(HTTP_HOST=TENANT_B.domain)


def make_staff(tenant: Tenant, email: str = "staff@example.com", role: str | None = "Owner", **extra):
    """A staff user of `tenant` in the given role group (None: a staff user without a role)."""
    from django.contrib.auth.models import Group

    from apps.accounts.models import User

    with tenant_context(tenant):
        user = User.objects.create_user(email, "pw-Example-123", is_staff=True, **extra)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user


def login(client: Client, tenant: Tenant, user) -> Client:
    """Sign `user` in on `client` (the session lives in the tenant's schema)."""
    with tenant_context(tenant):
        client.force_login(user)
    return client


@pytest.fixture
def staff_client_a(tenant_a: Tenant, client_a: Client) -> Client:
    return login(client_a, tenant_a, make_staff(tenant_a))


__all__ = ["TENANT_A", "TENANT_B", "login", "make_staff", "schema_context"]
