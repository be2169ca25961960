"""A small fixed-window rate limiter on Django's cache (Redis in production).

    retry_after = rate_limit_hit(scope="conversation", ident=conv.reference,
                                 limit=20, window=60)
    if retry_after: answer 429 with Retry-After: retry_after

A limit of 0 (or less) switches that limit off. Keys start with
settings.HAFEN_RATE_KEY_PREFIX (default "hafen:rl"; tests use a fresh one). Keys hold only the scope and an
opaque identifier (an id or a reference), never an address or a token.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def _window_key(*, scope: str, ident: str, window: int, now: float) -> tuple[str, int]:
    index = int(now // window)
    prefix = getattr(settings, "HAFEN_RATE_KEY_PREFIX", "hafen:rl")
    return f"{prefix}:{scope}:{ident}:{index}", window - int(now % window)


def rate_limit_hit(
    *, scope: str, ident: str, limit: int, window: int = 60, now: float | None = None
) -> int:
    """Count one hit; return 0 when allowed, else the seconds until the window resets."""
    if limit <= 0:
        return 0
    now = time.time() if now is None else now
    key, remaining = _window_key(scope=scope, ident=ident, window=window, now=now)
    # add() is atomic (SET NX on Redis): the first hit of a window creates the
    # counter with its expiry; incr() is atomic on Redis too.
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=window + 1)
            count = 1
    return 0 if count <= limit else max(remaining, 1)
