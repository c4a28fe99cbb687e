"""Who did it: the actor behind every audit-log entry (django-auditlog's LogEntry).

The actor is a user (session or token), a partner API key, or the system (a Celery task, a
management command). Web requests are covered by `AuditActorMiddleware`: it remembers the
request, and the actor is read when an entry is written, after DRF authenticated the caller
(DRF puts the authenticated user on the Django request). Tasks and commands wrap their work
in `system_actor("...")`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from auditlog.models import LogEntry
from django.db import connection, transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from apps.core.context import Actor, actor_var, request_id_var

_request_var: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


class AuditActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request_var.set(request)
        try:
            return self.get_response(request)
        finally:
            _request_var.reset(token)


@contextlib.contextmanager
def system_actor(label: str) -> Iterator[Actor]:
    """Attribute the changes made inside this block to the system (a task, a command)."""
    actor = Actor(kind="system", label=label)
    token = actor_var.set(actor)
    try:
        yield actor
    finally:
        actor_var.reset(token)


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = actor_var.set(actor)
    try:
        yield actor
    finally:
        actor_var.reset(token)


def _request_user(request: HttpRequest, evaluate: bool):  # noqa: ANN202
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty and not evaluate:
        return None
    return user


def current_actor(*, evaluate: bool = True) -> Actor | None:
    """The actor in this context. `evaluate=False` never runs a query (used by log filters)."""
    explicit = actor_var.get()
    if explicit is not None:
        return explicit
    request = _request_var.get()
    if request is None:
        return None
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return Actor(kind="api_key", label=f"api-key:{api_key.prefix}", api_key_id=api_key.pk)
    user = _request_user(request, evaluate)
    if user is not None and getattr(user, "is_authenticated", False):
        return Actor(kind="user", label=user.get_username(), user_id=user.pk)
    return Actor(kind="anonymous", label="anonymous")


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@receiver(pre_save, sender=LogEntry, dispatch_uid="core.audit.fill_actor")
def fill_actor(sender: type[LogEntry], instance: LogEntry, **kwargs: object) -> None:
    actor = current_actor()
    request = _request_var.get()
    if instance.cid is None:
        instance.cid = request_id_var.get()
    if request is not None and instance.remote_addr is None:
        instance.remote_addr = _client_ip(request)
    if actor is None:
        actor = Actor(kind="system", label="unattributed")
    if actor.kind == "user" and actor.user_id is not None and instance.actor_id is None:
        instance.actor_id = actor.user_id
        user = _request_user(request, True) if request is not None else None
        instance.actor_email = getattr(user, "email", None)
    data = dict(instance.additional_data or {})
    data["actor"] = {"kind": actor.kind, "label": actor.label}
    if actor.api_key_id is not None:
        data["actor"]["api_key_id"] = actor.api_key_id
    instance.additional_data = data


# ---------------------------------------------------------------------------------------------
# Batched writes: the request's audit entries and outbox events in ONE statement at its end.
#
# Inside `audit_batch()` (opened inside the request's transaction) every audit entry django-auditlog
# writes, every entry a service builds (`entry_for`) and every outbox event (`events_record`) is
# collected, not inserted; when the block ends they are written together with one INSERT (the
# entries as a data-modifying CTE of the events' INSERT), in the same transaction as the changes
# they record. Rows collected inside a savepoint that was rolled back are dropped with it: each
# group registers a no-op `on_commit` marker, and Django forgets the markers of a rolled-back
# savepoint. Outside a transaction nothing is deferred (each write goes in at once, as before).


class _Pending(list):
    """The open batch's groups: (marker, model, rows). `atomic`: opened inside a transaction (a
    batch opened outside one defers nothing: an inner transaction would commit its rows first)."""

    atomic = False


_batch_var: ContextVar[_Pending | None] = ContextVar("audit_batch", default=None)


def _noop() -> None:
    return None


def defer(model: type, rows: list) -> bool:
    """Collect `rows` (LogEntry or OutboxEvent objects) for the open batch's single INSERT. False
    (nothing collected) when no batch is open or the connection is not in a transaction."""
    pending = _batch_var.get()
    if pending is None or not rows or not pending.atomic or not connection.in_atomic_block:
        return False
    marker = functools.partial(_noop)  # a distinct object per group, forgotten on savepoint rollback
    transaction.on_commit(marker)
    pending.append((marker, model, rows))
    return True


def in_unit_of_work() -> bool:
    """True inside a batch opened in a transaction that rolls back as a whole on any error (the
    idempotent request's): a service's nested atomic block needs no savepoint there."""
    pending = _batch_var.get()
    return pending is not None and pending.atomic and connection.in_atomic_block


def atomic_service(func: Callable) -> Callable:
    """`transaction.atomic` for a service on a hot path: no savepoint inside the unit of work (see
    `in_unit_of_work`), a savepoint elsewhere (a caller may catch the error and go on)."""

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> object:
        with transaction.atomic(savepoint=not in_unit_of_work()):
            return func(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def audit_batch() -> Iterator[_Pending]:
    """Collect the block's audit entries and outbox events and write them in one statement when it
    ends without an error (see above). Use it inside the transaction. Nested blocks join the outer
    one. An error, or a transaction marked for rollback, discards them with the changes."""
    if _batch_var.get() is not None:
        yield _batch_var.get()
        return
    pending = _Pending()
    pending.atomic = connection.in_atomic_block
    token = _batch_var.set(pending)
    try:
        yield pending
    finally:
        _batch_var.reset(token)
    if pending and not connection.needs_rollback:  # a rolled-back unit of work records nothing
        _flush(pending)


def _flush(pending: list) -> None:
    from apps.core.bulk import insert_together
    from apps.core.models import OutboxEvent
    from apps.core.services import outbox_announce

    alive = {id(func) for _, func, _ in connection.run_on_commit}
    by_model: dict[type, list] = {}
    for marker, model, rows in pending:
        if id(marker) in alive:
            by_model.setdefault(model, []).extend(rows)
    entries, events = by_model.pop(LogEntry, []), by_model.pop(OutboxEvent, [])
    if by_model:  # pragma: no cover - only the two kinds are ever deferred
        raise TypeError(f"cannot defer {sorted(m.__name__ for m in by_model)}")
    insert_together([(LogEntry, entries), (OutboxEvent, events)], returning_last=bool(events))
    if events:
        outbox_announce(events)


def _create_or_collect(manager: object, **kwargs: object) -> LogEntry:
    pending = _batch_var.get()
    if pending is None or not pending.atomic or not connection.in_atomic_block:
        return _manager_create(manager, **kwargs)
    entry = LogEntry(**kwargs)
    fill_actor(LogEntry, entry)  # what pre_save does for a single insert
    defer(LogEntry, [entry])
    return entry


def _row_field(field: object) -> bool:
    """Audit the model's own row: not many-to-many fields, not relations to LogEntry, and not the
    reverse side of another model's relation (reading `order.payment` to log an order costs a query
    and is not a change of the order)."""
    if getattr(field, "auto_created", False) and not getattr(field, "concrete", True):
        return False
    return _auditlog_track_field(field)


def install() -> None:
    """Wire the batching and the row-only field rule into django-auditlog (called once, at start)."""
    global _manager_create, _auditlog_track_field
    import auditlog.diff
    from auditlog.models import LogEntryManager

    if getattr(LogEntryManager.create, "_fnb_batched", False):
        return
    _manager_create = LogEntryManager.create
    _create_or_collect._fnb_batched = True  # type: ignore[attr-defined]
    LogEntryManager.create = _create_or_collect
    _auditlog_track_field = auditlog.diff.track_field
    auditlog.diff.track_field = _row_field


_manager_create: Callable[..., LogEntry]
_auditlog_track_field: Callable[[object], bool]


# ---------------------------------------------------------------------------------------------
# Entries for changes made in SQL (conditional UPDATEs, set-based statements): no model instance
# goes through save(), so no signal fires. The service that made the change builds the entries
# and writes them together with its other rows (see apps.core.bulk.insert_together).


def entry_for(
    model: type,
    *,
    object_pk: object,
    object_repr: str,
    action: int = LogEntry.Action.UPDATE,
    changes: dict[str, list] | None = None,
    extra: dict | None = None,
) -> LogEntry:
    """An unsaved audit entry for a change of `model`'s row `object_pk`, with the actor, the request
    id and the client address filled in as for any other entry. `changes` is django-auditlog's
    `{field: [before, after]}`; `extra` goes to `additional_data` beside the actor."""
    from django.contrib.contenttypes.models import ContentType

    entry = LogEntry(
        content_type=ContentType.objects.get_for_model(model),  # cached after the first call
        object_pk=str(object_pk),
        object_id=int(object_pk) if str(object_pk).isdigit() else None,
        object_repr=object_repr[:2000],
        action=action,
        changes=changes or {},
        changes_text="",
        additional_data=dict(extra or {}),
    )
    fill_actor(LogEntry, entry)
    return entry
