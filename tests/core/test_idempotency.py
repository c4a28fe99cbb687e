"""Idempotency keys: replay, mismatch, in-flight duplicates, expiry, failures, scoping."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.policy import STAFF_ROLE_GROUPS
from apps.core.models import IdempotencyKey
from apps.core.services import idempotency_keys_purge
from tests.conftest import TENANT_A, login, make_staff

URL = "/api/v1/_test/groups"


def post(client, body, key=None, url=URL):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, body, content_type="application/json", **headers)


def groups(tenant, name=None):
    """Groups made by the tests (the role groups the migrations made do not count)."""
    with tenant_context(tenant):
        qs = Group.objects.exclude(name__in=STAFF_ROLE_GROUPS.values())
        return qs.filter(name=name).count() if name else qs.count()


def test_a_replay_returns_the_first_response_and_does_nothing_again(tenant_a, staff_client_a):
    first = post(staff_client_a, {"name": "sauces"}, key="k-1")
    second = post(staff_client_a, {"name": "sauces"}, key="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert groups(tenant_a, "sauces") == 1


def test_without_a_key_every_request_runs(tenant_a, staff_client_a):
    assert post(staff_client_a, {"name": "a"}).status_code == 201
    assert post(staff_client_a, {"name": "a"}).status_code == 400  # unique name: ran again
    with tenant_context(tenant_a):
        assert not IdempotencyKey.objects.exists()


def test_same_key_different_body_is_rejected_with_its_own_code(tenant_a, staff_client_a):
    assert post(staff_client_a, {"name": "one"}, key="k-2").status_code == 201
    response = post(staff_client_a, {"name": "two"}, key="k-2")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_mismatch"
    assert groups(tenant_a, "two") == 0


def test_same_key_on_another_path_is_a_mismatch(tenant_a, staff_client_a):
    assert post(staff_client_a, {"name": "one"}, key="k-3").status_code == 201
    response = post(staff_client_a, {"name": "one"}, key="k-3", url="/api/v1/_test/slow-groups")
    assert response.json()["error"]["code"] == "idempotency_key_mismatch"


def test_validation_errors_are_stored_and_replayed(tenant_a, staff_client_a):
    first = post(staff_client_a, {"name": ""}, key="k-4")
    again = post(staff_client_a, {"name": ""}, key="k-4")
    assert first.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["error"]["details"] == first.json()["error"]["details"]


def test_a_server_error_is_not_stored_so_the_retry_runs(tenant_a, client_a):
    first = post(client_a, {}, key="k-5", url="/api/v1/_test/boom")
    assert first.status_code == 500
    with tenant_context(tenant_a):
        assert not IdempotencyKey.objects.filter(key="k-5").exists()
    second = post(client_a, {}, key="k-5", url="/api/v1/_test/boom")
    assert second.status_code == 500
    assert not second.has_header("Idempotent-Replayed")
    # What the view wrote before failing was rolled back with it.
    assert groups(tenant_a, "created-before-crash") == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\tkey", "ключ"])
def test_malformed_keys_are_rejected(tenant_a, staff_client_a, key):
    response = staff_client_a.post(
        URL, {"name": "n"}, content_type="application/json", headers={"Idempotency-Key": key}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert groups(tenant_a) == 0


def test_keys_are_scoped_to_the_principal(tenant_a, client_a):
    login(client_a, tenant_a, make_staff(tenant_a, "one@example.com"))
    other = login(Client(HTTP_HOST=TENANT_A.domain), tenant_a, make_staff(tenant_a, "two@example.com"))
    assert post(client_a, {"name": "mine"}, key="shared").status_code == 201
    response = post(other, {"name": "theirs"}, key="shared")
    assert response.status_code == 201  # not a mismatch: a different principal's key space
    assert not response.has_header("Idempotent-Replayed")


def test_keys_are_scoped_to_the_tenant(tenant_a, tenant_b, staff_client_a, client_b):
    login(client_b, tenant_b, make_staff(tenant_b, "b@example.com"))
    assert post(staff_client_a, {"name": "x"}, key="cross").status_code == 201
    response = post(client_b, {"name": "y"}, key="cross")
    assert response.status_code == 201
    assert groups(tenant_b, "y") == 1


def test_an_expired_key_can_be_used_again(tenant_a, staff_client_a):
    assert post(staff_client_a, {"name": "old"}, key="k-6").status_code == 201
    with tenant_context(tenant_a):
        IdempotencyKey.objects.filter(key="k-6").update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(staff_client_a, {"name": "new"}, key="k-6")
    assert response.status_code == 201
    assert groups(tenant_a, "new") == 1


def test_an_abandoned_in_flight_key_is_taken_over_after_the_lock_timeout(tenant_a, staff_client_a):
    with tenant_context(tenant_a):
        assert post(staff_client_a, {"name": "crashed"}, key="k-7").status_code == 201
        # Simulate a worker that died mid-request: in flight, lock long expired, no effect.
        Group.objects.filter(name="crashed").delete()
        IdempotencyKey.objects.filter(key="k-7").update(
            state="in_flight", response_status=None, locked_until=timezone.now() - timedelta(seconds=1)
        )
    response = post(staff_client_a, {"name": "crashed"}, key="k-7")
    assert response.status_code == 201
    assert not response.has_header("Idempotent-Replayed")
    assert groups(tenant_a, "crashed") == 1


def test_an_in_flight_duplicate_gets_409(tenant_a, staff_client_a):
    with tenant_context(tenant_a):
        assert post(staff_client_a, {"name": "busy"}, key="k-8").status_code == 201
        IdempotencyKey.objects.filter(key="k-8").update(
            state="in_flight", locked_until=timezone.now() + timedelta(seconds=30)
        )
    response = post(staff_client_a, {"name": "busy"}, key="k-8")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_request_in_progress"
    assert response["Retry-After"] == "1"


def test_safe_methods_ignore_the_key(tenant_a, staff_client_a):
    response = staff_client_a.get(URL, HTTP_IDEMPOTENCY_KEY="whatever")
    assert response.status_code == 200
    with tenant_context(tenant_a):
        assert not IdempotencyKey.objects.exists()


def test_purge_deletes_only_expired_keys(tenant_a, staff_client_a):
    post(staff_client_a, {"name": "a"}, key="keep")
    post(staff_client_a, {"name": "b"}, key="drop")
    with tenant_context(tenant_a):
        IdempotencyKey.objects.filter(key="drop").update(expires_at=timezone.now() - timedelta(hours=1))
        assert idempotency_keys_purge() == 1
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["keep"]


@pytest.mark.slow
def test_fifty_concurrent_identical_requests_have_exactly_one_effect(committed_db):
    from apps.tenants.models import Tenant

    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    user = make_staff(tenant, "concurrent@example.com")
    base = login(Client(HTTP_HOST=TENANT_A.domain), tenant, user)
    session_cookie = base.cookies["sessionid"].value

    barrier = threading.Barrier(50)
    results: list[tuple[int, bool, dict]] = []
    lock = threading.Lock()

    def worker() -> None:
        from django.db import connection

        client = Client(HTTP_HOST=TENANT_A.domain)
        client.cookies["sessionid"] = session_cookie
        barrier.wait()
        response = post(client, {"name": "exactly-once"}, key="concurrent-key", url="/api/v1/_test/slow-groups")
        with lock:
            results.append((response.status_code, response.has_header("Idempotent-Replayed"), response.json()))
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 50
    statuses = sorted({status for status, _, _ in results})
    assert set(statuses) <= {201, 409}, results
    originals = [r for r in results if r[0] == 201 and not r[1]]
    assert len(originals) == 1
    assert all(r[2]["error"]["code"] == "idempotency_request_in_progress" for r in results if r[0] == 409)
    assert groups(tenant, "exactly-once") == 1
    # After the first completed, a retry replays it.
    again = post(base, {"name": "exactly-once"}, key="concurrent-key", url="/api/v1/_test/slow-groups")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == originals[0][2]


def test_anonymous_callers_are_scoped_by_their_address(tenant_a):
    one = Client(HTTP_HOST=TENANT_A.domain, REMOTE_ADDR="10.1.1.1")
    two = Client(HTTP_HOST=TENANT_A.domain, REMOTE_ADDR="10.2.2.2")
    assert post(one, {}, key="anon", url="/api/v1/_test/boom").status_code == 500
    with tenant_context(tenant_a):
        IdempotencyKey.objects.create(
            principal="anonymous:10.1.1.1",
            key="stored",
            fingerprint="x",
            method="POST",
            path="/p",
            state="completed",
            response_status=201,
            response_body=b"{}",
            created_at=timezone.now(),
            locked_until=timezone.now(),
            expires_at=timezone.now() + timedelta(hours=1),
        )
    # Another address using the same key is not the same caller: no mismatch, no replay.
    response = post(two, {}, key="stored", url="/api/v1/_test/boom")
    assert response.status_code == 500 and not response.has_header("Idempotent-Replayed")


def test_credential_responses_are_never_stored_for_replay(tenant_a, client_a):
    body = {"email": "idem@example.com", "password": "Sauce-Lover-2026"}
    first = client_a.post("/api/v1/auth/register", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="reg-1")
    assert first.status_code == 201
    with tenant_context(tenant_a):
        assert not IdempotencyKey.objects.filter(key="reg-1").exists()
    again = client_a.post("/api/v1/auth/register", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="reg-1")
    assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"
