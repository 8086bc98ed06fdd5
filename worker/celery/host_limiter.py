"""The distributed :class:`feeds.ports.HostLimiter`: per-host leases shared through Redis.

Every Celery worker process, on any machine, asks the same Redis before fetching from a
host. Per host there are two keys:

* ``<prefix>:<host>:leases`` — a sorted set of lease tokens scored by their expiry time.
  A lease is granted only while fewer than ``max_concurrent`` unexpired leases exist, and
  expires by itself after ``lease_seconds`` (longer than the fetch deadline), so a worker
  killed in the middle of a fetch cannot hold a slot forever.
* ``<prefix>:<host>:next`` — the earliest time the next request may *start*
  (``min_spacing`` after the last grant).
* ``<prefix>:<host>:booked`` — the end of the last *reserved* start (``reserve``):
  queued polls of one host are booked one ``min_spacing`` after another, so each is
  scheduled once for its turn instead of coming back while the host is busy.

The check and the grant happen in one Lua script, so two workers cannot both take the last
slot, and the script reads Redis's own clock (``TIME``), so workers with skewed clocks
agree. Nothing here blocks: a refused caller gets the time to wait.
"""

from __future__ import annotations

import uuid
from typing import Any

import redis

from feeds.errors import StorageError
from feeds.models import HostGrant

# KEYS: leases, next. ARGV: max concurrent, spacing ms, lease ms, token, busy retry ms.
# Returns {1, 0} when granted, {0, wait ms} when not.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return {0, tonumber(ARGV[5])}
end
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < nxt then
  return {0, nxt - now}
end
local lease = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + lease, ARGV[4])
redis.call('PEXPIRE', KEYS[1], lease + 1000)
local spacing = tonumber(ARGV[2])
if spacing > 0 then
  redis.call('SET', KEYS[2], now + spacing, 'PX', spacing + 1000)
end
return {1, 0}
"""

# KEYS: next, booked. ARGV: spacing ms, horizon ms (-1: none). Returns the ms from now
# until the booked start, or -1 (nothing booked) when that is beyond the horizon.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local booked = tonumber(redis.call('GET', KEYS[2]) or '0')
local slot = math.max(now, nxt, booked)
local horizon = tonumber(ARGV[2])
if horizon >= 0 and slot - now > horizon then
  return -1
end
local spacing = tonumber(ARGV[1])
if spacing > 0 then
  redis.call('SET', KEYS[2], slot + spacing, 'PX', slot + spacing - now + 60000)
end
return slot - now
"""


class RedisHostLimiter:
    """Lease-based per-host semaphores with minimum spacing, in Redis."""

    def __init__(
        self,
        url: str,
        *,
        max_concurrent: int = 2,
        min_spacing: float = 1.0,
        lease_seconds: float = 90.0,
        busy_retry: float = 0.25,
        prefix: str = "newsmon:host",
    ) -> None:
        if max_concurrent < 1 or min_spacing < 0 or lease_seconds <= 0:
            raise ValueError("need max_concurrent >= 1, min_spacing >= 0, lease_seconds > 0")
        self.url = url
        self.max_concurrent = max_concurrent
        self.min_spacing = min_spacing
        self.lease_seconds = lease_seconds
        self.busy_retry = busy_retry
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._acquire: Any = self._redis.register_script(_ACQUIRE)
        self._reserve: Any = self._redis.register_script(_RESERVE)

    def _keys(self, host: str) -> list[str]:
        return [f"{self.prefix}:{host}:leases", f"{self.prefix}:{host}:next"]

    def try_acquire(self, host: str) -> HostGrant:
        token = uuid.uuid4().hex
        args = [
            self.max_concurrent,
            int(self.min_spacing * 1000),
            int(self.lease_seconds * 1000),
            token,
            int(self.busy_retry * 1000),
        ]
        try:
            granted, wait_ms = self._acquire(keys=self._keys(host), args=args)
        except redis.RedisError as exc:
            raise StorageError(
                f"cannot reach Redis for host limits at {_where(self.url)}: {exc}"
            ) from None
        if int(granted):
            return HostGrant(token)
        return HostGrant(None, max(int(wait_ms), 1) / 1000)

    def reserve(self, host: str, within: float | None = None) -> float | None:
        keys = self._keys(host)
        horizon = -1 if within is None else int(within * 1000)
        try:
            wait_ms = self._reserve(
                keys=[keys[1], f"{self.prefix}:{host}:booked"],
                args=[int(self.min_spacing * 1000), horizon],
            )
        except redis.RedisError as exc:
            raise StorageError(
                f"cannot reach Redis for host limits at {_where(self.url)}: {exc}"
            ) from None
        if int(wait_ms) < 0:
            return None
        return int(wait_ms) / 1000

    def release(self, host: str, token: str) -> None:
        try:
            self._redis.zrem(self._keys(host)[0], token)
        except redis.RedisError:
            pass  # the lease expires by itself; that is what expiry is for

    def in_flight(self, host: str) -> int:
        """Unexpired leases on ``host`` (for tests and ``newsmon status``)."""
        key = self._keys(host)[0]
        now_s, now_us = self._redis.time()
        return int(self._redis.zcount(key, now_s * 1000 + now_us // 1000, "+inf"))

    def close(self) -> None:
        self._redis.close()


def _where(url: str) -> str:
    return url.split("@")[-1]
