"""The framework's ceiling on this machine, for bench.order_placement to measure in the same run:
a bare DRF `ModelSerializer` reading one row from PostgreSQL (as in PERF-FACTS), served the same
way as the platform (gunicorn, the same database and persistent connections) but with no
middleware, no authentication, no permission checks and no rate limits.

    DJANGO_SETTINGS_MODULE=bench.ceiling gunicorn config.wsgi:application

GET /ceiling/<tenant id> answers the tenant row (public schema) as JSON; /health/live answers 200.
Bench-only: nothing in the platform imports it.
"""

from config.settings.local import *  # noqa: F403

DEBUG = False
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.ceiling_urls"
PUBLIC_SCHEMA_URLCONF = "bench.ceiling_urls"
REST_FRAMEWORK = REST_FRAMEWORK | {  # noqa: F405
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
