"""The statement cache of one-row hot reads (apps.core.sqlcache): the same instances as the ORM's
`.first()`, the new values on every call, one entry per scoping, a fall-back for querysets it
cannot cache, and a key shared by two shapes caught by the verify mode the tests run in."""

import threading

import pytest
from django.db import connection
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.test.utils import CaptureQueriesContext, override_settings
from django_tenants.utils import tenant_context

from apps.catalog.models import Variant
from apps.core import sqlcache
from apps.stock.models import StockItem
from apps.tenants.models import Tenant
from tests import factories as f
from tests.conftest import TENANT_A


@pytest.fixture(autouse=True)
def _empty_cache():
    sqlcache.clear()
    yield
    sqlcache.clear()


def _fields(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_a_cached_read_gives_what_first_gives_with_its_select_related_row(tenant_a):
    with tenant_context(tenant_a):
        store = f.location(code="sqlc-1")
        a, b = f.variant(sku="SQLC-A", price="1.05"), f.variant(sku="SQLC-B", price="2.10")
        f.receive(store, a, 3), f.receive(store, b, 4)
        for variant in (a, b, a):  # the second read of `a` runs the stored statement
            qs = StockItem.objects.select_related("variant", "location").filter(variant=variant, location=store)
            with CaptureQueriesContext(connection) as queries:
                cached = sqlcache.first(qs, "test.stock")
            assert len(queries) == 1
            orm = qs.first()
            assert _fields(cached) == _fields(orm)
            assert _fields(cached.variant) == _fields(orm.variant) and cached.variant.sku == variant.sku
            assert cached.location.code == "sqlc-1"
            assert cached._state.adding is False and cached._state.db == "default"
        assert len(sqlcache._SHAPES) == 1  # one shape, three calls


def test_no_row_is_none_and_each_scoping_has_its_own_entry(tenant_a):
    with tenant_context(tenant_a):
        v = f.variant(sku="SQLC-C", price="3.00")
        assert sqlcache.first(Variant.objects.filter(sku="NOPE"), "test.variant") is None
        assert sqlcache.first(Variant.objects.filter(sku="SQLC-C"), "test.variant").pk == v.pk
        # Another WHERE (a scoping with one more condition) under the same key: its own statement,
        # never the first one's with the wrong values.
        assert sqlcache.first(Variant.objects.filter(sku="SQLC-C", is_archived=True), "test.variant") is None
        assert sqlcache.first(Variant.objects.filter(sku="SQLC-C", is_archived=False), "test.variant").pk == v.pk
        # Three statements: Django writes a boolean lookup into the SQL text (`"is_archived"` and
        # `NOT "is_archived"`), so each value is its own WHERE text and entry, never a reused one.
        assert len(sqlcache._SHAPES) == 3


def test_a_where_that_matches_nothing_or_everything_is_left_to_the_orm(tenant_a):
    with tenant_context(tenant_a):
        v = f.variant(sku="SQLC-G")
        assert sqlcache.first(Variant.objects.filter(pk=2**70), "test.overflow") is None  # beyond bigint
        assert sqlcache.first(Variant.objects.filter(pk__in=[]), "test.overflow") is None
        assert sqlcache.first(Variant.objects.filter(~Q(pk__in=[])).filter(pk=v.pk), "test.full").pk == v.pk


def test_annotations_come_back_and_parameters_outside_the_where_fall_back_to_the_orm(tenant_a):
    with tenant_context(tenant_a):
        v = f.variant(sku="SQLC-D", price="4.00")
        plain = sqlcache.first(Variant.objects.annotate(twice=F("price") * 2).filter(pk=v.pk), "test.annotated")
        assert str(plain.twice) == "8.00"
        # A parameter in the SELECT list: not stored (its values would shift), still answered.
        qs = Variant.objects.annotate(label=Concat(Value("sku: "), "sku")).filter(pk=v.pk)
        assert sqlcache.first(qs, "test.param_in_select").label == "sku: SQLC-D"
        assert ("test.param_in_select",) not in {key[:1] for key in sqlcache._SHAPES}


def test_a_key_shared_by_two_shapes_fails_in_verify_mode(tenant_a):
    with tenant_context(tenant_a):
        v = f.variant(sku="SQLC-E")
        sqlcache.first(Variant.objects.filter(pk=v.pk), "test.shared")
        with pytest.raises(AssertionError, match="two shapes"):
            sqlcache.first(Variant.objects.select_related("product").filter(pk=v.pk), "test.shared")
        with override_settings(SQLCACHE_VERIFY=False):  # production: the key is trusted
            assert sqlcache.first(Variant.objects.filter(pk=v.pk), "test.shared").pk == v.pk


def test_a_statement_compiled_in_one_thread_runs_on_another_threads_connection(committed_db):
    tenant_a = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant_a):
        v = f.variant(sku="SQLC-F")
        sqlcache.first(Variant.objects.filter(pk=v.pk), "test.threads")
    found = []

    def read():
        try:
            with tenant_context(tenant_a):
                found.append(sqlcache.first(Variant.objects.filter(pk=v.pk), "test.threads").sku)
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join(timeout=30)
    assert found == ["SQLC-F"]


