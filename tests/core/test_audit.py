"""Audit log: every change records who did it (user, API caller, system task or command)."""

from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.core.management import call_command
from django_tenants.utils import tenant_context

from apps.core.audit import system_actor
from apps.tenants.models import Tenant
from tests.conftest import login, make_staff


def entries_for(tenant, model, **filters):
    with tenant_context(tenant):
        return list(LogEntry.objects.get_for_model(model).filter(**filters).order_by("id"))


def test_an_api_change_records_the_user_and_the_request_id(tenant_a, client_a):
    user = make_staff(tenant_a, "auditor@example.com")
    login(client_a, tenant_a, user)
    response = client_a.post(
        "/api/v1/_test/groups", {"name": "audited"}, content_type="application/json", HTTP_X_REQUEST_ID="req-42"
    )
    assert response.status_code == 201
    (entry,) = entries_for(tenant_a, Group, object_repr="audited")
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor_id == user.pk
    assert entry.actor_email == "auditor@example.com"
    assert entry.cid == "req-42"
    assert entry.remote_addr == "127.0.0.1"
    assert entry.additional_data["actor"] == {"kind": "user", "label": "auditor@example.com"}


def test_a_system_change_records_the_system_actor(tenant_a):
    with tenant_context(tenant_a), system_actor("task:demo.job"):
        Group.objects.create(name="by-task")
    (entry,) = entries_for(tenant_a, Group, object_repr="by-task")
    assert entry.actor_id is None
    assert entry.additional_data["actor"] == {"kind": "system", "label": "task:demo.job"}


def test_a_staff_change_in_the_admin_is_audited_with_the_staff_user(tenant_a, client_a):
    admin_user = make_staff(tenant_a, "owner@example.com", is_superuser=True)
    login(client_a, tenant_a, admin_user)
    response = client_a.post("/admin/auth/group/add/", {"name": "from-admin"})
    assert response.status_code == 302, response.content[:500]
    (entry,) = entries_for(tenant_a, Group, object_repr="from-admin")
    assert entry.actor_id == admin_user.pk


def test_passwords_are_masked_in_the_audit_log(tenant_a):
    user = make_staff(tenant_a, "masked@example.com")
    with tenant_context(tenant_a):
        user.set_password("another-Secret-1")
        user.save()
        entry = LogEntry.objects.get_for_object(user).order_by("-id").first()
    assert "another-Secret-1" not in str(entry.changes)
    assert user.password not in str(entry.changes)


def test_tenant_lifecycle_changes_are_audited_in_the_public_schema(db):
    from apps.tenants.services import tenant_suspend

    tenant = Tenant.objects.get(schema_name="tenant_a")
    with system_actor("command:test"):
        tenant_suspend(tenant=tenant, reason="audit me")
    entry = LogEntry.objects.get_for_object(tenant).order_by("-id").first()
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.changes_dict["is_active"] == ["True", "False"]
    assert entry.additional_data["actor"]["label"] == "command:test"


def test_management_commands_record_their_name(db, capsys):
    call_command("tenant_create", "Gamma Grocer", "gamma", "--domain", "gamma.test")
    tenant = Tenant.objects.get(schema_name="gamma")
    entry = LogEntry.objects.get_for_object(tenant).first()
    assert entry.additional_data["actor"] == {"kind": "system", "label": "command:tenant_create"}


def test_a_change_made_with_a_partner_key_records_the_key(tenant_a, rf):
    from apps.accounts.services import api_key_create
    from apps.core.audit import AuditActorMiddleware

    with tenant_context(tenant_a):
        key, _ = api_key_create(name="ERP", scopes=["inventory:write"])
        request = rf.post("/api/v1/x")
        request.api_key = key  # what ApiKeyAuthentication sets on the request

        def view(req):
            Group.objects.create(name="by-partner")
            return None

        AuditActorMiddleware(view)(request)
    (entry,) = entries_for(tenant_a, Group, object_repr="by-partner")
    assert entry.actor_id is None
    assert entry.additional_data["actor"] == {
        "kind": "api_key",
        "label": f"api-key:{key.prefix}",
        "api_key_id": key.pk,
    }
