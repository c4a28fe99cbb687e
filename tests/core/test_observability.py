"""Structured logs carry tenant, request id and user; tracing and Sentry stay off unless asked."""

import json
import logging

from django.test import override_settings
from django_tenants.utils import tenant_context
from pythonjsonlogger.json import JsonFormatter

from apps.core.audit import system_actor
from apps.core.context import request_id_var
from apps.core.logging import ContextFilter
from config import observability


def render_json(message: str) -> dict:
    record = logging.LogRecord("fnb.test", logging.INFO, __file__, 1, message, None, None)
    ContextFilter().filter(record)
    formatter = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(tenant)s %(user)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )
    return json.loads(formatter.format(record))


def test_a_json_log_line_names_tenant_request_and_actor(tenant_a):
    token = request_id_var.set("req-7")
    try:
        with tenant_context(tenant_a), system_actor("task:core.x"):
            line = render_json("hello")
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hello"
    assert line["level"] == "INFO"
    assert line["tenant"] == "tenant_a"
    assert line["request_id"] == "req-7"
    assert line["user"] == "task:core.x"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(ContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_log_lines_written_during_a_request_carry_its_context(tenant_a, client_a):
    handler = _Capture()
    logger = logging.getLogger("apps.core.errors")
    logger.addHandler(handler)
    try:
        client_a.post("/api/v1/_test/boom", HTTP_X_REQUEST_ID="trace-me-1")
    finally:
        logger.removeHandler(handler)
    (record,) = handler.records
    assert record.getMessage() == "Unhandled exception in API view"
    assert (record.request_id, record.tenant, record.user) == ("trace-me-1", "tenant_a", "anonymous")


def test_tracing_and_sentry_are_off_by_default(monkeypatch):
    calls = []
    monkeypatch.setattr(observability, "_done", set())
    monkeypatch.setattr("sentry_sdk.init", lambda **kw: calls.append(kw))
    observability.setup_observability(component="test")
    assert calls == []
    from opentelemetry import trace

    assert type(trace.get_tracer_provider()).__name__ in {"ProxyTracerProvider", "NoOpTracerProvider"}


@override_settings(SENTRY_DSN="https://public@sentry.invalid/1")
def test_sentry_starts_when_a_dsn_is_set(monkeypatch):
    calls = []
    monkeypatch.setattr(observability, "_done", set())
    monkeypatch.setattr("sentry_sdk.init", lambda **kw: calls.append(kw))
    observability.setup_observability(component="test")
    assert calls and calls[0]["dsn"] == "https://public@sentry.invalid/1"
    assert calls[0]["send_default_pii"] is False
