"""Catalog: browsing, archiving, the price selector (retail, wholesale volume breaks), images."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import tenant_context
from PIL import Image

from apps.accounts.models import User, WholesaleAccount
from apps.catalog.models import PriceList, PriceListEntry, Product
from apps.catalog.selectors import variant_price
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A


@pytest.fixture
def in_a(tenant_a):
    with tenant_context(tenant_a):
        yield tenant_a


def test_customers_browse_without_archived_items_and_staff_can_include_them(in_a, client_a):
    live, gone = f.variant(sku="LIVE"), f.variant(sku="GONE")
    Product.objects.filter(pk=gone.product_id).update(is_archived=True)
    skus = [v["sku"] for prod in client_a.get("/api/v1/products").json()["results"] for v in prod["variants"]]
    assert skus == ["LIVE"]
    staff = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(in_a, "owner"))
    listed = staff.get("/api/v1/products?include_archived=true").json()["results"]
    assert {v["sku"] for prod in listed for v in prod["variants"]} == {"LIVE", "GONE"}
    # A customer asking for archived items still does not get them.
    assert len(client_a.get("/api/v1/products?include_archived=true").json()["results"]) == 1
    assert live


def test_search_filter_and_ordering(in_a, client_a):
    mild, hot = f.variant(sku="MILD-1"), f.variant(sku="HOT-1")
    Product.objects.filter(pk=mild.product_id).update(name="Mild Mango", heat_level=2, brand="Acme")
    Product.objects.filter(pk=hot.product_id).update(name="Ghost Pepper", heat_level=9, brand="Blaze")
    names = lambda url: [r["name"] for r in client_a.get(url).json()["results"]]  # noqa: E731
    assert names("/api/v1/products?search=ghost") == ["Ghost Pepper"]
    assert names("/api/v1/products?search=MILD-1") == ["Mild Mango"]
    assert names("/api/v1/products?heat_min=5") == ["Ghost Pepper"]
    assert names("/api/v1/products?ordering=-heat_level") == ["Ghost Pepper", "Mild Mango"]
    assert names("/api/v1/products?brand=acme") == ["Mild Mango"]


def test_the_product_list_query_count_does_not_grow_with_the_page(in_a, client_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(20):
        f.variant()
    counts = {}
    for page_size in (2, 20):
        with CaptureQueriesContext(connection) as queries:
            response = client_a.get(f"/api/v1/products?page_size={page_size}")
        assert len(response.json()["results"]) == page_size
        counts[page_size] = len([q for q in queries.captured_queries if not q["sql"].startswith("SET ")])
    # tenant lookup, count, products with their category, variants (one prefetch)
    assert counts[2] == counts[20] <= 4, counts


def _buyer(approved: bool, group: str = "wholesale-a") -> User:
    account = WholesaleAccount.objects.create(
        name="Deli", tax_id="1", billing_address="x", price_list_group=group, is_approved=approved
    )
    return User.objects.create_user(
        f"b{account.pk}@x.test", "pw-Long-enough-1", kind="wholesale", wholesale_account=account
    )


def test_the_price_selector_applies_wholesale_volume_breaks(in_a):
    var = f.variant(price="10.00")
    plist = PriceList.objects.create(name="Wholesale A", customer_group="wholesale-a")
    PriceListEntry.objects.create(price_list=plist, variant=var, min_quantity=1, unit_price=Decimal("8.00"))
    PriceListEntry.objects.create(price_list=plist, variant=var, min_quantity=24, unit_price=Decimal("7.255"))
    buyer, pending = _buyer(True), _buyer(False)
    retail = User.objects.create_user("r@x.test", "pw-Long-enough-1", kind="retail")
    assert variant_price(variant=var, user=retail, quantity=100) == Decimal("10.00")
    assert variant_price(variant=var, user=None) == Decimal("10.00")
    assert variant_price(variant=var, user=pending, quantity=100) == Decimal("10.00")  # not approved yet
    assert variant_price(variant=var, user=buyer, quantity=23) == Decimal("8.00")
    assert variant_price(variant=var, user=buyer, quantity=24) == Decimal("7.26")  # half-up to cents
    assert variant_price(variant=var, user=buyer, quantity=24, precision=0) == Decimal("7")
    plist.is_active = False
    plist.save()
    assert variant_price(variant=var, user=buyer, quantity=24) == Decimal("10.00")


def test_the_price_endpoint_answers_for_the_caller(in_a, client_a):
    var = f.variant(sku="PRICE-1", price="5.00")
    plist = PriceList.objects.create(name="W", customer_group="wholesale-a")
    PriceListEntry.objects.create(price_list=plist, variant=var, min_quantity=10, unit_price=Decimal("4.00"))
    anonymous = client_a.get("/api/v1/variants/PRICE-1/price?quantity=12").json()
    assert anonymous["unit_price"] == "5.00"
    buyer_headers = p.customer_headers(in_a, "wholesale")
    User.objects.filter(kind="wholesale").update()
    WholesaleAccount.objects.update(price_list_group="wholesale-a")
    buyer = client_a.get("/api/v1/variants/PRICE-1/price?quantity=12", **buyer_headers).json()
    assert buyer["unit_price"] == "4.00" and buyer["retail_price"] == "5.00"
    assert client_a.get("/api/v1/variants/NOPE/price").status_code == 404
    assert client_a.get("/api/v1/variants/PRICE-1/price?quantity=lots").status_code == 400


def _png(size=(10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_uploads_are_checked_by_content_and_size(in_a, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    var = f.variant()
    owner = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(in_a, "owner"))
    url = f"/api/v1/products/{var.product_id}/image"
    ok = owner.post(url, {"image": SimpleUploadedFile("a.png", _png(), content_type="image/png")})
    assert ok.status_code == 200 and ok.json()["image"]
    fake = owner.post(url, {"image": SimpleUploadedFile("evil.png", b"<?php echo 1; ?>", content_type="image/png")})
    assert fake.status_code == 400 and "image" in fake.json()["error"]["details"]
    big = SimpleUploadedFile("big.png", _png() + b"0" * (5 * 1024 * 1024), content_type="image/png")
    assert owner.post(url, {"image": big}).status_code == 400
    assert owner.post(url, {}).status_code == 400


def test_owners_create_and_archive_catalog_items(in_a, client_a):
    owner = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(in_a, "owner"))
    created = owner.post(
        "/api/v1/products",
        {"name": "Verde", "slug": "verde", "heat_level": 4, "allergens": ["garlic"]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    product_id = created.json()["id"]
    variant = owner.post(
        "/api/v1/variants",
        {"product": product_id, "sku": "VERDE-250", "name": "250 ml", "price": "6.50", "compare_at_price": "5.00"},
        content_type="application/json",
    )
    assert variant.status_code == 400 and "compare_at_price" in variant.json()["error"]["details"]
    variant = owner.post(
        "/api/v1/variants",
        {"product": product_id, "sku": "VERDE-250", "name": "250 ml", "price": "6.50"},
        content_type="application/json",
    )
    assert variant.status_code == 201
    duplicate = owner.post(
        "/api/v1/variants",
        {"product": product_id, "sku": "VERDE-250", "name": "x", "price": "1"},
        content_type="application/json",
    )
    assert duplicate.status_code == 400 and "sku" in duplicate.json()["error"]["details"]
    assert owner.delete(f"/api/v1/products/{product_id}").status_code == 204
    assert client_a.get(f"/api/v1/products/{product_id}").status_code == 404
    assert client_a.get("/api/v1/variants/VERDE-250/price").status_code == 404
    bad_heat = owner.patch(f"/api/v1/products/{product_id}", {"heat_level": 11}, content_type="application/json")
    assert bad_heat.status_code == 400
