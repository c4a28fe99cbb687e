"""Tests: real PostgreSQL and Redis (a separate Redis database), fast hashing, quiet logs."""

from urllib.parse import urlsplit, urlunsplit

from config.settings.base import *
from config.settings.env import env

SECRET_KEY = "test-only-not-secret-but-long-enough-for-hs256"
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
LOGGING["handlers"]["console"]["formatter"] = "text"
LOGGING["root"]["level"] = env("LOG_LEVEL", default="WARNING")


def _redis_db(url: str, db: int) -> str:
    """The same Redis server, another logical database, so tests never touch dev data."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("db="))
        return urlunsplit(parts._replace(query=(query + "&" if query else "") + f"db={db}"))
    return urlunsplit(parts._replace(path=f"/{db}"))


REDIS_URL = env("TEST_REDIS_URL", default=_redis_db(REDIS_URL, 15))
CACHES["default"]["LOCATION"] = REDIS_URL
CACHES["default"]["KEY_PREFIX"] = "fnb-test"
RATE_LIMIT_REDIS_URL = REDIS_URL
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
# Rate limits stay on in tests but high enough to stay out of the way; tests that are about
# them lower them with override_settings.
API_RATE_LIMITS = {
    plan: {"tenant": "100000/minute", "principal": "100000/minute"} for plan in ("free", "standard", "premium")
}

# Every read through apps.core.sqlcache is checked against a full compile of its queryset.
SQLCACHE_VERIFY = True

ROOT_URLCONF = "tests.urls"  # the tenant URLs plus a few test-only endpoints
TENANT_LOOKUP_CACHE_SECONDS = 0
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = 30

# Stripe: the local stand-in (localstripe) is started by tests/payments/conftest.py.
STRIPE_TEST_SECRET_KEY = "sk_test_" + "t" * 24
DJSTRIPE_WEBHOOK_SECRET = "whsec_test_only"

# Webhooks may call receivers on this machine (http://127.0.0.1:...).
WEBHOOK_REQUIRE_HTTPS = False
WEBHOOK_ALLOW_PRIVATE_TARGETS = True
