"""What the PostgreSQL-restart fault run showed (bench.load fault postgres-restart): requests in
flight while the database restarts must answer a clear 503 `service_unavailable` with Retry-After
(nothing was applied; try again), not 500 `server_error` (a bug, logged with its stack and sent to
Sentry). Both paths: an API view, and the middleware before any view (the tenant lookup)."""

from __future__ import annotations

import psycopg
import pytest
import redis
from django.db import OperationalError
from django.test import Client

from apps.catalog.api import views as catalog_views
from apps.tenants import middleware
from tests.conftest import TENANT_A


def _db_gone() -> OperationalError:
    try:
        raise psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")
    except psycopg.OperationalError as cause:
        error = OperationalError("server closed the connection unexpectedly")
        error.__cause__ = cause
        return error


def _client() -> Client:
    return Client(HTTP_HOST=TENANT_A.domain, raise_request_exception=False)


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    body = response.json()["error"]
    assert body["code"] == "service_unavailable"
    assert body["details"] == {"retry_after": 5}


def test_the_database_gone_inside_a_view_is_a_503_with_retry_after(tenant_a, monkeypatch):
    def gone(self):
        raise _db_gone()

    monkeypatch.setattr(catalog_views.ProductListView, "get_queryset", gone)
    _assert_unavailable(_client().get("/api/v1/products"))


def test_the_database_shutting_down_is_a_503_too(tenant_a, monkeypatch):
    def shutting_down(self):
        error = OperationalError("terminating connection due to administrator command")
        error.__cause__ = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
        raise error

    monkeypatch.setattr(catalog_views.ProductListView, "get_queryset", shutting_down)
    _assert_unavailable(_client().get("/api/v1/products"))


def test_the_database_gone_before_any_view_is_a_503_from_the_error_view(tenant_a, monkeypatch):
    def lookup(hostname):
        raise _db_gone()

    monkeypatch.setattr(middleware, "_lookup", lookup)
    _assert_unavailable(_client().get("/api/v1/products"))


def test_redis_unreachable_inside_a_view_is_a_503(tenant_a, monkeypatch):
    def gone(self):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(catalog_views.ProductListView, "get_queryset", gone)
    _assert_unavailable(_client().get("/api/v1/products"))


@pytest.mark.parametrize("cause", [psycopg.errors.DeadlockDetected, psycopg.errors.QueryCanceled])
def test_other_database_errors_stay_a_500_server_error(tenant_a, monkeypatch, cause):
    def broken(self):
        error = OperationalError("not an outage")
        error.__cause__ = cause("not an outage")
        raise error

    monkeypatch.setattr(catalog_views.ProductListView, "get_queryset", broken)
    response = _client().get("/api/v1/products")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
