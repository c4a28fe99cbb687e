import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

from config.observability import setup_observability

# Before the application (and its middleware chain) is built, so Django is instrumented.
setup_observability(component="web")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

# Everything loaded so far (Django, the apps, their modules) lives as long as the process: move it
# out of the garbage collector's generations, so a full collection during a request no longer walks
# the whole heap (measured: the pricing function's p95 fell from ~95 ms to ~17 ms in-process).
import gc  # noqa: E402

gc.freeze()
