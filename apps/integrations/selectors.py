"""Reads of the integrations app."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from apps.core.models import OutboxEvent
from apps.integrations.models import WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list(*, api_key: object | None) -> QuerySet[WebhookEndpoint]:
    """A partner key sees the endpoints it created; owners see all of the tenant's."""
    endpoints = WebhookEndpoint.objects.all()
    return endpoints.filter(created_by_key=api_key) if api_key is not None else endpoints


def webhook_delivery_list(*, api_key: object | None) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint__in=webhook_endpoint_list(api_key=api_key)).select_related(
        "endpoint"
    )


# ---------------------------------------------------------------------------------------------
# Changes since a cursor (partner sync)


@dataclass(frozen=True)
class Cursor:
    txid: int
    id: int

    def encode(self) -> str:
        return f"{self.txid}-{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor:
        if not raw:
            return cls(0, 0)
        txid, _, pk = raw.partition("-")
        if not (txid.isdigit() and pk.isdigit()) or len(raw) > 40:
            raise ValueError(raw)
        return cls(int(txid), int(pk))


# The oldest transaction of this database still running (only those can write our outbox; the
# cluster-wide xmin would also wait for other databases' transactions), else the next xid.
_HORIZON_SQL = """
SELECT COALESCE(
    (SELECT min(x) FROM txid_snapshot_xip(snap.s) AS x
     WHERE mod(x, 4294967296)::text::xid IN (
         SELECT backend_xid FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL)),
    txid_snapshot_xmax(snap.s))
FROM (SELECT txid_current_snapshot() AS s) AS snap
"""


def outbox_changes(*, cursor: Cursor, limit: int, topics: Q) -> tuple[list[OutboxEvent], Cursor]:
    """Outbox events after `cursor`, in (writing transaction, id) order, and only those written by
    transactions older than the oldest one still running.

    An id cursor alone is not safe: ids are taken when a row is inserted, but rows become visible at
    commit, so a transaction that took id 100 and commits after id 101 was read would be skipped.
    Every transaction of this database older than the horizon has finished, so nothing can appear below
    that line later: paging by (txid, id) up to it has no gaps and no repeats."""
    with connection.cursor() as c:
        c.execute(_HORIZON_SQL)
        horizon = c.fetchone()[0]
    after = Q(txid__gt=cursor.txid) | Q(txid=cursor.txid, id__gt=cursor.id)
    rows = list(
        OutboxEvent.objects.filter(after, topics, txid__lt=horizon)
        .order_by("txid", "id")
        .only("id", "topic", "payload", "created_at", "txid")[:limit]
    )
    if rows:
        return rows, Cursor(rows[-1].txid, rows[-1].pk)
    # Nothing new: the cursor can still move up to the horizon (past filtered-out events).
    return rows, cursor if cursor.txid >= horizon - 1 else Cursor(horizon - 1, 2**62)
