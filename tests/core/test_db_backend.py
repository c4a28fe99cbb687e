"""The database backend (apps.core.db): the health check of a reused connection asks the socket
before it spends a SELECT 1 round trip, a connection the server ended is still replaced before a
request uses it, and psycopg caches the conversion of long statements."""

import select
import time

import psycopg._queries
import pytest
from django.db import connection, connections

from apps.core.db.base import connection_looks_healthy


@pytest.fixture
def fresh(db):
    """A connection of its own (not the test's, which runs inside the test transaction)."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _count_is_usable(wrapper, monkeypatch) -> list[bool]:
    calls: list[bool] = []
    real = wrapper.is_usable

    def counted() -> bool:
        calls.append(True)
        return real()

    monkeypatch.setattr(wrapper, "is_usable", counted)
    return calls


def test_the_backend_is_in_use_with_health_checks_on():
    assert connection.settings_dict["ENGINE"] == "apps.core.db"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert type(connections["default"]).__module__ == "apps.core.db.base"


def test_a_quiet_reused_connection_passes_without_a_select_1(fresh, monkeypatch):
    pid = _backend_pid(fresh)
    calls = _count_is_usable(fresh, monkeypatch)
    for _ in range(3):  # three requests on the same persistent connection
        fresh.close_if_unusable_or_obsolete()  # what request_started does
        assert fresh.health_check_done is False
        assert _backend_pid(fresh) == pid  # same session: not replaced
        assert fresh.health_check_done is True
    assert calls == []


def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it(fresh, monkeypatch):
    pid = _backend_pid(fresh)
    with connection.cursor() as cursor:  # another session ends it, as a restart or an admin would
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True
    poller = select.poll()
    poller.register(fresh.connection.pgconn.socket, select.POLLIN)
    deadline = time.monotonic() + 5
    while not poller.poll(50) and time.monotonic() < deadline:
        pass
    assert connection_looks_healthy(fresh.connection) is False  # the server's goodbye is waiting

    calls = _count_is_usable(fresh, monkeypatch)
    fresh.close_if_unusable_or_obsolete()
    new_pid = _backend_pid(fresh)  # no error: the dead connection was replaced first
    assert new_pid != pid
    assert calls == [True]  # the real check ran once, and failed


def test_a_connection_in_an_open_transaction_or_closed_does_not_look_healthy(fresh):
    raw = fresh.connection
    assert connection_looks_healthy(raw) is True
    raw.execute("BEGIN")
    assert connection_looks_healthy(raw) is False
    raw.execute("ROLLBACK")
    assert connection_looks_healthy(raw) is True
    raw.close()
    assert connection_looks_healthy(raw) is False
    assert connection_looks_healthy(None) is False  # anything unexpected: the real check decides


def test_long_statements_have_their_conversion_cached(db, monkeypatch):
    # 60 parameters and over 4 KB: psycopg's own limits (50, 4096) would re-parse it on every run.
    values = list(range(60))
    sql = "SELECT " + " + ".join(["%s"] * 60) + " /* " + "x" * 4200 + " */"
    uncached: list[int] = []
    real = psycopg._queries._query2pg_nocache

    def counted(query, encoding):
        uncached.append(len(query))
        return real(query, encoding)

    monkeypatch.setattr(psycopg._queries, "_query2pg_nocache", counted)
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute(sql, values)
            assert cursor.fetchone()[0] == sum(values)
    assert uncached == []
