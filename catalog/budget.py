"""A request budget per fixed window and per bucket (api, resolvers), shared by every worker.

The Hub counts requests per 5-minute window and answers 429 past its quota; we stay under our
own quota so that adding workers, on any number of machines, never trips it. With REDIS_URL the
counters live in Redis (INCR on a per-window key); embedded, in a database row updated with a
conditional UPDATE, which is atomic on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.db import models, transaction

from .models import HubBudget

if TYPE_CHECKING:
    from redis import Redis

BUCKETS = ("api", "resolvers")


def quota(bucket: str) -> int:
    return {
        "api": settings.CANOPY_HUB_API_BUDGET,
        "resolvers": settings.CANOPY_HUB_RESOLVERS_BUDGET,
    }[bucket]


def _redis_get(client: Redis, key: str) -> bytes | None:
    # redis-py types every reply as `Awaitable[Any] | Any` (its asyncio client shares the
    # signatures); the sync client, without decode_responses, returns GET's bytes or None.
    return cast("bytes | None", client.get(key))


class Budget:
    def __init__(self, *, window: int | None = None, sleep: Callable[[float], None] = time.sleep):
        self.window = window or settings.CANOPY_HUB_WINDOW_SECONDS
        self.sleep = sleep
        self._redis = None
        if settings.REDIS_URL:
            import redis

            self._redis = redis.Redis.from_url(settings.REDIS_URL)

    def acquire(self, bucket: str) -> float:
        """Take one request from the bucket, waiting for the next window if it is spent.

        Returns the seconds spent waiting.
        """
        waited = 0.0
        while True:
            wait = self._try_acquire(bucket, quota(bucket), time.time())
            if wait <= 0:
                return waited
            self.sleep(wait)
            waited += wait

    def block(self, bucket: str, seconds: float) -> None:
        """The Hub said the bucket is spent: nobody asks again for `seconds`."""
        until = time.time() + seconds
        if self._redis is not None:
            self._redis.set(f"canopy:budget:{bucket}:blocked", until, px=int(seconds * 1000) + 1)
            return
        HubBudget.objects.get_or_create(bucket=bucket)
        HubBudget.objects.filter(bucket=bucket, blocked_until__lt=until).update(blocked_until=until)

    def used(self, bucket: str) -> int:
        start = int(time.time() // self.window * self.window)
        if self._redis is not None:
            return int(_redis_get(self._redis, f"canopy:budget:{bucket}:{start}") or 0)
        row = HubBudget.objects.filter(bucket=bucket, window_start=start).first()
        return row.used if row else 0

    def _try_acquire(self, bucket: str, limit: int, now: float) -> float:
        """0 when a request was granted, else the seconds to wait before trying again."""
        start = int(now // self.window * self.window)
        window_end = start + self.window
        if self._redis is not None:
            blocked = _redis_get(self._redis, f"canopy:budget:{bucket}:blocked")
            if blocked and float(blocked) > now:
                return float(blocked) - now
            key = f"canopy:budget:{bucket}:{start}"
            pipe = self._redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, self.window * 2)
            used = pipe.execute()[0]
            return 0 if used <= limit else window_end - now
        with transaction.atomic():
            HubBudget.objects.get_or_create(bucket=bucket)
            rows = HubBudget.objects.filter(bucket=bucket, blocked_until__lte=now)
            # A new window resets the counter; the same window counts up to the limit.
            if rows.filter(window_start__lt=start).update(window_start=start, used=1):
                return 0
            if rows.filter(window_start=start, used__lt=limit).update(used=models.F("used") + 1):
                return 0
            row = HubBudget.objects.get(bucket=bucket)
        if row.blocked_until > now:
            return row.blocked_until - now
        return window_end - now
