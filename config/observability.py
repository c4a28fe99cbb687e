"""Turns on tracing and error reporting from settings; called once per process."""

import logging

from django.conf import settings

logger = logging.getLogger(__name__)
_done: set[str] = set()


def setup_observability(*, component: str) -> None:
    if component in _done:
        return
    _done.add(component)
    _setup_sentry(component)
    _setup_tracing(component)


def _setup_sentry(component: str) -> None:
    if not settings.SENTRY_DSN:
        return
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=settings.SENTRY_DSN,
        environment=settings.SENTRY_ENVIRONMENT,
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
    )
    sentry_sdk.set_tag("component", component)


def _setup_tracing(component: str) -> None:
    exporter_name = settings.OTEL_TRACES_EXPORTER
    if not exporter_name:
        return
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    elif exporter_name == "console":
        exporter = ConsoleSpanExporter()
    else:
        logger.warning("Unknown OTEL_TRACES_EXPORTER %r; tracing stays off", exporter_name)
        return
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME, "service.component": component})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)
    CeleryInstrumentor().instrument()
    RedisInstrumentor().instrument()
