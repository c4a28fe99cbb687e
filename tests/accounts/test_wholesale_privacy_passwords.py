"""Wholesale application and approval gate; password change and reset; export and deletion."""

import re

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import tenant_context

from apps.accounts.models import AuthSession, User, WholesaleAccount
from tests.accounts import principals as p
from tests.conftest import TENANT_A

PASSWORD = p.PASSWORD


def post(client, path, body=None, headers=None):
    return client.post(f"/api/v1/{path}", body or {}, content_type="application/json", **(headers or {}))


def apply(client) -> dict:
    response = post(
        client,
        "wholesale/apply",
        {
            "business_name": "Corner Deli LLC",
            "tax_id": "12-3456789",
            "billing_address": "1 Main St",
            "email": "buyer@deli.test",
            "password": PASSWORD,
            "full_name": "Walt",
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_wholesale_applicant_waits_for_approval_before_ordering(tenant_a, client_a):
    body = apply(client_a)
    token = p.bearer(body["tokens"]["access"])
    assert body["user"]["kind"] == "wholesale"
    account = client_a.get("/api/v1/wholesale/account", **token).json()
    assert account["is_approved"] is False and account["name"] == "Corner Deli LLC"
    gate = post(client_a, "_test/wholesale-order", headers=token)
    assert (
        gate.status_code == 403 and gate.json()["error"]["message"] == "Your business account is waiting for approval."
    )

    # Staff approve it in the admin (the action calls the approval service).
    with tenant_context(tenant_a):
        owner = User.objects.create_superuser("owner@alpha.test", PASSWORD)
        pk = WholesaleAccount.objects.get().pk
    admin = Client(HTTP_HOST=TENANT_A.domain)
    with tenant_context(tenant_a):
        admin.force_login(owner)
    admin.post("/admin/accounts/wholesaleaccount/", {"action": "approve", "_selected_action": [pk]})
    assert client_a.get("/api/v1/wholesale/account", **token).json()["is_approved"] is True
    assert post(client_a, "_test/wholesale-order", headers=token).status_code == 201


def test_retail_customers_never_pass_the_wholesale_gate(tenant_a, client_a):
    response = post(client_a, "_test/wholesale-order", headers=p.customer_headers(tenant_a, "retail"))
    assert response.status_code == 403


def test_password_change_keeps_this_device_and_ends_the_others(tenant_a, client_a):
    with tenant_context(tenant_a):
        from apps.accounts import services

        user = p.user_of_kind("retail")
        this = services.session_start(user=user, device_name="this")
        other = services.session_start(user=user, device_name="other")
    wrong = post(
        client_a,
        "auth/password/change",
        {"current_password": "nope", "new_password": "Another-Sauce-9"},
        p.bearer(this.access),
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "wrong_password"
    ok = post(
        client_a,
        "auth/password/change",
        {"current_password": PASSWORD, "new_password": "Another-Sauce-9"},
        p.bearer(this.access),
    )
    assert ok.status_code == 204
    assert client_a.get("/api/v1/me", **p.bearer(this.access)).status_code == 200
    assert client_a.get("/api/v1/me", **p.bearer(other.access)).status_code == 401
    signed_in = post(client_a, "auth/sign-in", {"email": user.email, "password": "Another-Sauce-9"})
    assert signed_in.status_code == 200


@pytest.fixture
def eager_tasks():
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_password_reset_by_email_link(tenant_a, client_a, django_capture_on_commit_callbacks, eager_tasks):
    with tenant_context(tenant_a):
        from apps.accounts import services

        user = p.user_of_kind("retail")
        old = services.session_start(user=user)
    with django_capture_on_commit_callbacks(execute=True):  # the mail goes out after commit
        assert post(client_a, "auth/password/reset", {"email": "nobody@example.com"}).status_code == 202
    assert mail.outbox == []  # no account, no mail, same answer
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client_a, "auth/password/reset", {"email": user.email.upper()}).status_code == 202
    (message,) = mail.outbox
    assert message.to == [user.email] and TENANT_A.domain in message.body
    uid, token = re.search(r"uid=([\w-]+)&token=([\w-]+)", message.body).groups()

    bad = post(client_a, "auth/password/reset/confirm", {"uid": uid, "token": "1-x", "new_password": "Fresh-Sauce-77"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "reset_link_invalid"
    ok = post(client_a, "auth/password/reset/confirm", {"uid": uid, "token": token, "new_password": "Fresh-Sauce-77"})
    assert ok.status_code == 204
    assert client_a.get("/api/v1/me", **p.bearer(old.access)).status_code == 401  # every session ended
    reused = post(
        client_a, "auth/password/reset/confirm", {"uid": uid, "token": token, "new_password": "Other-Sauce-88"}
    )
    assert reused.status_code == 400  # a link works once
    assert post(client_a, "auth/sign-in", {"email": user.email, "password": "Fresh-Sauce-77"}).status_code == 200


def test_data_export_holds_the_profile_and_sessions(tenant_a, client_a):
    body = post(
        client_a,
        "auth/register",
        {"email": "ex@example.com", "password": PASSWORD, "full_name": "Ex", "device_name": "phone", "phone": "+1555"},
    ).json()
    export = client_a.get("/api/v1/me/export", **p.bearer(body["tokens"]["access"]))
    assert export.status_code == 200
    data = export.json()
    assert data["profile"]["email"] == "ex@example.com" and data["profile"]["phone"] == "+1555"
    assert [s["device_name"] for s in data["sessions"]] == ["phone"]


def test_deleting_an_account_anonymizes_it_and_keeps_the_row(tenant_a, client_a):
    body = post(
        client_a,
        "auth/register",
        {
            "email": "gone@example.com",
            "password": PASSWORD,
            "full_name": "Gone",
            "birthday": "1980-01-02",
            "phone": "+1",
        },
    ).json()
    token = p.bearer(body["tokens"]["access"])
    assert post(client_a, "me/delete", headers=token).status_code == 204
    assert client_a.get("/api/v1/me", **token).status_code == 401
    with tenant_context(tenant_a):
        user = User.objects.get(pk=body["user"]["id"])  # business records can still point at it
        assert (user.email, user.full_name, user.phone, user.birthday) == (None, "", "", None)
        assert not user.is_active and not user.has_usable_password()
        assert not AuthSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert post(client_a, "auth/sign-in", {"email": "gone@example.com", "password": PASSWORD}).status_code == 401
    # The address is free again.
    assert post(client_a, "auth/register", {"email": "gone@example.com", "password": PASSWORD}).status_code == 201


def test_staff_sign_a_customer_out_everywhere_but_not_other_staff(tenant_a, client_a):
    customer = p.customer_headers(tenant_a, "retail")
    manager = p.staff_headers(tenant_a, "store_manager")
    with tenant_context(tenant_a):
        customer_id = AuthSession.objects.filter(session_type="retail").get().user_id
        staff_id = AuthSession.objects.filter(session_type="staff").get().user_id
    assert post(client_a, f"customers/{customer_id}/sessions/revoke", headers=manager).status_code == 204
    assert client_a.get("/api/v1/me", **customer).status_code == 401
    assert post(client_a, f"customers/{staff_id}/sessions/revoke", headers=manager).status_code == 404


def test_the_reset_mail_task_sends_to_active_users_only(tenant_a):
    from apps.accounts.tasks import password_reset_email_send_task

    with tenant_context(tenant_a):
        user = p.user_of_kind("retail")
        assert password_reset_email_send_task.apply(args=[user.pk, "https://x/reset"]).get() is True
        User.objects.filter(pk=user.pk).update(is_active=False)
        assert password_reset_email_send_task.apply(args=[user.pk, "https://x/reset"]).get() is False
    assert len(mail.outbox) == 1 and "https://x/reset" in mail.outbox[0].body
