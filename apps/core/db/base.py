"""django-tenants' PostgreSQL backend, with a connection health check that costs no round trip.

Django's CONN_HEALTH_CHECKS runs `SELECT 1` on a reused persistent connection before the first
statement of every request: one more round trip per request, more than a quarter of a one-row
read's. This backend first asks the socket instead. A connection that is idle, open and has
nothing waiting on its socket is as healthy as a `SELECT 1` could tell without a round trip: when
PostgreSQL ends a session (restart, `pg_terminate_backend`, idle timeout, a crashed backend) it
sends its error and closes the socket, which makes the socket readable. Anything else (data
waiting, a closed or broken connection, a transaction left open, a poll error) falls back to
Django's own check, which runs `SELECT 1` and replaces the connection when it fails. A network
that drops packets silently is caught by neither check before the TCP timeouts; that is what the
connection's keepalive options are for.

It also lets psycopg cache the conversion of long statements: psycopg re-parses the `%s`
placeholders of any statement over 4 KB or 50 parameters on every run (`_query2pg_nocache`), and
the hot path's multi-row inserts (an order's ledger rows with their audit entries in one
statement: ~10 KB) are that long. The cache is an LRU of 128 statements.
"""

from __future__ import annotations

import select

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

try:
    from psycopg import _queries as _psycopg_queries
    from psycopg.pq import ConnStatus, TransactionStatus
except ImportError:  # pragma: no cover - psycopg 2 is not supported by this platform
    _psycopg_queries = None

# Statements up to this long, with up to this many parameters, have their conversion cached.
CACHED_STATEMENT_MAX_LENGTH = 64 * 1024
CACHED_STATEMENT_MAX_PARAMS = 2_000
if _psycopg_queries is not None and hasattr(_psycopg_queries, "MAX_CACHED_STATEMENT_LENGTH"):
    _psycopg_queries.MAX_CACHED_STATEMENT_LENGTH = max(
        _psycopg_queries.MAX_CACHED_STATEMENT_LENGTH, CACHED_STATEMENT_MAX_LENGTH
    )
    _psycopg_queries.MAX_CACHED_STATEMENT_PARAMS = max(
        _psycopg_queries.MAX_CACHED_STATEMENT_PARAMS, CACHED_STATEMENT_MAX_PARAMS
    )

_UNHEALTHY_EVENTS = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP | select.POLLNVAL


def connection_looks_healthy(connection: object) -> bool:
    """True when a psycopg connection is open, idle and nothing waits on its socket (no query)."""
    try:
        if connection.closed or connection.broken:
            return False
        pgconn = connection.pgconn
        if pgconn.status != ConnStatus.OK or pgconn.transaction_status != TransactionStatus.IDLE:
            return False
        poller = select.poll()
        poller.register(pgconn.socket, _UNHEALTHY_EVENTS)
        return not poller.poll(0)
    except Exception:  # any doubt: let the real check decide
        return False


class DatabaseWrapper(TenantDatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and connection_looks_healthy(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()  # SELECT 1; closes the connection when it fails
