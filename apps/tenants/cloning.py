"""Fast schema cloning for new tenants: the clone itself takes ~0.3 s here, against ~0.65 s for
django-tenants' clone function and ~40 s for migrating a schema from scratch.

The base schema is read from the catalogs and rebuilt in the new schema in one round trip:
tables (columns, defaults, identity, CHECK constraints), then primary keys, unique constraints
and indexes **under their original names** (future migrations drop and rename them by name),
then foreign keys, then the rows of the few tables a migrated schema already holds
(django_migrations, content types, permissions), then identity sequences moved past those rows.

`tests/tenants/test_cloning.py` checks a clone against its base catalog by catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

# Rows of these tables describe the base schema's own history, not a new tenant's.
_NOT_COPIED = {"auditlog_logentry", "django_session", "django_admin_log"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Plan:
    tables: list[str]
    key_constraints: list[tuple[str, str, str]]  # table, name, definition (p, u, x)
    indexes: list[str]  # CREATE INDEX statements, unqualified
    foreign_keys: list[tuple[str, str, str]]
    tables_with_rows: list[str]
    identities: list[tuple[str, str]]  # table, column


def _plan(base: str) -> _Plan:
    with connection.cursor() as cursor:
        # Print object names unqualified: they then resolve in the new schema's search path.
        cursor.execute("SELECT set_config('search_path', %s, true)", [_q(base)])
        cursor.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               ORDER BY c.relname""",
            [base],
        )
        tables = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            """SELECT cl.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
               FROM pg_constraint con
               JOIN pg_class cl ON cl.oid = con.conrelid
               JOIN pg_namespace n ON n.oid = cl.relnamespace
               WHERE n.nspname = %s AND con.contype IN ('p', 'u', 'x', 'f')
               ORDER BY con.contype = 'f', cl.relname, con.conname""",
            [base],
        )
        keys, fks = [], []
        for table, name, kind, definition in cursor.fetchall():
            (fks if kind == "f" else keys).append((table, name, definition))
        cursor.execute(
            # pg_get_indexdef always qualifies the table: drop the base schema from it.
            """SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident(n.nspname) || '.', ' ON ')
               FROM pg_index i
               JOIN pg_class ic ON ic.oid = i.indexrelid
               JOIN pg_namespace n ON n.oid = ic.relnamespace
               WHERE n.nspname = %s
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid
                                 AND con.contype IN ('p', 'u', 'x'))
               ORDER BY ic.relname""",
            [base],
        )
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            """SELECT c.relname, a.attname
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND a.attidentity IN ('a', 'd') AND NOT a.attisdropped""",
            [base],
        )
        identities = cursor.fetchall()
        with_rows = []
        if tables:
            cursor.execute(
                " UNION ALL ".join(f"SELECT %s WHERE EXISTS (SELECT 1 FROM {_q(base)}.{_q(t)})" for t in tables),
                tables,
            )
            with_rows = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT set_config('search_path', 'public', true)")
    return _Plan(tables, keys, indexes, fks, with_rows, identities)


def clone_schema(*, base: str, new: str) -> None:
    """Create schema `new` as a structural copy of `base`, with the rows `base` holds.

    Runs inside the caller's transaction: a failure leaves no half-made schema behind.
    """
    with transaction.atomic():
        _clone(base, new)


def _clone(base: str, new: str) -> None:
    plan = _plan(base)
    b, n = _q(base), _q(new)
    statements = [f"CREATE SCHEMA {n}", f"SET LOCAL search_path TO {n}"]
    statements += [
        f"CREATE TABLE {n}.{_q(t)} (LIKE {b}.{_q(t)} INCLUDING DEFAULTS INCLUDING IDENTITY "
        "INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"
        for t in plan.tables
    ]
    statements += [
        f"ALTER TABLE {n}.{_q(t)} ADD CONSTRAINT {_q(name)} {definition}"
        for t, name, definition in plan.key_constraints
    ]
    statements += plan.indexes
    statements += [
        f"ALTER TABLE {n}.{_q(t)} ADD CONSTRAINT {_q(name)} {definition}" for t, name, definition in plan.foreign_keys
    ]
    copied = [t for t in plan.tables_with_rows if t not in _NOT_COPIED]
    statements += [f"INSERT INTO {n}.{_q(t)} SELECT * FROM {b}.{_q(t)}" for t in copied]
    with_rows = set(copied)
    statements += [
        f"SELECT setval(pg_get_serial_sequence('{n}.{_q(t)}', '{c}'), (SELECT max({_q(c)}) FROM {n}.{_q(t)}))"
        for t, c in plan.identities
        if t in with_rows
    ]
    statements.append("SET LOCAL search_path TO public")
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(statements))