def _variant_by_sku(sku):
    return Variant.objects.select_related("product").filter(sku=sku)


def test_first_of_builds_no_queryset_once_the_statement_is_known(tenant_a):
    built = []

    def build(sku):
        built.append(sku)
        return _variant_by_sku(sku)

    with tenant_context(tenant_a), override_settings(SQLCACHE_VERIFY=False):
        a, b = f.variant(sku="SQLC-OF-A", price="1.00"), f.variant(sku="SQLC-OF-B", price="2.00")
        assert sqlcache.first_of("test.of", build, "SQLC-OF-A").pk == a.pk
        with CaptureQueriesContext(connection) as queries:
            got = sqlcache.first_of("test.of", build, "SQLC-OF-B")
        assert len(queries) == 1
        assert built == ["SQLC-OF-A"]  # the second call ran the kept statement with its own value
        assert _fields(got) == _fields(_variant_by_sku("SQLC-OF-B").first())
        assert got.product.pk == b.product_id
        assert sqlcache.first_of("test.of", build, "NOPE") is None
        # Values whose type does not fix the SQL (None: IS NULL) always take the full path.
        assert sqlcache.first_of("test.of", build, None) is None
        assert built == ["SQLC-OF-A", None]


def test_first_of_keeps_nothing_when_the_values_are_not_the_parameters(tenant_a):
    built = []

    def build(pk):
        built.append(pk)
        return Variant.objects.filter(pk=pk)

    with tenant_context(tenant_a), override_settings(SQLCACHE_VERIFY=False):
        v = f.variant(sku="SQLC-OF-C")
        for _ in range(2):  # a str id is converted to an int parameter: not the value, so never kept
            assert sqlcache.first_of("test.of_str", build, str(v.pk)).pk == v.pk
        assert len(built) == 2
        assert sqlcache.first_of("test.of_big", build, 2**70) is None  # beyond bigint: the ORM answers
        assert sqlcache.first_of("test.of_big", build, 2**70) is None
        assert len(built) == 4


def test_first_of_a_build_that_branches_on_its_values_fails_in_verify_mode(tenant_a):
    def build(sku):  # another WHERE for some values: in production first_of would run the wrong one
        return Variant.objects.filter(barcode=sku) if sku.endswith("B") else Variant.objects.filter(sku=sku)

    with tenant_context(tenant_a):
        f.variant(sku="SQLC-OF-XA"), f.variant(sku="SQLC-OF-XB")
        sqlcache.first_of("test.of_branch", build, "SQLC-OF-XA")
        with pytest.raises(AssertionError, match="two statements"):
            sqlcache.first_of("test.of_branch", build, "SQLC-OF-XB")


def test_rows_of_gives_every_row_and_keeps_a_statement_per_number_of_values(tenant_a):
    built = []

    def build(*skus):
        built.append(skus)
        return _variant_by_sku_in(skus)

    with tenant_context(tenant_a), override_settings(SQLCACHE_VERIFY=False):
        a, b, c = (f.variant(sku=f"SQLC-ROWS-{x}") for x in "ABC")
        assert {v.pk for v in sqlcache.rows_of("test.rows", build, "SQLC-ROWS-A", "SQLC-ROWS-B")} == {a.pk, b.pk}
        with CaptureQueriesContext(connection) as queries:
            got = sqlcache.rows_of("test.rows", build, "SQLC-ROWS-B", "SQLC-ROWS-C")
        assert len(queries) == 1 and len(built) == 1  # the kept statement, with the new values
        assert sorted(v.sku for v in got) == ["SQLC-ROWS-B", "SQLC-ROWS-C"]
        assert all(v.product.pk == v.product_id for v in got)  # select_related rows populated
        assert sqlcache.rows_of("test.rows", build, "SQLC-ROWS-C") == [c]  # one value: its own statement
        assert len(built) == 2
        assert sqlcache.rows_of("test.rows", build, "NOPE", "NADA") == []


def _variant_by_sku_in(skus):
    return Variant.objects.select_related("product").filter(sku__in=skus)
