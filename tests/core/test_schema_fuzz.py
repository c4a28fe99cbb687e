"""Schema fuzz: every operation of the OpenAPI schema, called over real HTTP on the live test
server with data that schemathesis generates from the schema itself.

For each operation and each caller (a staff owner and a retail customer) it sends a handful of
generated requests (fixed seed, so a failure reproduces) and checks that the server never answers
5xx, that every status it answers is one the schema documents, and that every body matches the
documented schema for that status. The mobile apps are generated from this schema: a response
that does not match it breaks them.

* The schema is the one the server serves (`/api/v1/schema/`), fetched at the start.
* Operations that end the caller's own session (sign-out, password change, account deletion,
  session revocation) get a throwaway session per call, so they cannot blind the others.
* The server is gunicorn, started for this module against the test database. Rate limits are
  lifted for it only (the plan limits in test settings are already high; the per-address auth
  limit and the login lockout are raised in its environment).
* `FUZZ_EXAMPLES` (default 5) sets the number of generated requests per operation and caller.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from django_tenants.utils import tenant_context
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts import services as account_services
from apps.accounts.models import User, UserKind
from apps.tenants.models import Tenant
from tests import factories
from tests.accounts import principals as p
from tests.conftest import TENANT_A, _clean_tenant_tables, make_staff
from tests.servers import gunicorn_server

pytestmark = [pytest.mark.slow]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
# operationIds that end (or may end) the caller's own session: each call gets a fresh one.
SESSION_ENDING = {
    "auth_sign_out",
    "auth_sign_out_everywhere",
    "auth_password_change",
    "me_delete",
    "auth_sessions_revoke",
    "customers_sessions_revoke",
    "auth_guest_upgrade",
}


def _operations() -> list[tuple[str, str, str]]:
    schema = SchemaGenerator(urlconf="config.urls_tenant").get_schema(request=None, public=True)
    return sorted(
        (path, method.upper(), operation["operationId"])
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    )


OPERATIONS = _operations()


class World:
    """Committed data the fuzzed requests can find: a store with stock, a product, two callers."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        with tenant_context(tenant):
            self.store = factories.location(code="fuzz-store", pickup_enabled=True, curbside_enabled=True)
            self.variant = factories.variant(sku="FUZZ-1")
            factories.receive(self.store, self.variant, 500)
            self.owner = make_staff(tenant, email="fuzz-owner@example.com")
            self.retail = User.objects.create_user("fuzz-retail@example.com", p.PASSWORD, kind=UserKind.RETAIL)
        self.tokens = {"owner": self.token(self.owner), "retail": self.token(self.retail)}

    def token(self, user: User) -> str:
        with tenant_context(self.tenant):
            return account_services.session_start(user=user, device_name="fuzz").access

    def throwaway(self, principal: str) -> str:
        """A new session of a new user of the same kind: what a session-ending call may end."""
        with tenant_context(self.tenant):
            if principal == "owner":
                user = make_staff(self.tenant, email=f"fuzz-owner-{os.urandom(4).hex()}@example.com")
            else:
                user = p.user_of_kind(UserKind.RETAIL)
        return self.token(user)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    # The database stays open for the whole module: the server thread and the test share it, and
    # what the requests write is committed (cleaned at the end, like `committed_db`).
    with django_db_blocker.unblock():
        try:
            yield World(Tenant.objects.get(schema_name=TENANT_A.schema))
        finally:
            _clean_tenant_tables()


@pytest.fixture(scope="module")
def server_url(world, tmp_path_factory) -> Iterator[str]:
    """The real server the way production runs it, against the test database and test Redis, with
    the auth rate limit and the login lockout lifted (tests/servers.py)."""
    log = tmp_path_factory.mktemp("fuzz") / "server.log"
    with gunicorn_server(
        log,
        AUTH_RATE_LIMIT="100000/minute",
        LOGIN_LOCKOUT_ATTEMPTS="1000000",
        CURBSIDE_STREAM_SECONDS="1",  # event streams end quickly instead of holding a thread
    ) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def served_schema(server_url) -> schemathesis.BaseSchema:
    response = requests.get(f"{server_url}/api/v1/schema/?format=json", headers={"Host": TENANT_A.domain}, timeout=30)
    response.raise_for_status()
    return schemathesis.openapi.from_dict(response.json())


@pytest.mark.parametrize("principal", ["owner", "retail"])
@pytest.mark.parametrize(("path", "method", "operation_id"), OPERATIONS, ids=[op[2] for op in OPERATIONS])
def test_operation_conforms_to_its_schema(principal, path, method, operation_id, server_url, world, served_schema):
    operation = served_schema[path][method]
    failures: list[str] = []

    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=operation.as_strategy())
    def call(case: schemathesis.Case) -> None:
        token = world.throwaway(principal) if operation_id in SESSION_ENDING else world.tokens[principal]
        headers = {"Host": TENANT_A.domain, "Authorization": f"Bearer {token}"}
        response = case.call(base_url=server_url, headers=headers, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            failures.append(f"{case.as_curl_command(headers)}\n  -> {response.status_code}: {group}")

    call()
    assert not failures, "\n\n".join(failures[:3])
