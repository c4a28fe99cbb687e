"""Provisioning tenants by cloning the base schema; the operators' admin; the commands."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_exists, tenant_context

from apps.accounts.models import User
from apps.core.audit import system_actor
from apps.core.errors import ApplicationError
from apps.tenants.models import Domain, Tenant
from apps.tenants.services import tenant_create


def test_tenant_create_clones_the_base_schema_with_its_migrations(db):
    tenant = tenant_create(
        name="Delta Deli", schema_name="delta", plan="standard", currency="jpy", timezone_name="Asia/Tokyo"
    )
    assert schema_exists("delta")
    assert tenant.get_primary_domain().domain == "delta.localhost"
    assert tenant.currency == "JPY" and tenant.currency_precision == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM delta.django_migrations WHERE app = 'djstripe'")
        assert cursor.fetchone()[0] > 0
    with tenant_context(tenant):
        assert User.objects.count() == 0  # the base schema carries no tenant data


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"schema_name": "Bad-Name"}, "schema_name"),
        ({"schema_name": "public"}, "schema_name"),
        ({"schema_name": "tenant_base"}, "schema_name"),
        ({"schema_name": "pg_x"}, "schema_name"),
        ({"currency": "XYZ"}, "currency"),
        ({"timezone_name": "Mars/Olympus"}, "timezone"),
        ({"plan": "platinum"}, "plan"),
        ({"domain": "alpha.test"}, "domain"),  # already used by tenant A
    ],
)
def test_invalid_tenants_are_rejected_with_field_details(db, kwargs, field):
    arguments = {"name": "X", "schema_name": "xtenant", **kwargs}
    with pytest.raises(ApplicationError) as raised:
        tenant_create(**arguments)
    assert raised.value.code == "invalid_tenant"
    assert field in raised.value.details
    assert not Tenant.objects.filter(name="X").exists()


def test_a_duplicate_schema_is_rejected(db):
    with pytest.raises(ApplicationError) as raised:
        tenant_create(name="Again", schema_name="tenant_a", domain="again.test")
    assert "schema_name" in raised.value.details


def test_the_command_creates_the_tenant_and_its_first_admin(db, capsys):
    call_command(
        "tenant_create",
        "Echo Espresso",
        "echo",
        "--plan",
        "premium",
        "--admin-email",
        "boss@echo.test",
        "--admin-password",
        "Very-secret-1",
    )
    out = capsys.readouterr().out
    assert "Created tenant echo at echo.localhost" in out
    tenant = Tenant.objects.get(schema_name="echo")
    assert tenant.plan == "premium"
    with tenant_context(tenant):
        assert User.objects.get(email="boss@echo.test").is_superuser


def test_operators_provision_a_tenant_in_the_public_admin(db):
    operator = User.objects.create_superuser("ops@platform.test", "pw-Operator-1")
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    response = client.post(
        "/admin/tenants/tenant/add/",
        {
            "name": "Foxtrot Foods",
            "schema_name": "foxtrot",
            "plan": "free",
            "currency": "GBP",
            "timezone": "Europe/London",
            "domain": "foxtrot.test",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant = Tenant.objects.get(schema_name="foxtrot")
    assert Domain.objects.get(tenant=tenant).domain == "foxtrot.test"
    assert schema_exists("foxtrot")
    # The operators' list never shows the base schema.
    listing = client.get("/admin/tenants/tenant/").content.decode()
    assert "Foxtrot Foods" in listing and "tenant_base" not in listing


def test_operators_suspend_from_the_admin(db):
    operator = User.objects.create_superuser("ops2@platform.test", "pw-Operator-1")
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    tenant = Tenant.objects.get(schema_name="tenant_a")
    client.post("/admin/tenants/tenant/", {"action": "suspend", "_selected_action": [tenant.pk]})
    tenant.refresh_from_db()
    assert tenant.is_active is False


def test_tenant_staff_never_see_the_platform_models(tenant_a, client_a):
    with tenant_context(tenant_a):
        owner = User.objects.create_superuser("owner@alpha.test", "pw-Owner-123")
        client_a.force_login(owner)
    index = client_a.get("/admin/").content.decode()
    assert "Tenants" not in index and "Periodic tasks" not in index
    assert client_a.get("/admin/tenants/tenant/").status_code == 403
    assert client_a.get("/admin/django_celery_beat/periodictask/").status_code == 403
    assert client_a.get("/admin/auth/group/").status_code == 200


def test_release_is_idempotent_and_schedules_the_purge(db, capsys):
    from django_celery_beat.models import PeriodicTask

    call_command("release", verbosity=0)
    call_command("release", verbosity=0)
    task = PeriodicTask.objects.get(name="idempotency-keys-purge")
    assert task.task == "core.fan_out"
    assert task.args == '["core.idempotency_keys_purge"]'


def test_seed_demo_creates_one_user_of_each_kind_and_is_idempotent(committed_db, capsys):
    # Outside a test transaction, as ./bin/dev runs it (steps that need a transaction must open it).
    try:
        _seed_demo_twice_and_check(capsys)
    finally:
        demo = Tenant.objects.filter(schema_name="demo").first()
        if demo is not None:
            with system_actor("test"):
                demo.domains.all().delete()
                demo.delete(force_drop=True)
        # The operator seed_demo made (the ORM's delete would cascade into tenant-only tables).
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM public.accounts_user WHERE email = %s", ["operator@localhost"])


def _seed_demo_twice_and_check(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "admin@demo.localhost" in out and "retail@demo.localhost" in out
    tenant = Tenant.objects.get(schema_name="demo")
    with tenant_context(tenant):
        kinds = sorted(User.objects.values_list("kind", flat=True))
        # One of each kind, plus the demo customers other apps' demos add (reviewers, loyalty members).
        assert (kinds.count("staff"), kinds.count("wholesale")) == (3, 1) and "retail" in kinds
        buyer = User.objects.get(email="buyer@demo.localhost")
        assert buyer.wholesale_account.is_approved
        assert User.objects.get(email="manager@demo.localhost").groups.filter(name="Store Manager").exists()
        from apps.loyalty.models import Account

        # The loyalty demo ran whole (its nightly steps need their transaction): one member per tier.
        tiers = set(Account.objects.filter(user__email__endswith="@demo.localhost").values_list("tier", flat=True))
        assert {"scoops", "silver", "gold", "diamond"} <= tiers
