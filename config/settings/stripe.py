"""Stripe through dj-stripe. Keys come from the environment; none are committed."""

from config.settings.env import env

STRIPE_LIVE_MODE = env.bool("STRIPE_LIVE_MODE", default=False)
STRIPE_TEST_SECRET_KEY = env("STRIPE_TEST_SECRET_KEY", default="")
STRIPE_LIVE_SECRET_KEY = env("STRIPE_LIVE_SECRET_KEY", default="")
DJSTRIPE_WEBHOOK_SECRET = env("DJSTRIPE_WEBHOOK_SECRET", default="")
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
# Base URL of the Stripe API (payments, planned: the local stand-in localstripe in dev and tests).
STRIPE_API_BASE = env("STRIPE_API_BASE", default="https://api.stripe.com")
# dj-stripe mirrors objects under this account id (the stand-in has no /v1/account to ask).
STRIPE_ACCOUNT_ID = env("STRIPE_ACCOUNT_ID", default="acct_platform")
