"""ASGI entry point, for long-lived streams (server-sent events); the REST API is served by WSGI."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

from config.observability import setup_observability

setup_observability(component="asgi")

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
