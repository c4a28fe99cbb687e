"""apps.core.bulk.insert_together: rows of several models in one statement. What goes in comes
back as `bulk_create` would have stored it, whatever the values: quotes, commas, braces,
backslashes, the text "NULL", non-ASCII, NULLs, JSON of every shape, IP addresses; one statement
for any number of rows, and the last group's ids come back in insertion order."""

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django_tenants.utils import tenant_context

from apps.core.bulk import insert_together
from apps.core.models import OutboxEvent
from apps.stock.models import Location

AWKWARD = ["plain", 'it\'s "quoted"', "a,b", "{braces}", "back\\slash", "NULL", "", "naïve 辣酱 🌶"]
JSONS = [None, {"a": [1, 2.5, None]}, [], "null", 0, {"nested": {"x": "}{,\\"}}, [None], True]


def _entries(content_type, tag):
    from auditlog.models import LogEntry

    return [
        LogEntry(
            content_type=content_type,
            object_pk=f"{tag}-{n}",
            object_id=None if n % 3 == 0 else n,
            object_repr=text,
            action=n % 3,
            changes_text=text,
            changes=JSONS[n],
            remote_addr=[None, "127.0.0.1", "::1", "2001:db8::5"][n % 4],
            remote_port=None if n % 2 else 40000 + n,
            additional_data=JSONS[-1 - n],
            actor_email=None if n % 2 else text[:40],
        )
        for n, text in enumerate(AWKWARD)
    ]


def _stored(tag):
    from auditlog.models import LogEntry

    rows = LogEntry.objects.filter(object_pk__startswith=f"{tag}-").order_by("pk")
    fields = ["object_pk", "object_id", "object_repr", "action", "changes_text", "changes", "remote_addr"]
    fields += ["remote_port", "additional_data", "actor_email"]
    return [tuple(getattr(row, name) for name in fields) for row in rows], [row.timestamp for row in rows]


def test_rows_come_back_as_bulk_create_stores_them(tenant_a):
    from auditlog.models import LogEntry

    with tenant_context(tenant_a):
        content_type = ContentType.objects.get_for_model(Location)
        before = dt.datetime.now(dt.UTC)
        insert_together([(LogEntry, _entries(content_type, "together"))])
        LogEntry.objects.bulk_create(_entries(content_type, "bulk"))
        together, stamps = _stored("together")
        bulk, _ = _stored("bulk")
        assert len(together) == len(AWKWARD)
        assert [row[1:] for row in together] == [row[1:] for row in bulk]  # all but the object_pk tag
        assert [row[2] for row in together] == AWKWARD
        assert all(stamp >= before for stamp in stamps)  # auto_now_add set on every row


def test_one_statement_for_any_number_of_rows_and_the_ids_in_order(tenant_a):
    from auditlog.models import LogEntry

    with tenant_context(tenant_a):
        content_type = ContentType.objects.get_for_model(Location)
        for size in (1, 3, 7):
            entries = _entries(content_type, f"size{size}")[:size]
            events = [OutboxEvent(topic="test.bulk", payload={"n": n, "text": AWKWARD[n]}) for n in range(size)]
            sent = []

            def record(execute, sql, params, many, context, sent=sent):
                sent.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(record):
                insert_together([(LogEntry, entries), (OutboxEvent, events)], returning_last=True)
            assert len(sent) == 1
            assert [e.pk for e in events] == sorted(e.pk for e in events)
            stored = OutboxEvent.objects.in_bulk([e.pk for e in events])
            assert [stored[e.pk].payload for e in events] == [e.payload for e in events]
            assert LogEntry.objects.filter(object_pk__startswith=f"size{size}-").count() == size


def test_returning_all_gives_every_group_its_ids_in_insertion_order(tenant_a):
    from auditlog.models import LogEntry

    with tenant_context(tenant_a):
        content_type = ContentType.objects.get_for_model(Location)
        entries = _entries(content_type, "all")
        events = [OutboxEvent(topic="test.bulk", payload={"n": n}) for n in range(3)]
        sent = []

        def record(execute, sql, params, many, context):
            sent.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            insert_together([(LogEntry, entries), (OutboxEvent, events)], returning_all=True)
        assert len(sent) == 1
        assert all(e.pk is not None and not e._state.adding for e in entries + events)
        assert [e.pk for e in entries] == sorted(e.pk for e in entries)
        stored = LogEntry.objects.in_bulk([e.pk for e in entries])
        assert [stored[e.pk].object_pk for e in entries] == [f"all-{n}" for n in range(len(AWKWARD))]
        assert [OutboxEvent.objects.get(pk=e.pk).payload for e in events] == [{"n": 0}, {"n": 1}, {"n": 2}]
