"""Settings shared by every environment. Integrations live in their own modules below."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.env import BASE_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])

SHARED_APPS = [
    "django_tenants",
    "apps.tenants",
    "apps.core",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "apps.core.admin_config.PlatformAdminConfig",
    "django.contrib.staticfiles",
    "apps.accounts",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "auditlog",
    "django_prometheus",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "apps.core.admin_config.PlatformAdminConfig",
    "apps.core",
    "apps.accounts",
    "apps.catalog",
    "apps.stock",
    "apps.orders",
    "apps.payments",
    "apps.loyalty",
    "apps.promotions",
    "apps.reviews",
    "apps.integrations",
    "apps.dashboards",
    "auditlog",
    "djstripe",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

MIDDLEWARE = [
    "apps.core.middleware.RequestIdMiddleware",
    "apps.core.middleware.RequestLimitsMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.tenants.middleware.TenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.audit.AuditActorMiddleware",
    "apps.core.idempotency.IdempotencyMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: django-tenants' backend over psycopg 3 (apps.core.db: its health check asks the socket
# before it spends a SELECT 1 round trip), persistent connections with health checks
# (CONN_MAX_AGE=0 costs ~80% of the one-row read throughput on these machines).
DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://127.0.0.1:5432/fnb")}
DATABASES["default"]["ENGINE"] = "apps.core.db"  # django-tenants' backend, a cheaper health check
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Server-side parameter binding with prepared statements: a statement's text is the same whatever
# its values, so PostgreSQL parses and plans it once per connection (after DB_PREPARE_THRESHOLD
# runs) and psycopg caches its conversion, instead of quoting every value into a new text that is
# planned afresh (~0.3 ms of planning per statement here; 17 statements per order). A change of
# search_path (another tenant) makes PostgreSQL re-plan. Behind PgBouncer in transaction mode
# without max_prepared_statements, set DB_PREPARE_THRESHOLD=off.
_prepare = env("DB_PREPARE_THRESHOLD", default="5").strip().lower()
if _prepare not in ("", "off", "none") and not _prepare.isdigit():
    raise ImproperlyConfigured(f"DB_PREPARE_THRESHOLD must be a number of runs or 'off', not {_prepare!r}")
DATABASES["default"].setdefault("OPTIONS", {}).update(
    server_side_binding=env.bool("DB_SERVER_SIDE_BINDING", default=True),
    prepare_threshold=int(_prepare) if _prepare.isdigit() else None,
)
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Request limits (apps.core.middleware.RequestLimitsMiddleware): answered 413 / 414 in the error
# shape before the tenant is looked up. REQUEST_BODY_LIMITS maps a path prefix to its own limit.
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=1024 * 1024)
REQUEST_MAX_UPLOAD_BYTES = env.int("REQUEST_MAX_UPLOAD_BYTES", default=26 * 1024 * 1024)
REQUEST_MAX_URL_LENGTH = env.int("REQUEST_MAX_URL_LENGTH", default=4000)
# Partner bulk sync takes up to 10,000 lines in one request.
REQUEST_BODY_LIMITS: dict[str, int] = {"/api/v1/sync/": 8 * 1024 * 1024}
# The middleware is the body limit (judged on Content-Length; Django reads no more than that), so
# Django's own check, which answers outside the error shape, is off.
DATA_UPLOAD_MAX_MEMORY_SIZE = None

CSRF_FAILURE_VIEW = "apps.core.views.csrf_failure"

MEDIA_URL = "media/"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Every cache key carries the tenant's schema (django-tenants' key function).
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="fnb"),
    }
}

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="no-reply@localhost")

# Error pages for non-DRF paths (Django's handler404/500 in the url confs) use the error shape
# under /api/, /health/ and /metrics; HTML elsewhere.
API_PATH_PREFIXES = ("/api/", "/health/", "/metrics")

# Idempotency keys: kept 24 h per tenant and principal; an in-flight key older than the lock
# timeout is treated as abandoned (its worker died) and may be taken over.
IDEMPOTENCY_KEY_TTL_SECONDS = env.int("IDEMPOTENCY_KEY_TTL_SECONDS", default=24 * 3600)
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = env.int("IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", default=120)

# Rate limits per tenant plan, per tenant (all callers together) and per principal.
# "<count>/<second|minute|hour|day>". Sliding-window counters in Redis.
API_RATE_LIMITS = {
    "free": {"tenant": "600/minute", "principal": "60/minute"},
    "standard": {"tenant": "3000/minute", "principal": "300/minute"},
    "premium": {"tenant": "12000/minute", "principal": "1200/minute"},
}
RATE_LIMIT_REDIS_URL = env("RATE_LIMIT_REDIS_URL", default=REDIS_URL)

# Health and metrics. /metrics needs `Authorization: Bearer <METRICS_TOKEN>` when set.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

from config.settings.celery import *  # noqa: E402
from config.settings.drf import *  # noqa: E402
from config.settings.integrations import *  # noqa: E402
from config.settings.logging import *  # noqa: E402
from config.settings.observability import *  # noqa: E402
from config.settings.stripe import *  # noqa: E402
from config.settings.tenants import *  # noqa: E402

# Audit log: every model is tracked unless listed here (so models added later are covered the
# day they are added). The actor (user, API key or system task) and the request id are filled
# in by apps.core.audit.
AUDITLOG_INCLUDE_ALL_MODELS = True
AUDITLOG_EXCLUDE_TRACKING_MODELS = (
    "sessions",
    "contenttypes",
    "admin",
    "auditlog",
    "djstripe",
    "django_celery_beat.PeriodicTasks",
    "django_celery_beat.ClockedSchedule",
    "core.IdempotencyKey",
    "core.OutboxEvent",
    "payments.StripeEvent",
    "stock.Movement",
    "stock.LotStock",
    "stock.ReservationLine",
    "stock.Reservation",
    "auth.Permission",
    "reviews.ReviewAggregate",
    # Webhook deliveries and attempts are their own log (endpoints stay audited).
    "integrations.WebhookDelivery",
    "integrations.DeliveryAttempt",
)
# Personal data never enters the audit log in clear (a deleted account must not live on there);
# password hashes not at all.
AUDITLOG_MASK_TRACKING_FIELDS = ("email", "phone", "full_name", "birthday", "device_id")
AUDITLOG_EXCLUDE_TRACKING_FIELDS = ("last_login", "password")

AUTHENTICATION_BACKENDS = ["apps.accounts.lockout.LockoutModelBackend"]
# Sign-in, sign-up and token refresh: per client address, on top of the plan limits.
AUTH_RATE_LIMIT = env("AUTH_RATE_LIMIT", default="20/minute")

# Orders: how long a placed, unpaid order holds its stock before it is cancelled.
ORDER_PAYMENT_WINDOW_MINUTES = env.int("ORDER_PAYMENT_WINDOW_MINUTES", default=30)
# Curbside live stream: how long one SSE response lasts before the browser reconnects.
CURBSIDE_STREAM_SECONDS = env.int("CURBSIDE_STREAM_SECONDS", default=300)

# Reviews: submissions per customer (HTTP 429 beyond), how many open reports hold a review again,
# and whether only buyers (and pickup customers of a location) may review.
REVIEW_SUBMIT_RATE_LIMIT = env("REVIEW_SUBMIT_RATE_LIMIT", default="10/hour")
REVIEW_REPORTS_TO_HOLD = env.int("REVIEW_REPORTS_TO_HOLD", default=3)
REVIEW_REQUIRE_PURCHASE = env.bool("REVIEW_REQUIRE_PURCHASE", default=True)
