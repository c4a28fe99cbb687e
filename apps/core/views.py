"""Health, metrics and the Django error views (JSON under the API paths, HTML elsewhere)."""

from __future__ import annotations

import hmac
import logging
import sys
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error
from django_prometheus.exports import ExportToDjangoView

from apps.core.errors import RETRY_AFTER_UNAVAILABLE, error_response, unavailable_body, unavailable_service
from apps.core.redis import get_redis

logger = logging.getLogger(__name__)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(settings.API_PATH_PREFIXES) or (
        "application/json" in request.headers.get("Accept", "")
    )


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return error_response("bad_request", "Bad request.", 400)
    return bad_request(request, exception)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return error_response("permission_denied", "You do not have permission to do this.", 403)
    return permission_denied(request, exception)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return error_response("not_found", "Not found.", 404, {"path": request.path})
    return page_not_found(request, exception)


@csrf_exempt  # a JSON 404 for any method; nothing to protect
def api_not_found(request: HttpRequest) -> HttpResponse:
    return error_response("not_found", "Not found.", 404, {"path": request.path})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the error shape on API paths (a browser session without its CSRF token),
    Django's page elsewhere (the admin)."""
    if _wants_json(request):
        return error_response("csrf_failed", "CSRF verification failed; send the X-CSRFToken header.", 403)
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)


def error_500(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception (e.g. the tenant lookup found PostgreSQL down).
    service = unavailable_service(sys.exc_info()[1])
    if service and _wants_json(request):
        response = JsonResponse(unavailable_body(service), status=503)
        response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
        return response
    if _wants_json(request):
        return error_response("server_error", "An unexpected error occurred. It has been logged.", 500)
    return server_error(request)


@never_cache
def health_live(request: HttpRequest) -> JsonResponse:
    """The process is up and serving. No dependency is checked (that is readiness)."""
    return JsonResponse({"status": "ok"})


def _check(name: str, probe) -> dict:  # noqa: ANN001
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # a failing dependency is reported, never raised
        logger.warning("Readiness check %s failed: %s", name, exc)
        return {"status": "down", "error": exc.__class__.__name__}
    return {"status": "up", "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _redis() -> None:
    get_redis(settings.REDIS_URL).ping()


def _broker() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


@never_cache
def health_ready(request: HttpRequest) -> JsonResponse:
    """Ready to take traffic: PostgreSQL, Redis and the Celery broker answer."""
    checks = {"database": _check("database", _database), "redis": _check("redis", _redis)}
    checks["broker"] = _check("broker", _broker)
    ok = all(check["status"] == "up" for check in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics. Protected by `Authorization: Bearer <METRICS_TOKEN>` when set."""
    token = settings.METRICS_TOKEN
    if token:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(supplied.encode(), token.encode()):
            return error_response("not_authenticated", "A valid metrics token is required.", 401)
    return ExportToDjangoView(request)
