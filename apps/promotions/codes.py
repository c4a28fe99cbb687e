"""Coupon codes: normalised (case-insensitive), generated unguessable, and the per-caller budget of
wrong codes (sliding window in Redis, the same counter as the API rate limits)."""

from __future__ import annotations

import logging
import secrets
import time

import redis
from django.conf import settings
from django.db import connection

from apps.core.redis import get_redis
from apps.core.throttling import parse_rate, sliding_window_hit
from apps.promotions.errors import CouponAttemptsExceeded

logger = logging.getLogger(__name__)

# No 0/O, 1/I/L: codes read aloud or typed from a flyer.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_CODE_LENGTH = 40


def normalise(code: str) -> str:
    return "".join(code.split()).upper()[:MAX_CODE_LENGTH]


def generate(prefix: str = "", length: int = 10) -> str:
    """`length` random characters (31 symbols: ~49 bits at 10), after an optional prefix."""
    return normalise(prefix) + "".join(secrets.choice(ALPHABET) for _ in range(length))


def _key(caller: str) -> str:
    return f"rl:{connection.schema_name}:coupon-codes:{caller}"


def attempts_check(caller: str | None) -> None:
    """Refuse (429) a caller that used up its budget of wrong codes, before any code is looked up."""
    if not caller:
        return
    limit, period = parse_rate(_rate())
    now = time.time()
    window = int(now // period)
    try:
        client = get_redis(settings.RATE_LIMIT_REDIS_URL)
        current, previous = client.mget(f"{_key(caller)}:{period}:{window}", f"{_key(caller)}:{period}:{window - 1}")
    except redis.RedisError:
        logger.warning("Coupon attempt limiter unavailable (Redis error); let through")
        return
    weight = (period - (now - window * period)) / period
    if int(previous or 0) * weight + int(current or 0) >= limit:
        raise CouponAttemptsExceeded(headers={"Retry-After": str(period)})


def attempt_failed(caller: str | None) -> None:
    if not caller:
        return
    limit, period = parse_rate(_rate())
    try:
        sliding_window_hit(f"{_key(caller)}:{period}", limit, period)
    except redis.RedisError:
        logger.warning("Coupon attempt limiter unavailable (Redis error)")


def _rate() -> str:
    return getattr(settings, "COUPON_CODE_ATTEMPTS", "10/minute")
