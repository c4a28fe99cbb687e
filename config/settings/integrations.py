"""Integrations: outgoing webhooks (relay, delivery, retries), live streams, partner sync."""

from config.settings.env import env

# Outgoing webhooks. Production only calls public HTTPS addresses; local and test settings allow
# http:// and private/loopback addresses (a receiver on this machine).
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=True)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# A claimed delivery belongs to its worker this long (the request's timeout plus a margin); after
# that a worker that died mid-delivery is assumed gone and the relay hands the delivery on.
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=60.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=12)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=15.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600.0)
# An endpoint whose deliveries have failed without a success for this long is disabled and the
# tenant's owners are e-mailed.
WEBHOOK_DISABLE_AFTER_SECONDS = env.int("WEBHOOK_DISABLE_AFTER_SECONDS", default=3 * 24 * 3600)
# After a secret rotation the old secret still signs (a second signature) for this long.
WEBHOOK_SECRET_GRACE_SECONDS = env.int("WEBHOOK_SECRET_GRACE_SECONDS", default=24 * 3600)
WEBHOOK_RELAY_BATCH = env.int("WEBHOOK_RELAY_BATCH", default=500)

# Live streams (server-sent events, served by the `stream` process).
STREAM_MAXLEN = env.int("STREAM_MAXLEN", default=1000)  # entries kept per tenant and channel (approx.)
STREAM_LIFETIME_SECONDS = env.int("STREAM_LIFETIME_SECONDS", default=300)
STREAM_HEARTBEAT_SECONDS = env.float("STREAM_HEARTBEAT_SECONDS", default=15.0)
STREAM_REDIS_CONNECTIONS = env.int("STREAM_REDIS_CONNECTIONS", default=32)  # per stream process, besides readers

# Partner sync.
SYNC_STOCK_MAX_LINES = env.int("SYNC_STOCK_MAX_LINES", default=10_000)
# Where clients reach the `stream` process. Empty: the request's host on STREAM_PORT (local);
# production routes /api/v1/streams/ to it at the load balancer and sets this to the public origin.
STREAM_PUBLIC_URL = env("STREAM_PUBLIC_URL", default="")
STREAM_PORT = env.int("STREAM_PORT", default=8001)
