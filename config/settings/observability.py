"""Tracing (OpenTelemetry), error reporting (Sentry) and metrics (Prometheus)."""

from config.settings.env import env

# OpenTelemetry exporter: "" (off), "console" or "otlp" (OTEL_EXPORTER_OTLP_ENDPOINT etc. are
# read by the exporter itself).
OTEL_TRACES_EXPORTER = env("OTEL_TRACES_EXPORTER", default="")
OTEL_SERVICE_NAME = env("OTEL_SERVICE_NAME", default="fnb-platform")

SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)

PROMETHEUS_EXPORT_MIGRATIONS = False
