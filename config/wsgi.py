import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

from config.observability import setup_observability

# Before the application (and its middleware chain) is built, so Django is instrumented.
setup_observability(component="web")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
