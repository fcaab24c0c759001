"""A request budget per fixed window and per bucket (api, resolvers), shared by every worker.

The Hub counts requests per fixed window and answers 429 past its quota, and says so on every
answer: `RateLimit-Policy` gives the quota and window, `RateLimit` what remains and when the
window resets (catalog.ratelimit). We ration ourselves to MARGIN of the announced quota, so that
adding workers, on any number of machines, never trips it, and the rest is left for in-flight
requests and for other clients of the same account. `CANOPY_HUB_*_BUDGET`, when set, is a
ceiling on that; until an answer has announced a quota, the configured budget or DEFAULTS holds.

Our window follows the server's: each answer moves its end to now + `t`, and where the server
counts more requests than we do (other clients, or requests we granted before a window turned),
we count as many, so "fewer remain than we think" always wins. With REDIS_URL the state lives in
a Redis hash changed by Lua scripts; embedded, in a database row changed by conditional UPDATEs,
which are atomic on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.db.models.functions import Greatest

from .models import HubBudget
from .ratelimit import BUCKETS, Announced

if TYPE_CHECKING:
    from redis import Redis

# The share of an announced quota we use: 450 of the anonymous Hub's 500 API calls per window.
MARGIN = 0.9
# Until the Hub has announced its quota: MARGIN of its anonymous 500 API / 3,000 file calls.
DEFAULTS = {"api": 450, "resolvers": 2700}
# An answer whose window ends more than this after ours belongs to the server's next window
# (`t` is whole seconds, rounded up); otherwise it is ours, seen by the server.
SAME_WINDOW_SLACK = 1.0


@dataclass(frozen=True)
class Policy:
    limit: int  # requests we grant per window
    window: int  # seconds
    reserve: int  # of the announced quota, what we leave unused


def ceiling(bucket: str) -> int | None:
    """The configured budget, None when the environment does not set one."""
    return {
        "api": settings.CANOPY_HUB_API_BUDGET,
        "resolvers": settings.CANOPY_HUB_RESOLVERS_BUDGET,
    }[bucket]


def policy(bucket: str, quota: int, window: int, configured_window: int) -> Policy:
    """What we grant per window, from the announced quota and window (0: none announced yet)."""
    cap = ceiling(bucket)
    if not (quota and window):
        return Policy(DEFAULTS[bucket] if cap is None else cap, configured_window, 0)
    limit = max(1, math.floor(quota * MARGIN))
    reserve = quota - limit
    if cap is not None:
        # The ceiling counts per configured window: in a shorter announced window, its share;
        # in a longer one, no more than the ceiling itself.
        limit = min(limit, max(1, cap * min(window, configured_window) // configured_window))
    return Policy(limit, window, reserve)


class Budget:
    def __init__(self, *, window: int | None = None, sleep: Callable[[float], None] = time.sleep):
        self.window = window or settings.CANOPY_HUB_WINDOW_SECONDS
        self.sleep = sleep
        self.store: _RedisStore | _DatabaseStore
        if settings.REDIS_URL:
            import redis

            self.store = _RedisStore(redis.Redis.from_url(settings.REDIS_URL))
        else:
            self.store = _DatabaseStore()

    def policy(self, bucket: str) -> Policy:
        quota, window = self.store.announced(bucket)
        return policy(bucket, quota, window, self.window)

    def acquire(self, bucket: str) -> float:
        """Take one request from the bucket, waiting for the next window if it is spent.

        Returns the seconds spent waiting.
        """
        waited = 0.0
        while True:
            p = self.policy(bucket)
            wait = self.store.take(bucket, time.time(), p.limit, p.window)
            if wait is None:
                return waited
            self.sleep(wait)
            waited += wait

    def observe(self, announced: Announced) -> None:
        """Take in what an answer said of its bucket: the policy, and the server's own count."""
        bucket = announced.bucket
        if announced.quota and announced.window:
            self.store.announce(bucket, announced.quota, announced.window)
        if announced.remaining is None or announced.reset is None:
            return
        p = self.policy(bucket)
        # The server has `remaining` left of its quota; we may use that less our reserve.
        server_used = max(0, p.limit + p.reserve - announced.remaining)
        self.store.sync(bucket, time.time() + announced.reset, server_used)


