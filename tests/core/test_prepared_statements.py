"""Server-side binding with prepared statements (config.settings.base, DB_PREPARE_THRESHOLD): a
hot statement is planned once per connection, and a statement prepared in one tenant's schema
reads the other tenant's rows once the search_path moves (PostgreSQL re-plans it)."""

from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from apps.catalog.models import Variant
from tests import factories as f


def _prepared(fragment: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{fragment}%"])
        return [row[0] for row in cursor.fetchall()]


def test_the_connection_binds_on_the_server_and_prepares_what_repeats(tenant_a):
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["server_side_binding"] is True
    threshold = options["prepare_threshold"]
    assert threshold is not None
    with tenant_context(tenant_a):
        variant = f.variant(sku="PREP-1")
        marker = 'catalog_variant"."sku" = $1'  # the values travel apart from the text
        for _ in range(threshold + 2):
            assert Variant.objects.filter(sku="PREP-1").values_list("pk", flat=True).first() == variant.pk
        assert connection.connection.prepare_threshold == threshold
        statements = _prepared(marker)
        assert statements, "the repeated read was not prepared"
        assert "PREP-1" not in statements[0]


def test_a_statement_prepared_in_one_tenant_reads_the_other_tenants_rows(tenant_a, tenant_b):
    threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
    with tenant_context(tenant_a):
        mine = f.variant(sku="PREP-SAME", price="1.00")
    with tenant_context(tenant_b):
        theirs = f.variant(sku="PREP-SAME", price="2.00")
    for _ in range(2):  # back and forth, the statement prepared from the first rounds on
        # (prices, not ids: each schema numbers its own rows, so ids may coincide)
        for tenant, expected in ((tenant_a, mine.price), (tenant_b, theirs.price)):
            with tenant_context(tenant):
                for _ in range(threshold + 1):
                    assert Variant.objects.filter(sku="PREP-SAME").values_list("price", flat=True).get() == expected
    assert mine.price != theirs.price
