"""Every error kind answers the one shape: {"error": {code, message, details, request_id}}."""

import pytest
from django.test import override_settings


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"] == response["X-Request-ID"]
    return error


def test_validation_error_lists_field_details(staff_client_a):
    response = staff_client_a.post("/api/v1/_test/groups", {"name": ""}, content_type="application/json")
    error = assert_error(response, 400, "validation_error")
    assert list(error["details"]) == ["name"]
    assert error["details"]["name"]


def test_malformed_json_is_a_400(staff_client_a):
    response = staff_client_a.post("/api/v1/_test/groups", "{not json", content_type="application/json")
    assert_error(response, 400, "malformed_request")


def test_unsupported_media_type(staff_client_a):
    response = staff_client_a.post("/api/v1/_test/groups", "name=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_not_authenticated(tenant_a, client_a):
    response = client_a.get("/api/v1/_test/groups")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_unknown_api_path_is_a_404(tenant_a, client_a):
    error = assert_error(client_a.get("/api/v1/no-such-thing"), 404, "not_found")
    assert error["details"] == {"path": "/api/v1/no-such-thing"}


@override_settings(DEBUG=True)
def test_unknown_api_path_is_a_404_in_shape_even_with_debug(tenant_a, client_a):
    assert_error(client_a.get("/api/v1/no-such-thing"), 404, "not_found")


def test_method_not_allowed(tenant_a, client_a):
    assert_error(client_a.delete("/api/v1/tenant"), 405, "method_not_allowed")


def test_application_error_keeps_its_code_status_and_details(staff_client_a):
    error = assert_error(staff_client_a.post("/api/v1/_test/conflict"), 409, "order_already_shipped")
    assert error["details"] == {"id": 7}
    assert error["message"] == "Order already shipped."


def test_unhandled_exception_is_a_500_without_stack_trace(tenant_a, client_a):
    response = client_a.post("/api/v1/_test/boom")
    error = assert_error(response, 500, "server_error")
    assert "secret internal detail" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert error["details"] == {}


def test_request_id_is_accepted_when_well_formed_and_replaced_otherwise(tenant_a, client_a):
    kept = client_a.get("/api/v1/nope", HTTP_X_REQUEST_ID="abc-123_x.y")
    assert kept["X-Request-ID"] == "abc-123_x.y"
    assert kept.json()["error"]["request_id"] == "abc-123_x.y"
    replaced = client_a.get("/api/v1/nope", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert replaced["X-Request-ID"] != "bad id\nwith newline"
    assert len(replaced["X-Request-ID"]) == 32


@pytest.mark.parametrize("host", ["alpha.test", "unknown.test"])
def test_health_answers_json_on_any_host(db, client, host):
    response = client.get("/health/live", HTTP_HOST=host)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
