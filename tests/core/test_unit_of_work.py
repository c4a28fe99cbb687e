"""The request's audit entries and outbox events: collected by `audit_batch` and written in ONE
statement at its end, dropped with a rolled-back savepoint, never deferred outside a transaction."""

from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from apps.core.audit import audit_batch, system_actor
from apps.core.models import OutboxEvent
from apps.core.services import events_record


def test_entries_and_events_of_a_batch_are_one_insert_with_the_events_ids(tenant_a):
    with tenant_context(tenant_a), system_actor("test"):
        with CaptureQueriesContext(connection) as queries, transaction.atomic(), audit_batch():
            Group.objects.create(name="uow-one")
            events_record([("test.first", {"n": 1})])
            Group.objects.create(name="uow-two")
            events_record([("test.second", {"n": 2}), ("test.third", {"n": 3})])
            assert not OutboxEvent.objects.filter(topic__startswith="test.").exists()  # still collected
        writes = [q["sql"] for q in queries if "auditlog_logentry" in q["sql"] or "core_outboxevent" in q["sql"]]
        writes = [sql for sql in writes if sql.lstrip().upper().startswith(("INSERT", "WITH"))]
        assert len(writes) == 1 and "auditlog_logentry" in writes[0] and "core_outboxevent" in writes[0]
        topics = list(
            OutboxEvent.objects.filter(topic__startswith="test.").order_by("id").values_list("topic", flat=True)
        )
        assert topics == ["test.first", "test.second", "test.third"]
        assert LogEntry.objects.filter(object_repr__in=["uow-one", "uow-two"]).count() == 2


def test_the_events_are_announced_after_commit_with_their_ids(tenant_a, django_capture_on_commit_callbacks):
    from apps.core.services import outbox_committed

    heard = []

    def listener(sender, events, **kwargs):
        heard.extend((e.pk, e.topic) for e in events)

    outbox_committed.connect(listener, dispatch_uid="test.uow")
    try:
        with tenant_context(tenant_a), system_actor("test"):
            with django_capture_on_commit_callbacks(execute=True):
                with transaction.atomic(), audit_batch():
                    events_record([("test.announced", {})])
                assert heard == []
            stored = OutboxEvent.objects.get(topic="test.announced")
    finally:
        outbox_committed.disconnect(dispatch_uid="test.uow")
    assert heard == [(stored.pk, "test.announced")]


def test_what_a_rolled_back_savepoint_recorded_is_dropped(tenant_a):
    with tenant_context(tenant_a), system_actor("test"):
        with transaction.atomic(), audit_batch():
            Group.objects.create(name="uow-kept")
            events_record([("test.kept", {})])
            try:
                with transaction.atomic():
                    Group.objects.create(name="uow-undone")
                    events_record([("test.undone", {})])
                    raise RuntimeError("roll the savepoint back")
            except RuntimeError:
                pass
        assert set(OutboxEvent.objects.filter(topic__startswith="test.").values_list("topic", flat=True)) == {
            "test.kept"
        }
        assert not LogEntry.objects.filter(object_repr="uow-undone").exists()
        assert LogEntry.objects.filter(object_repr="uow-kept").exists()


def test_an_error_or_a_rollback_records_nothing(tenant_a):
    with tenant_context(tenant_a), system_actor("test"):
        with transaction.atomic(), audit_batch():
            events_record([("test.rolled", {})])
            transaction.set_rollback(True)
        assert not OutboxEvent.objects.filter(topic="test.rolled").exists()


def test_a_batch_opened_outside_a_transaction_defers_nothing(committed_db):
    from apps.tenants.models import Tenant

    tenant_a = Tenant.objects.get(schema_name="tenant_a")
    assert not connection.in_atomic_block
    with tenant_context(tenant_a), system_actor("test"):
        with audit_batch():
            with transaction.atomic():  # commits on its own: its rows must be in it
                events_record([("test.inner", {})])
                Group.objects.create(name="uow-inner")
            assert OutboxEvent.objects.filter(topic="test.inner").exists()
        assert LogEntry.objects.filter(object_repr="uow-inner").count() == 1