class _DatabaseStore:
    def _rows(self, bucket: str) -> Any:
        HubBudget.objects.get_or_create(bucket=bucket)
        return HubBudget.objects.filter(bucket=bucket)

    def announced(self, bucket: str) -> tuple[int, int]:
        row, _ = HubBudget.objects.get_or_create(bucket=bucket)
        return row.quota, row.window

    def take(self, bucket: str, now: float, limit: int, window: int) -> float | None:
        """None when a request was granted, else the seconds to wait before trying again.

        The row exists: `Budget.acquire` reads the announced policy from it first.
        """
        rows = HubBudget.objects.filter(bucket=bucket)
        # A window that has ended starts a new one; the current one counts up to the limit.
        if rows.filter(window_end__lte=now).update(window_end=now + window, used=1):
            return None
        if rows.filter(window_end__gt=now, used__lt=limit).update(used=F("used") + 1):
            return None
        end, used = rows.values_list("window_end", "used").get()
        if end <= now or used < limit:
            # An answer moved the window between the UPDATEs and this read (a 429's spent
            # second gave way to minutes with room): its end is no wait of ours. Ask again.
            return 0.001
        return end - now

    def announce(self, bucket: str, quota: int, window: int) -> None:
        self._rows(bucket).exclude(quota=quota, window=window).update(quota=quota, window=window)

    def sync(self, bucket: str, end: float, server_used: int) -> None:
        # One statement, as the Lua script is one call: read and written in two, a 429's count
        # (its window ending in a second) could land between them, and the other answer would
        # then carry that spent count into a window that ends minutes later.
        self._rows(bucket).update(
            window_end=end,
            used=Case(
                When(window_end__lt=end - SAME_WINDOW_SLACK, then=Value(server_used)),
                default=Greatest(F("used"), Value(server_used)),
                output_field=HubBudget._meta.get_field("used"),
            ),
        )


# Numbers cross into Lua as strings; Lua's tostring keeps 14 digits, enough for epoch seconds to
# a tenth of a millisecond and for counts up to MAX_QUOTA.
_TAKE = """
local now, limit, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'end', 'used')
local window_end, used = tonumber(state[1]) or 0, tonumber(state[2]) or 0
if now >= window_end then
  redis.call('HSET', KEYS[1], 'end', tostring(now + window), 'used', 1)
  return ''
end
if used < limit then
  redis.call('HINCRBY', KEYS[1], 'used', 1)
  return ''
end
return tostring(window_end - now)
"""
_SYNC = """
local window_end, server_used = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'end', 'used')
local ours, used = tonumber(state[1]) or 0, tonumber(state[2]) or 0
if window_end <= ours + tonumber(ARGV[3]) then server_used = math.max(used, server_used) end
redis.call('HSET', KEYS[1], 'end', ARGV[1], 'used', server_used)
"""


class _RedisStore:
    def __init__(self, client: Redis):
        self.client = client
        self._take = client.register_script(_TAKE)
        self._sync = client.register_script(_SYNC)

    @staticmethod
    def key(bucket: str) -> str:
        assert bucket in BUCKETS
        return f"canopy:budget:{bucket}"

    def _get(self, bucket: str, *fields: str) -> list[bytes | None]:
        # redis-py types every reply as `Awaitable[Any] | Any` (its asyncio client shares the
        # signatures); the sync client, without decode_responses, returns bytes or None.
        return cast("list[bytes | None]", self.client.hmget(self.key(bucket), list(fields)))

    def announced(self, bucket: str) -> tuple[int, int]:
        quota, window = self._get(bucket, "quota", "window")
        return int(quota or 0), int(window or 0)

    def take(self, bucket: str, now: float, limit: int, window: int) -> float | None:
        wait = self._take(keys=[self.key(bucket)], args=[repr(now), limit, window])
        return max(float(wait), 0.001) if wait else None

    def announce(self, bucket: str, quota: int, window: int) -> None:
        self.client.hset(self.key(bucket), mapping={"quota": quota, "window": window})

    def sync(self, bucket: str, end: float, server_used: int) -> None:
        self._sync(keys=[self.key(bucket)], args=[repr(end), server_used, SAME_WINDOW_SLACK])
