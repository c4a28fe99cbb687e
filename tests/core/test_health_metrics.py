"""Health endpoints and Prometheus metrics."""

from django.test import override_settings

from apps.core.redis import get_redis


def test_ready_reports_each_dependency(db, client):
    response = client.get("/health/ready", HTTP_HOST="localhost")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "up",
        "redis": "up",
        "broker": "up",
    }


def test_ready_is_503_when_redis_is_down(db, client):
    get_redis.cache_clear()
    try:
        with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
            response = client.get("/health/ready", HTTP_HOST="localhost")
    finally:
        get_redis.cache_clear()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "up"


def test_live_does_not_touch_the_database(client):
    # No `db` fixture: any query would raise. The public hostname needs no tenant lookup.
    response = client.get("/health/live", HTTP_HOST="localhost")
    assert response.status_code == 200


def test_metrics_are_never_served_on_a_tenants_hostname(tenant_a, client):
    response = client.get("/metrics", HTTP_HOST="alpha.test")
    assert response.status_code == 404


def test_metrics_are_exported_in_prometheus_format(db, client):
    client.get("/health/live", HTTP_HOST="localhost")
    response = client.get("/metrics", HTTP_HOST="localhost")
    assert response.status_code == 200
    text = response.content.decode()
    assert "django_http_requests_total_by_method_total" in text


@override_settings(METRICS_TOKEN="s3cret-token")
def test_metrics_need_the_token_when_one_is_set(db, client):
    denied = client.get("/metrics", HTTP_HOST="localhost")
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "not_authenticated"
    allowed = client.get("/metrics", HTTP_HOST="localhost", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert allowed.status_code == 200
