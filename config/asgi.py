"""ASGI entry point of the `stream` process: server-sent event streams on one event loop
(apps.integrations.stream_app); any other path goes to Django (the REST API is served by WSGI)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

from config.observability import setup_observability

setup_observability(component="asgi")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from apps.integrations.stream_app import StreamApp  # noqa: E402

application = StreamApp(fallback=django_application)
