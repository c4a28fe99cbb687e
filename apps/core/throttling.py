"""Rate limits per tenant plan: one budget per tenant, one per principal, both in Redis.

Sliding-window counters: the current and previous fixed windows are counted with INCR, and the
previous one is weighted by how much of it still overlaps the sliding window. No read-modify-write
in Python. The caller's budget and the tenant's are checked in ONE round trip (a Lua script that
counts the tenant's window only if the caller's still allowed the request, as two separate checks
would). If Redis is unreachable the request is let through and a warning logged: the rate limiter
must not take the API down with it.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
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


# KEYS: current and previous window key of each budget, in order; ARGV: limit, weight of the
# previous window for each. Counts budget after budget and stops at the first one exceeded (later
# budgets are not charged for a refused request). Returns current, previous of each budget counted.
_WINDOWS_LUA = """
local out = {}
for i = 1, #KEYS / 2 do
  local current = redis.call('INCR', KEYS[2 * i - 1])
  redis.call('EXPIRE', KEYS[2 * i - 1], tonumber(ARGV[3 * i]))
  local previous = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  out[#out + 1] = current
  out[#out + 1] = previous
  if previous * tonumber(ARGV[3 * i - 1]) + current > tonumber(ARGV[3 * i - 2]) then
    break
  end
end
return out
"""


def sliding_windows_hit(budgets: list[tuple[str, int, int]], *, now: float | None = None) -> list[float]:
    """Count one hit on each (key, limit, period) budget, in order, in one round trip; stop at the
    first budget exceeded. Returns, for each budget counted, 0 when allowed, else the seconds to
    wait (a refused budget is the last item; the budgets after it were not counted)."""
    now = time.time() if now is None else now
    keys: list[str] = []
    args: list[float] = []
    spans = []
    for key, limit, period in budgets:
        window = int(now // period)
        elapsed = now - window * period
        keys += [f"{key}:{window}", f"{key}:{window - 1}"]
        args += [limit, (period - elapsed) / period, period * 2]
        spans.append((limit, period, elapsed))
    script = _script(settings.RATE_LIMIT_REDIS_URL)
    counts = script(keys=keys, args=args)
    return [_wait(int(counts[2 * i]), int(counts[2 * i + 1]), *spans[i]) for i in range(len(counts) // 2)]


@lru_cache(maxsize=8)
def _script(url: str):  # noqa: ANN202 - redis.commands.core.Script
    return get_redis(url).register_script(_WINDOWS_LUA)


def sliding_window_hit(key: str, limit: int, period: int, *, now: float | None = None) -> float:
    """Count one hit; return 0 when allowed, else the seconds to wait."""
    return sliding_windows_hit([(key, limit, period)], now=now)[0]


def _wait(current: int, previous: int, limit: int, period: int, elapsed: float) -> float:
    weight = (period - elapsed) / period
    estimated = previous * weight + current
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

    def budget(self, request: Request) -> tuple[str, int, int] | None:
        """(Redis key, limit, period) of this request's budget, or None when it is not limited."""
        tenant = getattr(request._request, "tenant", None)
        if tenant is None or connection.schema_name == get_public_schema_name():
            return None
        rate = self.rate(request, tenant)
        if not rate:
            return None
        limit, period = parse_rate(rate)
        return f"rl:{tenant.schema_name}:{self.scope}:{self.ident(request)}:{period}", limit, period

    def allow_request(self, request: Request, view: APIView) -> bool:
        budget = self.budget(request)
        if budget is None:
            return True
        return self._decide(request, self._hit([budget])[0])

    def _hit(self, budgets: list[tuple[str, int, int]]) -> list[float]:
        try:
            return sliding_windows_hit(budgets)
        except redis.RedisError:
            logger.warning("Rate limiter unavailable (Redis error); request let through")
            return [0.0] * len(budgets)

    def _decide(self, request: Request, wait: float) -> bool:
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

    def allow_request(self, request: Request, view: APIView) -> bool:
        """The caller's budget, and in the same round trip the tenant's when the view checks it next
        (its decision is left on the request for `TenantPlanThrottle`)."""
        mine = self.budget(request)
        tenants = TenantPlanThrottle().budget(request) if TenantPlanThrottle in view.throttle_classes else None
        if mine is None:
            return True  # the tenant's budget is then checked on its own
        if tenants is None:
            return self._decide(request, self._hit([mine])[0])
        waits = self._hit([mine, tenants])
        if len(waits) == 2:
            request._request._tenant_throttle_wait = waits[1]
        return self._decide(request, waits[0])


class TenantPlanThrottle(_PlanThrottle):
    """All requests to one tenant together. Runs after the caller's own budget: a request already
    refused for its caller does not use up everyone's budget."""

    scope = "tenant"

    def ident(self, request: Request) -> str:
        return "all"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if getattr(request._request, "_rate_limited", False):
            return True  # refused already; counting it here would let one caller starve the tenant
        wait = request._request.__dict__.pop("_tenant_throttle_wait", None)
        if wait is not None:  # counted together with the caller's budget
            return self._decide(request, wait)
        return super().allow_request(request, view)


class AuthEndpointThrottle(_PlanThrottle):
    """Sign-in, sign-up and token endpoints: a stricter budget per client address (AUTH_RATE_LIMIT)."""

    scope = "auth"

    def ident(self, request: Request) -> str:
        return f"ip{self.get_ident(request)}"

    def rate(self, request: Request, tenant: object) -> str | None:
        return settings.AUTH_RATE_LIMIT
