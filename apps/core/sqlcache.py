"""One-row reads on the hot path without the ORM's per-request compilation.

Compiling a queryset to SQL is most of the cost of a one-row read here: for an order with its
select_related location and two JSON subqueries, ~2 ms of Python per request against ~0.3 ms for
the database round trip. Yet the SQL of such a read is the same on every request; only the values
in its WHERE clause change.

`first(queryset, key)` compiles the WHERE clause alone (cheap: a few lookups) and, when a statement
of the same `key` and the same WHERE text was compiled before in this process, runs that statement
with the new values and builds the instance the way Django's ModelIterable does (`from_db`, the
related populators of select_related, annotations, each column's converters). Otherwise it
compiles in full and stores the statement under (key, WHERE text): each scoping (a customer's own
orders, a store manager's) gets its own entry. A statement is stored only when the WHERE values
are its only parameters, so the values always go in the same order.

`key` names the rest of the shape: the model, select_related, annotations, ordering. Use one per
call site. With `SQLCACHE_VERIFY` on (the test settings), every cached run is checked against a
full compile, so a key shared by two shapes fails the tests.

`first_of(key, build, *values)` goes one step further on the hottest reads (the session behind
every token, an order by id): once `key`'s statement is known for values of these types, the
queryset is not even built (building one costs more than compiling its WHERE). `build(*values)`
must give the same statement for every value of the same types, each value being one WHERE
parameter, in order; the statement is only stored when that holds for the call that compiles it,
and values of other kinds (None, lists, model instances) always take the full path.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Shape:
    """What building an instance from a row of `sql` needs, worked out once from the compiler."""

    sql: str
    model: type[Model]
    init_list: list[str]  # attnames of the model's own columns, in select order
    start: int
    end: int
    populators: list  # select_related (RelatedPopulator: no per-row state)
    annotations: tuple[tuple[str, int], ...]
    converters: tuple[tuple[int, tuple, object], ...]  # (position, converter functions, expression)

    @classmethod
    def of(cls, sql: str, compiler: SQLCompiler, db: str) -> _Shape:
        select, klass_info = compiler.select, compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        fields = [column[0] for column in select[0 : compiler.col_count]]
        # Converters (each field's from_db_value; PostgreSQL adds none of its own) are called with
        # the connection of the request that runs the statement, as Django does.
        converters = tuple((pos, tuple(funcs), expr) for pos, (funcs, expr) in compiler.get_converters(fields).items())
        return cls(
            sql=sql,
            model=klass_info["model"],
            init_list=[column[0].target.attname for column in select[start:end]],
            start=start,
            end=end,
            populators=get_related_populators(klass_info, select, db),
            annotations=tuple(compiler.annotation_col_map.items()),
            converters=converters,
        )


_SHAPES: dict[tuple[str, str], _Shape] = {}
_MAX_SHAPES = 512  # keys are named in code and scopings are few; the bound is a guard, not a policy


def first(queryset: QuerySet, key: str) -> Model | None:
    """`queryset.first()`, through the statement cache (see the module)."""
    qs = (queryset if queryset.ordered else queryset.order_by("pk"))[:1]
    shape, params = _compiled(qs, key)
    return next(iter(qs), None) if shape is None else _run(shape, params, qs.db)


# Values whose type alone fixes the SQL a lookup compiles to (None, lists and instances do not).
_SCALARS = frozenset({int, str, uuid.UUID, decimal.Decimal, datetime.date, datetime.datetime})
_BY_VALUES: dict[tuple, tuple[_Shape, str]] = {}
_BIGINT = 2**63


def first_of(key: str, build: Callable[..., QuerySet], *values: object) -> Model | None:
    """`build(*values).first()`, without building the queryset once `key`'s statement is known for
    values of these types (see the module)."""
    return _of(key, build, values, many=False)


def rows_of(key: str, build: Callable[..., QuerySet], *values: object) -> list[Model]:
    """`list(build(*values))` the same way: every row, as instances (for a handful of rows: an
    order's variants by SKU; `key` is kept per number and types of values)."""
    return _of(key, build, values, many=True)


def _of(key: str, build: Callable[..., QuerySet], values: tuple, *, many: bool):  # noqa: ANN202
    types = tuple(type(value) for value in values)
    scalar = all(kind in _SCALARS for kind in types) and all(
        -_BIGINT <= value < _BIGINT for value in values if type(value) is int
    )  # an id beyond bigint: the ORM answers it without a query
    verify = getattr(settings, "SQLCACHE_VERIFY", False)
    if scalar and not verify:
        hit = _BY_VALUES.get((key, types))
        if hit is not None:
            return _run(hit[0], values, hit[1], many=many)
    queryset = build(*values)
    qs = queryset if many else (queryset if queryset.ordered else queryset.order_by("pk"))[:1]
    shape, params = _compiled(qs, key)
    if shape is None:
        return list(qs) if many else next(iter(qs), None)
    if scalar:
        stored = _BY_VALUES.get((key, types))
        if stored is None and params == values and len(_BY_VALUES) < _MAX_SHAPES:
            _BY_VALUES[(key, types)] = (shape, qs.db)
        elif verify and stored is not None and (stored[0].sql != shape.sql or params != values):
            raise AssertionError(f"sqlcache key {key!r} is built into two statements:\n{stored[0].sql}\n{shape.sql}")
    return _run(shape, params, qs.db, many=many)


def clear() -> None:
    """Forget every stored statement (tests)."""
    _SHAPES.clear()
    _BY_VALUES.clear()


def _compiled(qs: QuerySet, key: str) -> tuple[_Shape | None, tuple]:
    """The shape of `qs` stored under (key, its WHERE text), compiled when it is not, and the WHERE's
    values; (None, ()) when it cannot be cached (the ORM runs it instead)."""
    if (
        qs._iterable_class is not ModelIterable
        or qs._prefetch_related_lookups
        or qs._known_related_objects
        or qs.query.combinator
    ):
        return None, ()
    query = qs.query
    compiler = query.get_compiler(using=qs.db)
    try:
        where_sql, where_params = compiler.compile(query.where) if query.where else ("", [])
    except (EmptyResultSet, FullResultSet):
        # A WHERE that matches nothing (an id beyond bigint) or everything: the ORM knows what to do.
        return None, ()
    shape = _SHAPES.get((key, where_sql))
    if shape is None:
        sql, params = compiler.as_sql()
        if tuple(params) != tuple(where_params) or (where_sql and where_sql not in sql):
            return None, ()  # other parameters than the WHERE's: not cacheable
        shape = _Shape.of(sql, compiler, qs.db)
        if len(_SHAPES) < _MAX_SHAPES:
            _SHAPES[(key, where_sql)] = shape
    elif getattr(settings, "SQLCACHE_VERIFY", False):
        fresh_sql, fresh_params = query.get_compiler(using=qs.db).as_sql()
        if fresh_sql != shape.sql or tuple(fresh_params) != tuple(where_params):
            raise AssertionError(f"sqlcache key {key!r} is used for two shapes:\n{shape.sql}\n{fresh_sql}")
    return shape, tuple(where_params)


def _run(shape: _Shape, params: tuple, db: str, *, many: bool = False):  # noqa: ANN202
    connection = connections[db]  # this thread's connection, not the one it was compiled on
    with connection.cursor() as cursor:
        cursor.execute(shape.sql, params)
        rows = cursor.fetchall() if many else cursor.fetchmany(1)
    objs = [_instance(shape, row, db, connection) for row in rows]
    return objs if many else (objs[0] if objs else None)


def _instance(shape: _Shape, row: tuple, db: str, connection: object) -> Model:
    if shape.converters:
        row = list(row)
        for pos, funcs, expression in shape.converters:
            value = row[pos]
            for convert in funcs:
                value = convert(value, expression, connection)
            row[pos] = value
    obj = shape.model.from_db(db, shape.init_list, row[shape.start : shape.end])
    for populator in shape.populators:
        populator.populate(row, obj)
    for attr_name, col_pos in shape.annotations:
        setattr(obj, attr_name, row[col_pos])
    return obj
