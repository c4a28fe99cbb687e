"""One Redis connection pool per process and URL (rate limits, health, live streams)."""

from functools import lru_cache

import redis


@lru_cache(maxsize=8)
def get_redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30)
