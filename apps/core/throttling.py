"""Rate limits per tenant plan: one budget per tenant, one per principal, both in Redis.

Sliding-window counters: the current and previous fixed windows are counted with INCR, and the
previous one is weighted by how much of it still overlaps the sliding window. One round trip per
check (a pipeline), no read-modify-write in Python. If Redis is unreachable the request is let
through and a warning logged: the rate limiter must not take the API down with it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apps.core.redis import get_redis

if TYPE_CHECKING:
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'60/minute' -> (60, 60). Also accepts the 's', 'm', 'h', 'd' abbreviations."""
    count, _, period = rate.partition("/")
    period = period.strip().lower()
    for name, seconds in _PERIODS.items():
        if period in (name, name[0], name + "s"):
            return int(count), seconds
    raise ValueError(f"Bad rate {rate!r}; expected '<count>/<second|minute|hour|day>'")


def sliding_window_hit(key: str, limit: int, period: int, *, now: float | None = None) -> float:
    """Count one hit; return 0 when allowed, else the seconds to wait."""
    now = time.time() if now is None else now
    window = int(now // period)
    elapsed = now - window * period
    client = get_redis(settings.RATE_LIMIT_REDIS_URL)
    current_key, previous_key = f"{key}:{window}", f"{key}:{window - 1}"
    pipe = client.pipeline(transaction=False)
    pipe.incr(current_key)
    pipe.expire(current_key, period * 2)
    pipe.get(previous_key)
    current, _, previous = pipe.execute()
    weight = (period - elapsed) / period
    estimated = int(previous or 0) * weight + current
    if estimated <= limit:
        return 0.0
    # Wait until enough of the previous window slid out (or, failing that, the window ends).
    if previous:
        needed = (estimated - limit) / int(previous) * period
        return max(1.0, min(needed, period - elapsed))
    return max(1.0, period - elapsed)


class _PlanThrottle(BaseThrottle):
    """A sliding-window budget in Redis. Subclasses choose the scope, the budget (`rate`) and whose
    budget it is (`ident`: by default the caller: API key, user, else client address)."""

    scope = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def ident(self, request: Request) -> str:
        api_key = getattr(request._request, "api_key", None)
        if api_key is not None:
            return f"key{api_key.pk}"
        user = request.user
        if user is not None and user.is_authenticated:
            return f"user{user.pk}"
        return f"ip{self.get_ident(request)}"

    def rate(self, request: Request, tenant: object) -> str | None:
        return settings.API_RATE_LIMITS.get(tenant.plan, settings.API_RATE_LIMITS["free"]).get(self.scope)

    def allow_request(self, request: Request, view: APIView) -> bool:
        tenant = getattr(request._request, "tenant", None)
        if tenant is None or connection.schema_name == get_public_schema_name():
            return True
        rate = self.rate(request, tenant)
        if not rate:
            return True
        limit, period = parse_rate(rate)
        key = f"rl:{tenant.schema_name}:{self.scope}:{self.ident(request)}:{period}"
        try:
            wait = sliding_window_hit(key, limit, period)
        except redis.RedisError:
            logger.warning("Rate limiter unavailable (Redis error); request let through")
            return True
        self._wait = wait or None
        if wait:
            request._request._rate_limited = True
        return wait == 0

    def wait(self) -> float | None:
        return self._wait


class PrincipalPlanThrottle(_PlanThrottle):
    """One caller of one tenant, at the plan's per-caller rate (an API key's own rate when it has one)."""

    scope = "principal"

    def rate(self, request: Request, tenant: object) -> str | None:
        api_key = getattr(request._request, "api_key", None)
        return (api_key.rate_limit if api_key is not None else "") or super().rate(request, tenant)


class TenantPlanThrottle(_PlanThrottle):
    """All requests to one tenant together. Runs after the caller's own budget: a request already
    refused for its caller does not use up everyone's budget."""

    scope = "tenant"

    def ident(self, request: Request) -> str:
        return "all"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if getattr(request._request, "_rate_limited", False):
            return True  # refused already; counting it here would let one caller starve the tenant
        return super().allow_request(request, view)


class AuthEndpointThrottle(_PlanThrottle):
    """Sign-in, sign-up and token endpoints: a stricter budget per client address (AUTH_RATE_LIMIT)."""

    scope = "auth"

    def ident(self, request: Request) -> str:
        return f"ip{self.get_ident(request)}"

    def rate(self, request: Request, tenant: object) -> str | None:
        return settings.AUTH_RATE_LIMIT
