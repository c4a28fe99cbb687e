"""Django REST framework, OpenAPI (drf-spectacular) and API conventions."""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.SessionTokenAuthentication",
        "apps.accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every view declares `access_policy` (apps.accounts.policy); none declared = nobody.
    "DEFAULT_PERMISSION_CLASSES": ["apps.accounts.policy.PolicyPermission"],
    # Order matters: the caller's own budget first, the tenant-wide one only for allowed requests.
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.throttling.PrincipalPlanThrottle",
        "apps.core.throttling.TenantPlanThrottle",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
    "NUM_PROXIES": 0,  # X-Forwarded-For is ignored unless production sets NUM_PROXIES
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
}

MAX_PAGE_SIZE = 200

SPECTACULAR_SETTINGS = {
    "TITLE": "F&B Inventory, Orders & Loyalty API",
    "DESCRIPTION": (
        "Versioned REST API of one tenant (a business). Every request is routed to its tenant by "
        'hostname. Errors share one shape: `{"error": {"code", "message", "details", '
        '"request_id"}}`. Unsafe requests accept an `Idempotency-Key` header (kept 24 h per '
        "principal); rate limits follow the tenant's plan and answer 429 with `Retry-After`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SessionTypeEnum": "apps.accounts.models.UserKind.choices",
        "OrderStatusEnum": "apps.orders.models.OrderStatus.choices",
        "ReviewStatusEnum": "apps.reviews.models.ReviewStatus.choices",
        "ReviewReportReasonEnum": "apps.reviews.models.ReportReason.choices",
        "WebhookDeliveryStatusEnum": "apps.integrations.models.DeliveryStatus.choices",
        "LoyaltyTierEnum": "apps.loyalty.models.Tier.choices",
        "InvoiceStatusEnum": "apps.payments.models.InvoiceStatus.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.openapi.add_error_responses",
    ],
}

from datetime import timedelta  # noqa: E402

from config.settings.env import env  # noqa: E402

# Tokens: short access tokens, 30-day refresh tokens rotated on every use (see apps.accounts).
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=30),
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": False,
}
if env("JWT_SIGNING_KEY", default=""):  # otherwise simplejwt signs with SECRET_KEY
    SIMPLE_JWT["SIGNING_KEY"] = env("JWT_SIGNING_KEY")
# A session's last_used_at is written at most this often (one UPDATE, not one per request).
AUTH_SESSION_TOUCH_SECONDS = 60
# Brute-force protection: this many failed sign-ins for one e-mail within the window locks it.
LOGIN_LOCKOUT_ATTEMPTS = env.int("LOGIN_LOCKOUT_ATTEMPTS", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)
