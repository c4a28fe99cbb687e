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
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql.compiler import MULTI, SQLCompiler


@dataclass(frozen=True)
class _Shape:
    sql: str
    compiler: SQLCompiler  # after as_sql(): select, klass_info, annotation_col_map are set


_SHAPES: dict[tuple[str, str], _Shape] = {}
_MAX_SHAPES = 512  # keys are named in code and scopings are few; the bound is a guard, not a policy


def first(queryset: QuerySet, key: str) -> Model | None:
    """`queryset.first()`, through the statement cache (see the module)."""
    qs = (queryset if queryset.ordered else queryset.order_by("pk"))[:1]
    if (
        qs._iterable_class is not ModelIterable
        or qs._prefetch_related_lookups
        or qs._known_related_objects
        or qs.query.combinator
    ):
        return next(iter(qs), None)
    query = qs.query
    compiler = query.get_compiler(using=qs.db)
    try:
        where_sql, where_params = compiler.compile(query.where) if query.where else ("", [])
    except (EmptyResultSet, FullResultSet):
        # A WHERE that matches nothing (an id beyond bigint) or everything: the ORM knows what to do.
        return next(iter(qs), None)
    shape = _SHAPES.get((key, where_sql))
    if shape is None:
        sql, params = compiler.as_sql()
        if tuple(params) != tuple(where_params) or (where_sql and where_sql not in sql):
            return next(iter(qs), None)  # other parameters than the WHERE's: not cacheable
        shape = _Shape(sql, compiler)
        if len(_SHAPES) < _MAX_SHAPES:
            _SHAPES[(key, where_sql)] = shape
    elif getattr(settings, "SQLCACHE_VERIFY", False):
        fresh_sql, fresh_params = query.get_compiler(using=qs.db).as_sql()
        if fresh_sql != shape.sql or tuple(fresh_params) != tuple(where_params):
            raise AssertionError(f"sqlcache key {key!r} is used for two shapes:\n{shape.sql}\n{fresh_sql}")
    return _run(shape, tuple(where_params), qs.db)


def _run(shape: _Shape, params: tuple, db: str) -> Model | None:
    run = copy.copy(shape.compiler)  # per call: execute_sql may set attributes on it
    run.connection = connections[db]  # this thread's connection, not the one it was compiled on
    run.as_sql = lambda *args, **kwargs: (shape.sql, params)
    results = run.execute_sql(MULTI)
    select, klass_info, annotation_col_map = run.select, run.klass_info, run.annotation_col_map
    model_cls = klass_info["model"]
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    init_list = [f[0].target.attname for f in select[start:end]]
    for row in run.results_iter(results):
        obj = model_cls.from_db(db, init_list, row[start:end])
        for populator in get_related_populators(klass_info, select, db):
            populator.populate(row, obj)
        for attr_name, col_pos in annotation_col_map.items():
            setattr(obj, attr_name, row[col_pos])
        return obj
    return None
