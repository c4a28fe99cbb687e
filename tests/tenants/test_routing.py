"""Tenant routing by hostname, isolation between tenants, suspension."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django_tenants.utils import tenant_context

from apps.tenants.services import tenant_reactivate, tenant_suspend
from tests.conftest import TENANT_A, TENANT_B, login, make_staff


def test_each_hostname_reaches_its_own_tenant(tenant_a, tenant_b, client_a, client_b):
    a = client_a.get("/api/v1/tenant").json()
    b = client_b.get("/api/v1/tenant").json()
    assert (a["name"], a["plan"], a["currency"], a["timezone"]) == (
        TENANT_A.name,
        "free",
        "USD",
        "America/Chicago",
    )
    assert (b["name"], b["currency"], b["currency_precision"]) == (TENANT_B.name, "EUR", 2)


def test_unknown_hostname_is_a_404_in_the_error_shape(db, client):
    response = client.get("/api/v1/tenant", HTTP_HOST="nobody.test")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "tenant_not_found"
    assert error["details"] == {"host": "nobody.test"}
    assert error["request_id"] == response["X-Request-ID"]


def test_the_base_schema_is_never_routed(db, client):
    # Even if someone attached a domain to it, the template answers as unknown.
    from apps.tenants.models import Domain, Tenant

    template = Tenant.objects.get(is_template=True)
    Domain.objects.create(domain="template.test", tenant=template, is_primary=True)
    response = client.get("/api/v1/tenant", HTTP_HOST="template.test")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "tenant_not_found"


def test_a_row_written_in_tenant_a_is_invisible_from_tenant_b_by_orm(tenant_a, tenant_b):
    with tenant_context(tenant_a):
        Group.objects.create(name="only-in-a")
    with tenant_context(tenant_b):
        assert not Group.objects.filter(name="only-in-a").exists()
    with tenant_context(tenant_a):
        assert Group.objects.filter(name="only-in-a").count() == 1


def test_a_row_written_in_tenant_a_is_invisible_from_tenant_b_by_api(tenant_a, tenant_b, client_a, client_b):
    login(client_a, tenant_a, make_staff(tenant_a))
    login(client_b, tenant_b, make_staff(tenant_b, "b-staff@example.com"))
    created = client_a.post("/api/v1/_test/groups", {"name": "a-secret"}, content_type="application/json")
    assert created.status_code == 201

    names_a = [g["name"] for g in client_a.get("/api/v1/_test/groups?search=secret").json()["results"]]
    names_b = [g["name"] for g in client_b.get("/api/v1/_test/groups?search=secret").json()["results"]]
    assert names_a == ["a-secret"]
    assert names_b == []


def test_a_session_from_tenant_a_is_not_valid_on_tenant_b(tenant_a, client_a):
    login(client_a, tenant_a, make_staff(tenant_a))
    cookie = client_a.cookies["sessionid"].value
    from django.test import Client

    other = Client(HTTP_HOST=TENANT_B.domain)
    other.cookies["sessionid"] = cookie
    response = other.get("/api/v1/_test/groups")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_same_email_can_exist_in_two_tenants_independently(tenant_a, tenant_b):
    first = make_staff(tenant_a, "same@example.com")
    second = make_staff(tenant_b, "same@example.com")
    assert first.pk and second.pk
    with tenant_context(tenant_b):
        from apps.accounts.models import User

        assert User.objects.count() == 1


def test_a_suspended_tenant_answers_tenant_suspended_and_keeps_its_data(tenant_a, client_a):
    with tenant_context(tenant_a):
        Group.objects.create(name="kept")
    tenant_suspend(tenant=tenant_a, reason="unpaid invoice")

    response = client_a.get("/api/v1/tenant")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_suspended"
    admin = client_a.get("/admin/")
    assert admin.status_code == 403
    # Health still answers on its hostname (load balancers probe every address).
    assert client_a.get("/health/live").status_code == 200

    tenant_a.refresh_from_db()
    assert tenant_a.suspended_at is not None and tenant_a.suspension_reason == "unpaid invoice"
    with tenant_context(tenant_a):
        assert Group.objects.filter(name="kept").exists()

    tenant_reactivate(tenant=tenant_a)
    assert client_a.get("/api/v1/tenant").status_code == 200


def test_public_hostname_serves_the_operators_admin_not_the_api(db, client):
    response = client.get("/api/v1/tenant", HTTP_HOST="localhost")
    assert response.status_code == 404
    assert client.get("/admin/login/", HTTP_HOST="localhost").status_code == 200


@pytest.mark.parametrize("host", ["alpha.test", "ALPHA.TEST", "alpha.test:8000"])
def test_hostname_matching_ignores_port_and_case(tenant_a, client, host):
    response = client.get("/api/v1/tenant", HTTP_HOST=host)
    assert response.status_code == 200, response.content
    assert connection.schema_name  # the request left the connection on some schema
