"""The browser tests' server: the test settings, with static files served from the app and
`static/` folders directly (no collectstatic step before a test run)."""

from config.settings.test import *  # noqa: F403

WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
