"""Brute-force lockout for sign-ins, shared by the API and the Django admin.

Failed attempts are counted per tenant and e-mail in Redis (Django's cache, whose keys carry
the tenant's schema). After LOGIN_LOCKOUT_ATTEMPTS failures within LOGIN_LOCKOUT_SECONDS the
address is locked for that long, even for the right password; a success resets the count.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def _key(email: str) -> str:
    return f"login-failures:{email.strip().lower()}"


def _lock_key(email: str) -> str:
    return f"login-locked:{email.strip().lower()}"


def login_is_locked(email: str) -> bool:
    try:
        return cache.get(_lock_key(email)) is not None
    except Exception:  # Redis down: sign-in keeps working (logged), like the rate limiter
        logger.warning("Lockout check unavailable (cache error); sign-in let through")
        return False


def login_failure_record(email: str) -> int:
    """Count a failure; the one that reaches the limit locks the address for the full period."""
    key = _key(email)
    try:
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        try:
            failures = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
            failures = 1
    except Exception:
        logger.warning("Lockout counter unavailable (cache error)")
        return 0
    if failures >= settings.LOGIN_LOCKOUT_ATTEMPTS:
        cache.set(_lock_key(email), 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        cache.delete(key)
    return failures


def login_failures_clear(email: str) -> None:
    try:
        cache.delete_many([_key(email), _lock_key(email)])
    except Exception:
        logger.warning("Lockout counter unavailable (cache error)")


class LockoutModelBackend(ModelBackend):
    """ModelBackend that refuses locked addresses and counts failures (admin and API alike)."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        email = username or kwargs.get("email") or ""
        if email and login_is_locked(email):
            if request is not None:
                request.login_locked = True  # type: ignore[attr-defined]
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if email:
            if user is None:
                login_failure_record(email)
            else:
                login_failures_clear(email)
        return user
