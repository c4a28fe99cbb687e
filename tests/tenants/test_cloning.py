"""A tenant cloned from the base schema is, catalog by catalog, the base schema."""

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django_tenants.utils import tenant_context

from apps.tenants.services import tenant_create

BASE = "tenant_base"


def catalog(schema: str) -> dict[str, set]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                      a.attidentity, coalesce(pg_get_expr(d.adbin, d.adrelid), '')
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped""",
            [schema],
        )
        columns = set(cursor.fetchall())
        cursor.execute(
            """SELECT cl.relname, con.conname, con.contype,
                      replace(pg_get_constraintdef(con.oid), %s || '.', '')
               FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid
               JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = %s""",
            [schema, schema],
        )
        constraints = set(cursor.fetchall())
        cursor.execute(
            """SELECT indexname, replace(indexdef, %s || '.', '') FROM pg_indexes
               WHERE schemaname = %s""",
            [schema, schema],
        )
        indexes = set(cursor.fetchall())
        cursor.execute(
            """SELECT relname, relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND relkind IN ('r', 'S', 'v', 'm', 'i')""",
            [schema],
        )
        relations = set(cursor.fetchall())
    return {"columns": columns, "constraints": constraints, "indexes": indexes, "relations": relations}


def test_a_clone_has_the_same_tables_columns_constraints_and_index_names(db):
    tenant_create(name="Clone Check", schema_name="clonecheck", domain="clonecheck.test")
    base, clone = catalog(BASE), catalog("clonecheck")
    assert len(base["columns"]) > 300  # dj-stripe alone brings many tables
    for part in ("columns", "constraints", "indexes", "relations"):
        assert clone[part] == base[part], part


def test_a_clone_carries_the_migration_history_and_fresh_rows_get_new_ids(db):
    tenant = tenant_create(name="Clone Rows", schema_name="clonerows", domain="clonerows.test")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {BASE}.django_migrations")
        expected = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM clonerows.django_migrations")
        assert cursor.fetchone()[0] == expected
    with tenant_context(tenant):
        highest = Permission.objects.order_by("-id").first().id
        created = Permission.objects.create(
            name="Can taste", codename="taste", content_type=ContentType.objects.first()
        )
        assert created.id > highest  # the identity sequence moved past the copied rows


def test_later_migrations_can_drop_indexes_by_their_django_names(db):
    tenant_create(name="Clone Index", schema_name="cloneindex", domain="cloneindex.test")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = 'accounts_user_groups' "
            "AND indexname LIKE 'accounts_user_groups_group_id_%%'",
            ["cloneindex"],
        )
        (name,) = cursor.fetchone()
        cursor.execute(f'DROP INDEX cloneindex."{name}"')  # what RemoveIndex/AlterField do
