"""Token sessions: sign-up/in, rotation, expiry, revocation per device and everywhere, tenants."""

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django_tenants.utils import tenant_context
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from apps.accounts.models import AuthSession, User
from tests.conftest import TENANT_A

PASSWORD = "Sauce-Lover-2026"


def api(client: Client, method: str, path: str, token: str | None = None, body: dict | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return getattr(client, method)(f"/api/v1/{path}", body or {}, content_type="application/json", **headers)


def register(client: Client, email: str = "ann@example.com", device: str = "Ann's iPhone") -> dict:
    response = api(
        client,
        "post",
        "auth/register",
        body={
            "email": email,
            "password": PASSWORD,
            "full_name": "Ann",
            "device_name": device,
            "birthday": "1990-05-04",
            "marketing_consent": True,
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def sign_in(client: Client, email: str = "ann@example.com", device: str = "iPad") -> dict:
    response = api(client, "post", "auth/sign-in", body={"email": email, "password": PASSWORD, "device_name": device})
    assert response.status_code == 200, response.content
    return response.json()["tokens"]


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_register_signs_the_device_in_as_a_retail_customer(tenant_a, client_a):
    body = register(client_a)
    assert body["user"]["kind"] == "retail" and body["user"]["birthday"] == "1990-05-04"
    assert body["tokens"]["session_type"] == "retail"
    me = api(client_a, "get", "me", body["tokens"]["access"])
    assert me.status_code == 200 and me.json()["email"] == "ann@example.com"


def test_register_rejects_a_taken_email_case_insensitively_and_a_weak_password(tenant_a, client_a):
    register(client_a)
    taken = api(client_a, "post", "auth/register", body={"email": "ANN@example.com", "password": PASSWORD})
    assert taken.status_code == 409 and error_code(taken) == "email_taken"
    weak = api(client_a, "post", "auth/register", body={"email": "bob@example.com", "password": "12345678"})
    assert weak.status_code == 400 and "password" in weak.json()["error"]["details"]


def test_wrong_password_is_invalid_credentials(tenant_a, client_a):
    register(client_a)
    response = api(client_a, "post", "auth/sign-in", body={"email": "ann@example.com", "password": "nope-nope-1"})
    assert response.status_code == 401 and error_code(response) == "invalid_credentials"


@override_settings(LOGIN_LOCKOUT_ATTEMPTS=3)
def test_repeated_failures_lock_the_address_even_for_the_right_password(tenant_a, client_a, client_b, tenant_b):
    register(client_a)
    for _ in range(3):
        api(client_a, "post", "auth/sign-in", body={"email": "ann@example.com", "password": "wrong-Password-1"})
    locked = api(client_a, "post", "auth/sign-in", body={"email": "ann@example.com", "password": PASSWORD})
    assert locked.status_code == 429 and error_code(locked) == "account_locked"
    # The lock is per tenant: the same address elsewhere is unaffected.
    register(client_b)
    assert (
        api(client_b, "post", "auth/sign-in", body={"email": "ann@example.com", "password": PASSWORD}).status_code
        == 200
    )


@override_settings(LOGIN_LOCKOUT_ATTEMPTS=2)
def test_the_admin_login_is_locked_out_too(tenant_a, client_a):
    with tenant_context(tenant_a):
        User.objects.create_superuser("boss@example.com", PASSWORD)
    for _ in range(2):
        client_a.post("/admin/login/", {"username": "boss@example.com", "password": "bad-Password-9"})
    response = client_a.post("/admin/login/", {"username": "boss@example.com", "password": PASSWORD})
    assert response.status_code == 200  # the form again, not the redirect of a successful login
    assert "_auth_user_id" not in client_a.session


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(tenant_a, client_a):
    tokens = register(client_a)["tokens"]
    rotated = api(client_a, "post", "auth/refresh", body={"refresh": tokens["refresh"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh"] != tokens["refresh"] and new["session_id"] == tokens["session_id"]
    assert api(client_a, "get", "me", new["access"]).status_code == 200

    replay = api(client_a, "post", "auth/refresh", body={"refresh": tokens["refresh"]})
    assert replay.status_code == 401 and error_code(replay) == "refresh_token_reused"
    # The whole session is gone, including the newest pair.
    after = api(client_a, "get", "me", new["access"])
    assert after.status_code == 401 and error_code(after) == "session_revoked"
    assert api(client_a, "post", "auth/refresh", body={"refresh": new["refresh"]}).status_code == 401


def test_refresh_tokens_last_30_days(tenant_a, client_a):
    tokens = register(client_a)["tokens"]
    refresh = RefreshToken(tokens["refresh"])
    lifetime = refresh["exp"] - refresh["iat"]
    assert lifetime == 30 * 24 * 3600
    access = AccessToken(tokens["access"])
    assert access["exp"] - access["iat"] == 15 * 60


def test_expired_tokens_are_rejected(tenant_a, client_a):
    tokens = register(client_a)["tokens"]
    access = AccessToken(tokens["access"])
    access.set_exp(lifetime=timedelta(seconds=-1))
    expired = api(client_a, "get", "me", str(access))
    assert expired.status_code == 401 and error_code(expired) == "token_invalid"
    assert expired["WWW-Authenticate"].startswith("Bearer")
    refresh = RefreshToken(tokens["refresh"])
    refresh.set_exp(lifetime=timedelta(seconds=-1))
    response = api(client_a, "post", "auth/refresh", body={"refresh": str(refresh)})
    assert response.status_code == 401 and error_code(response) == "token_invalid"


def test_a_token_verified_before_is_still_refused_once_it_expires(tenant_a, client_a, monkeypatch):
    """The process remembers tokens it has verified (their signature is checked once); the expiry
    and the session are still checked on every request."""
    from apps.accounts import authentication

    tokens = register(client_a)["tokens"]
    assert api(client_a, "get", "me", tokens["access"]).status_code == 200
    assert tokens["access"] in authentication._VERIFIED
    expiry = AccessToken(tokens["access"])["exp"]
    monkeypatch.setattr(authentication.time, "time", lambda: expiry + 1)
    expired = api(client_a, "get", "me", tokens["access"])
    assert expired.status_code == 401 and error_code(expired) == "token_invalid"
    assert tokens["access"] not in authentication._VERIFIED
    monkeypatch.undo()
    # A remembered token whose session ends is refused at once.
    fresh = sign_in(client_a)
    assert api(client_a, "get", "me", fresh["access"]).status_code == 200
    assert api(client_a, "post", "auth/sign-out", fresh["access"]).status_code == 204
    after = api(client_a, "get", "me", fresh["access"])
    assert after.status_code == 401 and error_code(after) == "session_revoked"


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer not-a-jwt"])
def test_malformed_bearer_headers_are_401(tenant_a, client_a, header):
    response = client_a.get("/api/v1/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and error_code(response) == "token_invalid"


def test_a_token_from_another_tenant_is_rejected(tenant_a, tenant_b, client_a, client_b):
    tokens = register(client_a)["tokens"]
    assert api(client_a, "get", "me", tokens["access"]).status_code == 200  # verified, and remembered
    response = api(client_b, "get", "me", tokens["access"])
    assert response.status_code == 401 and error_code(response) == "token_invalid"
    refresh = api(client_b, "post", "auth/refresh", body={"refresh": tokens["refresh"]})
    assert refresh.status_code == 401


def test_sign_out_ends_this_device_only(tenant_a, client_a):
    phone = register(client_a, device="phone")["tokens"]
    tablet = sign_in(client_a, device="tablet")
    assert api(client_a, "post", "auth/sign-out", phone["access"]).status_code == 204
    assert error_code(api(client_a, "get", "me", phone["access"])) == "session_revoked"
    assert api(client_a, "post", "auth/refresh", body={"refresh": phone["refresh"]}).status_code == 401
    assert api(client_a, "get", "me", tablet["access"]).status_code == 200


def test_sign_out_everywhere_ends_every_device(tenant_a, client_a):
    phone = register(client_a, device="phone")["tokens"]
    tablet = sign_in(client_a, device="tablet")
    assert api(client_a, "post", "auth/sign-out-everywhere", tablet["access"]).status_code == 204
    for tokens in (phone, tablet):
        assert api(client_a, "get", "me", tokens["access"]).status_code == 401


def test_sessions_list_and_revoke_one_device(tenant_a, client_a):
    phone = register(client_a, device="phone")["tokens"]
    tablet = sign_in(client_a, device="tablet")
    listed = api(client_a, "get", "auth/sessions", phone["access"]).json()["results"]
    assert sorted(s["device_name"] for s in listed) == ["phone", "tablet"]
    assert [s["device_name"] for s in listed if s["current"]] == ["phone"]
    assert api(client_a, "delete", f"auth/sessions/{tablet['session_id']}", phone["access"]).status_code == 204
    assert api(client_a, "get", "me", tablet["access"]).status_code == 401
    still = api(client_a, "get", "auth/sessions", phone["access"]).json()["results"]
    assert [s["device_name"] for s in still] == ["phone"]


def test_another_customers_session_is_a_404(tenant_a, client_a):
    ann = register(client_a)["tokens"]
    bob = register(client_a, email="bob@example.com")["tokens"]
    response = api(client_a, "delete", f"auth/sessions/{bob['session_id']}", ann["access"])
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert api(client_a, "get", "me", bob["access"]).status_code == 200
    assert api(client_a, "delete", "auth/sessions/not-a-uuid", ann["access"]).status_code == 404


def test_staff_end_a_customers_sessions_in_the_admin(tenant_a, client_a):
    customer = register(client_a)["tokens"]
    with tenant_context(tenant_a):
        owner = User.objects.create_superuser("owner@example.com", PASSWORD)
        session_pk = AuthSession.objects.get(pk=customer["session_id"]).pk
    admin = Client(HTTP_HOST=TENANT_A.domain)
    with tenant_context(tenant_a):
        admin.force_login(owner)
    admin.post("/admin/accounts/authsession/", {"action": "revoke", "_selected_action": [session_pk]})
    assert error_code(api(client_a, "get", "me", customer["access"])) == "session_revoked"


def test_a_guest_upgrades_in_place_keeping_its_identity(tenant_a, client_a):
    guest = api(client_a, "post", "auth/guest", body={"device_id": "device-1234", "device_name": "Pixel"})
    assert guest.status_code == 201
    body = guest.json()
    assert body["user"]["kind"] == "guest" and body["user"]["email"] is None
    guest_id = body["user"]["id"]
    # A device id is no secret: presenting it again makes a new guest, never someone else's.
    again = api(client_a, "post", "auth/guest", body={"device_id": "device-1234"}).json()
    assert again["user"]["id"] != guest_id

    upgraded = api(
        client_a,
        "post",
        "auth/guest/upgrade",
        body["tokens"]["access"],
        {"email": "gina@example.com", "password": PASSWORD, "full_name": "Gina"},
    )
    assert upgraded.status_code == 200, upgraded.content
    assert upgraded.json()["user"]["id"] == guest_id
    assert upgraded.json()["user"]["kind"] == "retail"
    assert upgraded.json()["tokens"]["session_type"] == "retail"
    # The guest tokens ended; the new retail account signs in with a password.
    assert api(client_a, "get", "me", body["tokens"]["access"]).status_code == 401
    assert sign_in(client_a, email="gina@example.com")["session_type"] == "retail"


def test_only_guests_can_upgrade_and_guests_cannot_sign_in_with_passwords(tenant_a, client_a):
    tokens = register(client_a)["tokens"]
    response = api(
        client_a, "post", "auth/guest/upgrade", tokens["access"], {"email": "x@example.com", "password": PASSWORD}
    )
    assert response.status_code == 403 and error_code(response) == "permission_denied"


def test_profile_update(tenant_a, client_a):
    tokens = register(client_a)["tokens"]
    response = api(client_a, "patch", "me", tokens["access"], {"full_name": "Ann B.", "kind": "staff"})
    assert response.status_code == 200
    assert response.json()["full_name"] == "Ann B." and response.json()["kind"] == "retail"


@override_settings(AUTH_RATE_LIMIT="3/minute")
def test_auth_endpoints_have_their_own_stricter_rate_limit(tenant_a, client_a):
    codes = [
        api(client_a, "post", "auth/sign-in", body={"email": "a@example.com", "password": "x"}).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]


def test_unauthenticated_me_is_401_with_a_bearer_challenge(tenant_a, client_a):
    response = client_a.get("/api/v1/me")
    assert response.status_code == 401 and error_code(response) == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_staff_roles_carry_their_admin_permissions(tenant_a):
    from django.contrib.auth.models import Group

    with tenant_context(tenant_a):
        owner = Group.objects.get(name="Owner")
        manager = Group.objects.get(name="Store Manager")
        assert owner.permissions.filter(codename="add_apikey").exists()
        assert manager.permissions.filter(codename="change_authsession").exists()
        assert not manager.permissions.filter(codename="add_apikey").exists()


def test_a_store_manager_signs_in_to_the_admin_and_sees_sessions_but_not_keys(tenant_a):
    from django.contrib.auth.models import Group

    with tenant_context(tenant_a):
        manager = User.objects.create_user("mgr@example.com", PASSWORD, is_staff=True)
        manager.groups.add(Group.objects.get(name="Store Manager"))
    client = Client(HTTP_HOST=TENANT_A.domain)
    assert client.post("/admin/login/", {"username": "mgr@example.com", "password": PASSWORD}).status_code == 302
    assert client.get("/admin/accounts/authsession/").status_code == 200
    assert client.get("/admin/accounts/apikey/").status_code == 403


def test_a_demoted_staff_members_tokens_stop_working(tenant_a, client_a):
    from django.contrib.auth.models import Group

    with tenant_context(tenant_a):
        owner = User.objects.create_user("demote@example.com", PASSWORD, is_staff=True)
        owner.groups.add(Group.objects.get(name="Owner"))
    tokens = sign_in(client_a, email="demote@example.com")
    assert api(client_a, "get", "api-keys", tokens["access"]).status_code == 200
    with tenant_context(tenant_a):
        User.objects.filter(pk=owner.pk).update(is_staff=False, kind="retail")
    response = api(client_a, "get", "api-keys", tokens["access"])
    assert response.status_code == 401 and error_code(response) == "session_revoked"
    assert api(client_a, "post", "auth/refresh", body={"refresh": tokens["refresh"]}).status_code == 401


def test_sign_out_everywhere_also_ends_admin_browser_sessions(tenant_a):
    with tenant_context(tenant_a):
        owner = User.objects.create_superuser("browser@example.com", PASSWORD)
    browser = Client(HTTP_HOST=TENANT_A.domain)
    assert browser.post("/admin/login/", {"username": "browser@example.com", "password": PASSWORD}).status_code == 302
    assert browser.get("/admin/").status_code == 200
    app = Client(HTTP_HOST=TENANT_A.domain)
    tokens = sign_in(app, email="browser@example.com")
    assert api(app, "post", "auth/sign-out-everywhere", tokens["access"]).status_code == 204
    assert browser.get("/admin/").status_code == 302  # back to the login page
    assert owner


@override_settings(LOGIN_LOCKOUT_ATTEMPTS=3)
def test_guessing_the_current_password_on_change_is_locked_out(tenant_a, client_a):
    tokens = register(client_a)["tokens"]
    body = {"current_password": "wrong-Guess-1", "new_password": "Another-Sauce-9"}
    codes = [
        api(client_a, "post", "auth/password/change", tokens["access"], body).json()["error"]["code"] for _ in range(4)
    ]
    assert codes == ["wrong_password", "wrong_password", "wrong_password", "account_locked"]


def test_deeply_nested_json_is_a_400_not_a_500(tenant_a, client_a):
    response = client_a.post("/api/v1/auth/sign-in", "[" * 5000, content_type="application/json")
    assert response.status_code == 400 and error_code(response) == "malformed_request"


@pytest.mark.parametrize("key", ["fnb_ab\x00c_def", "fnb_0123456789ab_" + "x" * 200, "x" * 5000])
def test_malformed_api_keys_are_401_not_500(tenant_a, client_a, key):
    response = client_a.get("/api/v1/api-keys/current", HTTP_X_API_KEY=key.replace("\\x00", "\x00"))
    assert response.status_code == 401 and error_code(response) == "api_key_invalid"


def test_role_permissions_cover_apps_migrated_after_accounts(tenant_a):
    from django.contrib.auth.models import Group

    with tenant_context(tenant_a):
        manager = Group.objects.get(name="Store Manager")
        assert manager.permissions.filter(content_type__app_label="stock", codename="view_stockitem").exists()
        assert manager.permissions.filter(content_type__app_label="orders", codename="change_order").exists()
