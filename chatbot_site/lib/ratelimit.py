"""Fixed-window rate limits on the cache (Redis in production), with a fallback.

    retry_after = rate_limit_check([Counter("visitor", str(visitor.pk), 240),
                                    Counter("client", client_ident(request), 1200)])
    if retry_after: answer 429 with Retry-After: retry_after

Invariants:

- Counters are checked in the order given, most specific first, and counting
  stops at the first one over its limit: a refused request never counts against
  a broader budget, so one client's flood cannot use up an inbox-wide counter.
- A limit of 0 (or less) switches that counter off.
- Keys start with settings.HAFEN_RATE_KEY_PREFIX and hold a scope and an opaque
  identifier (an id, or the keyed hash of a client address from client_ident()),
  never an address or a token. They live in the cache for one window plus a
  second (60 s by default; never more than an hour) and are never logged.
- The cache failing never fails the request: the counters move to a
  per-process in-memory limiter for a few seconds (then the cache is tried
  again), with one warning a minute in the log. Each web process then counts
  on its own, so a client may get up to (processes x limit) until Redis is back.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

#: After a cache error, count in memory for this long before trying the cache again.
CACHE_RETRY_SECONDS = 5.0
#: At most one "cache unavailable" warning per process in this many seconds.
WARNING_INTERVAL = 60.0
#: The in-memory fallback forgets everything past this many counters (a flood of
#: distinct clients must not grow a process without bound).
LOCAL_MAX_COUNTERS = 100_000

# One round trip for all counters of a request, in order, stopping at the first
# that is over its limit. KEYS: the counters; ARGV[1]: ttl; ARGV[1 + i]: limit i.
_LUA = """
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  if n > tonumber(ARGV[i + 1]) then return i end
end
return 0
"""
_LUA_SHA = hashlib.sha1(_LUA.encode()).hexdigest()


@dataclass(frozen=True)
class Counter:
    """One budget: `limit` hits per window for (scope, ident)."""

    scope: str
    ident: str
    limit: int


# --- client identity --------------------------------------------------------


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the first X-Forwarded-For hop behind a proxy.

    With settings.HAFEN_BEHIND_PROXY on, the proxy must set X-Forwarded-For
    itself (overwrite, not append), or a client could choose its own address.
    """
    if settings.HAFEN_BEHIND_PROXY:
        first = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        if first:
            return first
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _client_bucket(address: str) -> str:
    """IPv6 clients are counted per /64 (one subscriber usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_ident(request: HttpRequest, *, day: str | None = None) -> str:
    """A keyed hash of the client's address, salted with SECRET_KEY and today's date (UTC).

    The salt changes every day, so yesterday's keys cannot be linked to
    today's; the hash is only ever a cache key (see the module docstring).
    """
    day = day or datetime.now(UTC).date().isoformat()
    address = _client_bucket(client_address(request))
    return salted_hmac(f"hafen.ratelimit.client.{day}", address, algorithm="sha256").hexdigest()[
        :32
    ]


# --- counting ---------------------------------------------------------------


def _key(counter: Counter, index: int) -> str:
    prefix = getattr(settings, "HAFEN_RATE_KEY_PREFIX", "hafen:rl")
    return f"{prefix}:{counter.scope}:{counter.ident}:{index}"


class _LocalCounters:
    """The per-process fallback: the same fixed windows, in a dict under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window index, count)

    def check(self, keys: Sequence[str], limits: Sequence[int], index: int) -> int:
        with self._lock:
            if len(self._counts) > LOCAL_MAX_COUNTERS:
                self._counts = {k: v for k, v in self._counts.items() if v[0] == index}
                if len(self._counts) > LOCAL_MAX_COUNTERS:
                    self._counts.clear()
            for position, (key, limit) in enumerate(zip(keys, limits, strict=True), start=1):
                seen_index, count = self._counts.get(key, (index, 0))
                count = count + 1 if seen_index == index else 1
                self._counts[key] = (index, count)
                if count > limit:
                    return position
        return 0


class _CacheHealth:
    """Which cache locations failed lately, and when the last warning was logged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_until: dict[str, float] = {}
        self._warned_at = float("-inf")

    def usable(self, location: str) -> bool:
        return time.monotonic() >= self._down_until.get(location, 0.0)

    def failed(self, location: str, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._down_until[location] = now + CACHE_RETRY_SECONDS
            warn = now - self._warned_at >= WARNING_INTERVAL
            if warn:
                self._warned_at = now
        if warn:
            logger.warning(
                "rate limits: the cache is unavailable (%s); counting in this process "
                "until it is back (this warning repeats at most once a minute)",
                type(exc).__name__,
            )

    def recovered(self, location: str) -> None:
        if location in self._down_until:
            with self._lock:
                was_down = self._down_until.pop(location, None) is not None
            if was_down:
                logger.info("rate limits: the cache is back; counting there again")


_local = _LocalCounters()
_health = _CacheHealth()


def _check_redis(cache: RedisCache, keys: Sequence[str], limits: Sequence[int], ttl: int) -> int:
    full = [cache.make_and_validate_key(k) for k in keys]
    # Django's client for the key (the same connection pool as every cache call).
    client = cache._cache.get_client(full[0], write=True)
    args = [ttl, *limits]
    try:
        return int(client.evalsha(_LUA_SHA, len(full), *full, *args))
    except redis.exceptions.NoScriptError:  # first call, or the server lost its scripts
        client.script_load(_LUA)
        return int(client.evalsha(_LUA_SHA, len(full), *full, *args))


def _check_cache(cache: BaseCache, keys: Sequence[str], limits: Sequence[int], ttl: int) -> int:
    """Any other cache backend: add() then incr(), one counter after the other."""
    for position, (key, limit) in enumerate(zip(keys, limits, strict=True), start=1):
        if cache.add(key, 1, timeout=ttl):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, timeout=ttl)
                count = 1
        if count > limit:
            return position
    return 0


def rate_limit_check(
    counters: Sequence[Counter], *, window: int = 60, now: float | None = None
) -> int:
    """Count one hit on each counter in order; 0 when allowed, else seconds until the reset."""
    active = [c for c in counters if c.limit > 0]
    if not active:
        return 0
    now = time.time() if now is None else now
    index = int(now // window)
    remaining = max(window - int(now % window), 1)
    keys = [_key(c, index) for c in active]
    limits = [c.limit for c in active]
    ttl = window + 1
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    refused = None
    if _health.usable(location):
        try:
            cache = caches["default"]
            if isinstance(cache, RedisCache):
                refused = _check_redis(cache, keys, limits, ttl)
            else:
                refused = _check_cache(cache, keys, limits, ttl)
        except Exception as exc:  # noqa: BLE001 - any cache failure moves counting here
            _health.failed(location, exc)
        else:
            _health.recovered(location)
    if refused is None:
        refused = _local.check(keys, limits, index)
    return remaining if refused else 0


def rate_limit_hit(
    *, scope: str, ident: str, limit: int, window: int = 60, now: float | None = None
) -> int:
    """One counter: 0 when allowed, else the seconds until the window resets."""
    return rate_limit_check([Counter(scope, ident, limit)], window=window, now=now)
