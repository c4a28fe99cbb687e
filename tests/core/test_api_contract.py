"""The API contract: request limits in the error shape, strict numbers, and a schema that says
what the responses are. Every refused request leaves what is stored as it was."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from apps.accounts.models import User
from apps.catalog.models import Supplier
from apps.orders.models import Order
from apps.stock.models import Movement, PurchaseOrder, StockItem, Transfer
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A

FIVE_MB = 5 * 1024 * 1024


def client_as(headers: dict | None = None) -> Client:
    return Client(HTTP_HOST=TENANT_A.domain, **(headers or {}))


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()["error"]
    assert body["code"] == code and body["message"] and "request_id" in body
    return body


def big_json() -> str:
    return json.dumps({"email": "a@example.com", "password": "x", "padding": "x" * FIVE_MB})


# ---------------------------------------------------------------- 413: bodies over the limit


@pytest.mark.parametrize("path", ["/api/v1/auth/sign-in", "/api/v1/auth/register", "/api/v1/payments/stripe/webhook"])
@pytest.mark.parametrize("idempotency_key", [None, "retry-1"])
def test_a_5_mb_json_body_without_credentials_is_413_in_the_error_shape(tenant_a, path, idempotency_key):
    extra = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    with tenant_context(tenant_a):
        users = User.objects.count()
    response = client_as().post(path, big_json(), content_type="application/json", **extra)
    error = assert_error(response, 413, "request_too_large")
    assert error["details"]["max_bytes"] == 1024 * 1024
    with tenant_context(tenant_a):
        assert User.objects.count() == users


@pytest.mark.parametrize("idempotency_key", [None, "retry-1"])
def test_a_5_mb_profile_update_signed_in_is_413_and_the_profile_is_unchanged(tenant_a, idempotency_key):
    headers = p.customer_headers(tenant_a)
    extra = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    before = client_as(headers).get("/api/v1/me").json()
    body = json.dumps({"full_name": "x" * FIVE_MB})
    response = client_as(headers).patch("/api/v1/me", body, content_type="application/json", **extra)
    assert_error(response, 413, "request_too_large")
    assert client_as(headers).get("/api/v1/me").json() == before


def test_no_query_runs_before_a_body_over_the_limit_is_refused(tenant_a, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client_as().post("/api/v1/auth/sign-in", big_json(), content_type="application/json")
    assert response.status_code == 413


def test_uploads_have_their_own_larger_limit(tenant_a):
    owner = client_as(p.staff_headers(tenant_a, "owner"))
    with tenant_context(tenant_a):
        store = f.location(code="upload-store")
    csv = SimpleUploadedFile("stock.csv", b"sku,quantity\n" + b"X,1\n" * 300_000, content_type="text/csv")
    assert len(csv) > 1024 * 1024  # over the JSON limit, under the upload limit: the view decides
    response = owner.post(f"/api/v1/locations/{store.pk}/inventory.csv", {"file": csv})
    assert response.status_code == 400 and response.json()["error"]["code"] != "request_too_large"
    with override_settings(REQUEST_MAX_UPLOAD_BYTES=1000):
        csv.seek(0)
        response = owner.post(f"/api/v1/locations/{store.pk}/inventory.csv", {"file": csv})
    assert_error(response, 413, "request_too_large")


# ---------------------------------------------------------------- 414 and NUL characters


def test_an_over_long_url_is_414(tenant_a):
    response = client_as().get("/api/v1/products?search=" + "a" * 5000)
    assert_error(response, 414, "uri_too_long")


@pytest.mark.parametrize(
    ("method", "path", "signed_in"),
    [
        ("get", "/api/v1/variants/%00/price", False),
        ("get", "/api/v1/inventory/%00", True),
        ("patch", "/api/v1/variants/%00", True),
        ("delete", "/api/v1/variants/a%00b", True),
    ],
)
def test_a_nul_in_the_path_is_400_before_any_query(tenant_a, method, path, signed_in, django_assert_num_queries):
    client = client_as(p.staff_headers(tenant_a, "owner") if signed_in else None)
    with django_assert_num_queries(0):
        response = getattr(client, method)(path)
    error = assert_error(response, 400, "invalid_character")
    assert "path" in error["details"]


def test_a_nul_in_the_query_string_is_400(tenant_a):
    error = assert_error(client_as().get("/api/v1/products?search=hot%00sauce"), 400, "invalid_character")
    assert "query" in error["details"]
    assert client_as().get("/api/v1/products?search=100%25").status_code == 200  # a literal %00-like text is fine


@pytest.mark.parametrize(
    "body",
    [
        '{"email": "a\\u0000@example.com", "password": "x"}',
        '{"email": "a@example.com", "password": "x", "nested": {"k\\u0000": ["ok"]}}',
        '{"email": "a@example.com", "password": "x\\U0000"}'.replace("\\U", "\\u"),
    ],
)
def test_a_nul_anywhere_in_a_json_body_is_400_signed_in_or_not(tenant_a, body):
    for client in (client_as(), client_as(p.customer_headers(tenant_a))):
        error = assert_error(
            client.post("/api/v1/auth/sign-in", body, content_type="application/json"), 400, "invalid_character"
        )
        assert "body" in error["details"]


def test_a_nul_in_a_form_body_is_400(tenant_a):
    response = client_as().post(
        "/api/v1/auth/sign-in", "email=a%00b&password=x", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 400, "invalid_character")


def test_an_escaped_backslash_before_u0000_is_not_a_nul(tenant_a):
    body = '{"email": "nobody@example.com", "password": "\\\\u0000"}'  # the text \u0000, six characters
    response = client_as().post("/api/v1/auth/sign-in", body, content_type="application/json")
    assert response.json()["error"]["code"] != "invalid_character"


# ---------------------------------------------------------------- strict, bounded numbers

BAD_QUANTITIES = [2**31, 1.5, True, "1.5", "ten", -1]


@pytest.fixture
def stock_world(tenant_a):
    with tenant_context(tenant_a):
        store, warehouse = f.location(code="st", pickup_enabled=True), f.location(code="wh", kind="warehouse")
        sauce = f.variant(sku="STRICT-1", price="4.00")
        f.receive(store, sauce, 20)
        f.receive(warehouse, sauce, 20)
        supplier = Supplier.objects.create(name="Farm")
    return {"tenant": tenant_a, "store": store, "warehouse": warehouse, "sauce": sauce, "supplier": supplier}


def _stored(world) -> tuple:
    with tenant_context(world["tenant"]):
        return (
            list(StockItem.objects.order_by("pk").values_list("on_hand", "reserved", "damaged")),
            Movement.objects.count(),
            Order.objects.count(),
            Transfer.objects.count(),
            PurchaseOrder.objects.count(),
        )


def _requests(world, quantity):
    store, warehouse = world["store"].pk, world["warehouse"].pk
    line = {"sku": "STRICT-1", "quantity": quantity}
    return {
        "restock": (f"/api/v1/locations/{store}/restock", {"lines": [line]}),
        "adjust": (f"/api/v1/locations/{store}/adjustments", {**line, "reason": "found"}),
        "count": (f"/api/v1/locations/{store}/counts", {"sku": "STRICT-1", "counted": quantity}),
        "transfer": ("/api/v1/transfers", {"from_location_id": warehouse, "to_location_id": store, "lines": [line]}),
        "order": ("/api/v1/orders", {"fulfilment": "pickup", "location_id": store, "lines": [line]}),
        "purchase_order": (
            "/api/v1/purchase-orders",
            {"supplier_id": world["supplier"].pk, "location_id": warehouse, "lines": [{**line, "unit_cost": "1.00"}]},
        ),
    }


@pytest.mark.parametrize("quantity", BAD_QUANTITIES, ids=[repr(q) for q in BAD_QUANTITIES])
@pytest.mark.parametrize("endpoint", ["restock", "adjust", "count", "transfer", "order", "purchase_order"])
def test_a_quantity_that_is_not_a_bounded_whole_number_is_400_and_nothing_changes(stock_world, endpoint, quantity):
    if endpoint == "count" and quantity == -1:
        quantity = -5
    owner = client_as(p.staff_headers(stock_world["tenant"], "owner"))
    before = _stored(stock_world)
    path, body = _requests(stock_world, quantity)[endpoint]
    response = owner.post(path, body, content_type="application/json")
    error = assert_error(response, 400, "validation_error")
    assert "quantity" in json.dumps(error["details"]) or "counted" in json.dumps(error["details"])
    assert _stored(stock_world) == before


@pytest.mark.parametrize("cell", ["2147483648", "1.5", "true", "", "-3"])
def test_a_csv_restock_row_with_a_bad_quantity_is_400_naming_the_row_and_nothing_changes(stock_world, cell):
    owner = client_as(p.staff_headers(stock_world["tenant"], "owner"))
    before = _stored(stock_world)
    text = f"sku,quantity\nSTRICT-1,2\nSTRICT-1,{cell}\n"
    upload = SimpleUploadedFile("restock.csv", text.encode(), content_type="text/csv")
    response = owner.post(f"/api/v1/locations/{stock_world['store'].pk}/inventory.csv", {"file": upload})
    error = assert_error(response, 400, "validation_error")
    assert list(error["details"]["lines"]) == ["1"] and "quantity" in error["details"]["lines"]["1"]
    assert _stored(stock_world) == before


def test_the_same_rule_guards_the_admin_csv_restock(stock_world, client_a):
    from tests.conftest import login, make_staff

    admin = login(client_a, stock_world["tenant"], make_staff(stock_world["tenant"], "csv-admin@example.com"))
    before = _stored(stock_world)
    upload = SimpleUploadedFile("restock.csv", b"sku,quantity\nSTRICT-1,1.5\n", content_type="text/csv")
    response = admin.post(
        "/admin/stock/stockitem/restock-csv/", {"file": upload, "location": stock_world["store"].pk}, follow=True
    )
    assert response.status_code == 200
    assert "A whole number is required." in response.content.decode()
    assert _stored(stock_world) == before


def test_a_valid_whole_number_quantity_still_applies(stock_world):
    owner = client_as(p.staff_headers(stock_world["tenant"], "owner"))
    path, body = _requests(stock_world, 3)["restock"]
    assert owner.post(path, body, content_type="application/json").status_code == 201
    path, body = _requests(stock_world, "4")["adjust"]  # digit strings (forms) are whole numbers too
    assert owner.post(path, body, content_type="application/json").status_code in {200, 201}


def test_a_body_reference_to_a_missing_location_is_400_naming_the_field(stock_world):
    owner = client_as(p.staff_headers(stock_world["tenant"], "owner"))
    body = {
        "from_location_id": 999999,
        "to_location_id": stock_world["store"].pk,
        "lines": [{"sku": "STRICT-1", "quantity": 1}],
    }
    error = assert_error(
        owner.post("/api/v1/transfers", body, content_type="application/json"), 400, "validation_error"
    )
    assert list(error["details"]) == ["from_location_id"]


# ---------------------------------------------------------------- the schema says what the API answers


PAGINATED_LISTS = (
    *("locations", "orders", "products", "variants", "lots", "movements", "purchase-orders"),
    *("reorder-suggestions", "returns", "stock-alerts", "transfers", "locations/{location_id}/inventory"),
)


@pytest.fixture
def schema(tenant_a):
    return client_as().get("/api/v1/schema/?format=json").json()


def _response_schema(schema, path, method, status):
    content = schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    if "$ref" in content:
        return schema["components"]["schemas"][content["$ref"].rsplit("/", 1)[1]]
    return content


@pytest.mark.parametrize(
    "path",
    [f"/api/v1/{name}" for name in PAGINATED_LISTS],
)
def test_every_paginated_list_is_documented_as_a_page(schema, path):
    page = _response_schema(schema, path, "get", "200")
    assert set(page["required"]) >= {"count", "results"} and page["properties"]["results"]["type"] == "array"
    names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
    assert {"page", "page_size"} <= names
    assert "404" in schema["paths"][path]["get"]["responses"]  # a page past the end


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/v1/inventory/{sku}", "get", "200"),
        ("/api/v1/reorder-suggestions/draft-orders", "post", "201"),
        ("/api/v1/locations/{location_id}/restock", "post", "201"),
    ],
)
def test_plain_arrays_are_documented_as_arrays(schema, path, method, status):
    assert _response_schema(schema, path, method, status)["type"] == "array"


def test_nullable_model_fields_are_nullable_in_responses(schema):
    product = schema["components"]["schemas"]["Product"]["properties"]
    assert product["category"].get("nullable") is True
    movement = schema["components"]["schemas"]["Movement"]["properties"]
    assert movement["batch_number"].get("nullable") is True


def test_every_operation_documents_its_real_error_statuses(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert {"400", "401", "403", "413", "414", "429"} <= statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if method in {"post", "put", "patch", "delete"}:
                assert {"409", "422"} <= statuses, (method, path)
            if "requestBody" in operation:
                assert "415" in statuses, (method, path)
            if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
                assert "412" in statuses, (method, path)


def test_created_products_answer_null_category_as_documented(tenant_a, schema):
    owner = client_as(p.staff_headers(tenant_a, "owner"))
    response = owner.post("/api/v1/products", {"name": "Plain", "slug": "plain"}, content_type="application/json")
    assert response.status_code == 201 and response.json()["category"] is None
