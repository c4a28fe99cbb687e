"""ASGI entry point, for long-lived streams (server-sent events); the REST API is served by WSGI."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

application = get_asgi_application()

from config.observability import setup_observability  # noqa: E402

setup_observability(component="asgi")
