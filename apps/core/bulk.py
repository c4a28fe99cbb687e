"""Several models' rows in one round trip.

`bulk_create` costs one statement per model. Where a unit of work writes rows of several models
that nothing reads back (a stock change's ledger rows and its audit entries), `insert_together`
sends them as ONE statement: every bulk INSERT but the last becomes a data-modifying CTE of the
last (PostgreSQL runs them all, atomically, in the caller's transaction). The SQL and the values
are Django's own (`InsertQuery`), so defaults, `auto_now_add` and JSON fields behave exactly as in
`bulk_create`; the rows' primary keys are not read back.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import AutoField, Model
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery

# Above this many rows in all, one statement per model (the statement text grows with the rows).
MAX_ROWS_TOGETHER = 2000


_PLANS: dict[type[Model], tuple[str, list] | None] = {}


def _plan(model: type[Model]) -> tuple[str, list] | None:
    """The INSERT's head and its fields, once per model; None when a field needs Django's own
    compiler (a database default)."""
    if model not in _PLANS:
        opts = model._meta
        fields = [f for f in opts.concrete_fields if not f.generated and not isinstance(f, AutoField)]
        if any(f.has_db_default() for f in fields):
            _PLANS[model] = None
        else:
            quote = connection.ops.quote_name
            head = f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
            _PLANS[model] = (head, fields)
    return _PLANS[model]


def _insert_sql(model: type[Model], objs: Sequence[Model]) -> tuple[str, list]:
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    plan = _plan(model)
    if plan is not None:
        # The values as Django prepares them (pre_save: auto_now_add; get_db_prep_save: JSON,
        # decimals...), without building an InsertQuery and its compiler for every call.
        head, fields = plan
        params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
        if not any(hasattr(value, "resolve_expression") for value in params):
            row = "(" + ", ".join(["%s"] * len(fields)) + ")"
            return head + ", ".join([row] * len(objs)), params
    fields = [f for f in model._meta.concrete_fields if not f.generated and not isinstance(f, AutoField)]
    query = InsertQuery(model)
    query.insert_values(fields, objs)
    compiler = query.get_compiler(connection=connection)
    statements = compiler.as_sql()
    if len(statements) != 1:  # pragma: no cover - PostgreSQL inserts many rows in one statement
        raise RuntimeError("expected one INSERT statement")
    sql, params = statements[0]
    return sql, list(params)


def _saving(obj: Model) -> None:
    pre_save.send(sender=type(obj), instance=obj, raw=False, using=connection.alias, update_fields=None)


def _saved(obj: Model) -> None:
    post_save.send(sender=type(obj), instance=obj, created=True, update_fields=None, raw=False, using=connection.alias)


def insert_together(
    groups: Sequence[tuple[type[Model], Sequence[Model]]],
    *,
    returning_last: bool = False,
    returning_all: bool = False,
    signals_for: Sequence[type[Model]] = (),
) -> None:
    """Insert every group's rows; one statement for all of them (see the module docstring). With
    `returning_last` the last group's rows get their primary keys (read back in insertion order,
    as `bulk_create` does); with `returning_all` every group's rows do. The rows of the models in
    `signals_for` get `pre_save`/`post_save` as `save()` sends them (so the audit log records them;
    needs `returning_all`, the signals carry the primary key)."""
    groups = [(model, list(objs)) for model, objs in groups if objs]
    if not groups:
        return
    if signals_for and not returning_all:
        raise ValueError("signals_for needs returning_all: post_save carries the primary key")
    signalled = [obj for model, objs in groups if model in signals_for for obj in objs]
    for obj in signalled:
        _saving(obj)
    if returning_all and sum(len(objs) for _, objs in groups) <= MAX_ROWS_TOGETHER:
        _insert_returning_all(groups)
        for obj in signalled:
            _saved(obj)
        return
    if sum(len(objs) for _, objs in groups) > MAX_ROWS_TOGETHER:
        for model, objs in groups:
            model._default_manager.bulk_create(objs, batch_size=MAX_ROWS_TOGETHER)
        for obj in signalled:
            _saved(obj)
        return
    parts = [_insert_sql(model, objs) for model, objs in groups]
    *ctes, (last_sql, last_params) = parts
    last_model, last_objs = groups[-1]
    if returning_last:
        pk = last_model._meta.pk
        quote = connection.ops.quote_name
        last_sql += f" RETURNING {quote(last_model._meta.db_table)}.{quote(pk.column)}"
    sql = last_sql
    params: list = []
    if ctes:
        sql = "WITH " + ", ".join(f"_ins{n} AS ({text})" for n, (text, _) in enumerate(ctes)) + " " + last_sql
        params = [p for _, ps in ctes for p in ps]
    with connection.cursor() as cursor:
        cursor.execute(sql, params + last_params)
        if returning_last:
            for obj, (value,) in zip(last_objs, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
                obj._state.adding, obj._state.db = False, connection.alias


def _insert_returning_all(groups: list[tuple[type[Model], list[Model]]]) -> None:
    """Every group an INSERT ... RETURNING in a CTE, the statement a SELECT of all their keys. A
    statement draws each sequence's values in row order, so within a group the keys ascending are
    the rows in insertion order."""
    quote = connection.ops.quote_name
    ctes, params, selects = [], [], []
    for n, (model, objs) in enumerate(groups):
        sql, values = _insert_sql(model, objs)
        pk = model._meta.pk
        ctes.append(f"_ins{n} AS ({sql} RETURNING {quote(model._meta.db_table)}.{quote(pk.column)} AS id)")
        params += values
        selects.append(f"SELECT {n} AS g, id FROM _ins{n}")
    sql = "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(selects) + " ORDER BY 1, 2"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    keys: dict[int, list] = {}
    for group, key in rows:
        keys.setdefault(group, []).append(key)
    for n, (model, objs) in enumerate(groups):
        pk = model._meta.pk
        for obj, key in zip(objs, keys.get(n, []), strict=True):
            setattr(obj, pk.attname, key)
            obj._state.adding, obj._state.db = False, connection.alias


def insert_unless_conflict(obj: Model, *, on: Sequence[str]) -> bool:
    """`obj.save()` for a new row that may collide with a unique value (a random order number):
    INSERT ... ON CONFLICT (`on`: the unique fields) DO NOTHING RETURNING id, one statement and no
    savepoint (any other constraint still raises). True when the
    row went in (its primary key set, `pre_save`/`post_save` sent as `save()` sends them, so the
    audit log records it); False on a conflict, with nothing written and the transaction usable."""
    model = type(obj)
    _saving(obj)
    sql, params = _insert_sql(model, [obj])
    pk = model._meta.pk
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in on)
    sql += f" ON CONFLICT ({columns}) DO NOTHING RETURNING {quote(model._meta.db_table)}.{quote(pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    setattr(obj, pk.attname, row[0])
    obj._state.adding, obj._state.db = False, connection.alias
    _saved(obj)
    return True
