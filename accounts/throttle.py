"""Sign-in throttling: failed sign-ins slow down, then lock, per account and per client.

    try:
        throttle.check(request, username)     # before the password is even looked at
    except throttle.SignInThrottled as exc:   # answer exc.message (429 / form error)
        ...
    user = authenticate(...)
    throttle.succeeded(...) if user else throttle.failed(...)

Invariants:

- The answer never tells whether an account exists: the account is keyed by a
  keyed hash (HMAC with SECRET_KEY) of the normalised username (stripped,
  casefolded), counted and locked alike for a name that has no user. Only the
  audit log differs, and staff see that, not the person signing in.
- Two budgets, the account's and the client's (the keyed, daily-salted hash of
  its address from chatbot_site.lib.ratelimit.client_ident, so client counters
  start afresh at midnight UTC). After SLOWDOWN_AFTER failures every further
  attempt waits 1, 2, 4 ... seconds (at most HAFEN_SIGNIN_MAX_DELAY_SECONDS)
  after the last failure before it is even checked; after LOCKOUT_AFTER
  failures the budget is locked for HAFEN_SIGNIN_LOCKOUT_MINUTES. A success
  clears the account's counter, never the client's (one good password must not
  buy a client a fresh budget for guessing other accounts).
- Counters live in the cache (Redis in production, shared by every web
  process) with add()/incr(), so two processes counting at once lose no
  failure; each failure keeps the counter for one lockout window after it.
  Keys hold only hashes, never a name or an address, and are never logged.
- The cache failing never fails a sign-in: counting moves to this process for
  a few seconds (ratelimit's cache health, one warning a minute), so each web
  process then counts on its own until Redis is back.
- Audit entries and log lines hold ids and counts only: never the username,
  the password or the client's address.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import unicodedata
from typing import Any

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django.utils.translation import ngettext

from accounts.models import Membership
from chatbot_site.lib.audit import audit_event

# The cache health (retry after a few seconds, one warning a minute) is shared
# with the chat API's rate limits: one cache, one warning.
from chatbot_site.lib.ratelimit import _health, client_ident

logger = logging.getLogger(__name__)

#: The in-memory fallback forgets everything past this many keys.
LOCAL_MAX_KEYS = 100_000


class SignInThrottled(Exception):
    """Sign-in refused before the password is checked: wait `retry_after` seconds.

    `message` is the same for every account, existing or not.
    """

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(int(retry_after), 1)
        if self.retry_after < 60:
            self.message = ngettext(
                "Too many failed sign-ins. Try again in %(count)d second.",
                "Too many failed sign-ins. Try again in %(count)d seconds.",
                self.retry_after,
            ) % {"count": self.retry_after}
        else:
            minutes = math.ceil(self.retry_after / 60)
            self.message = ngettext(
                "Too many failed sign-ins. Try again in %(count)d minute.",
                "Too many failed sign-ins. Try again in %(count)d minutes.",
                minutes,
            ) % {"count": minutes}
        super().__init__(self.message)


# --- limits -----------------------------------------------------------------


def _lockout_seconds() -> float:
    return float(getattr(settings, "HAFEN_SIGNIN_LOCKOUT_MINUTES", 15)) * 60


def _limits(kind: str) -> tuple[int, int]:
    """(slow down after, lock after) failures for "account" or "client"."""
    if kind == "account":
        return (
            int(getattr(settings, "HAFEN_SIGNIN_SLOWDOWN_AFTER", 3)),
            int(getattr(settings, "HAFEN_SIGNIN_LOCKOUT_AFTER", 10)),
        )
    return (
        int(getattr(settings, "HAFEN_SIGNIN_CLIENT_SLOWDOWN_AFTER", 20)),
        int(getattr(settings, "HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER", 50)),
    )


def _delay(failures: int, slowdown_after: int) -> float:
    """Seconds to wait after the last failure: 0, then 1, 2, 4 ... up to the cap."""
    if slowdown_after <= 0 or failures < slowdown_after:
        return 0.0
    cap = float(getattr(settings, "HAFEN_SIGNIN_MAX_DELAY_SECONDS", 60))
    return min(2.0 ** min(failures - slowdown_after, 32), cap)


# --- keys -------------------------------------------------------------------


def normalise_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username or "").strip().casefold()


def _account_ident(username: str) -> str:
    return salted_hmac(
        "hafen.signin.account", normalise_username(username), algorithm="sha256"
    ).hexdigest()[:32]


def _subjects(request: HttpRequest, username: str) -> list[tuple[str, str]]:
    """The budgets of one attempt, most specific first: (kind, key stem)."""
    prefix = getattr(settings, "HAFEN_RATE_KEY_PREFIX", "hafen:rl")
    return [
        ("account", f"{prefix}:signin:account:{_account_ident(username)}"),
        ("client", f"{prefix}:signin:client:{client_ident(request)}"),
    ]


# --- storage: the cache, or this process while the cache is down ------------


class _LocalStore:
    """The per-process fallback with the few cache operations used here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[Any, float]] = {}  # key -> (value, expires at)

    def _live(self, key: str, now: float) -> Any:
        item = self._data.get(key)
        if item is None or item[1] <= now:
            self._data.pop(key, None)
            return None
        return item[0]

    def _trim(self, now: float) -> None:
        if len(self._data) > LOCAL_MAX_KEYS:
            self._data = {k: v for k, v in self._data.items() if v[1] > now}
            if len(self._data) > LOCAL_MAX_KEYS:
                self._data.clear()

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            found = {k: self._live(k, now) for k in keys}
        return {k: v for k, v in found.items() if v is not None}

    def add(self, key: str, value: Any, timeout: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._live(key, now) is not None:
                return False
            self._trim(now)
            self._data[key] = (value, now + timeout)
            return True

    def set(self, key: str, value: Any, timeout: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._trim(now)
            self._data[key] = (value, now + timeout)

    def count(self, key: str, timeout: float) -> int:
        now = time.monotonic()
        with self._lock:
            value = (self._live(key, now) or 0) + 1
            self._data[key] = (value, now + timeout)
            return value

    def delete_many(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)


_local = _LocalStore()


def _cache_count(cache: Any, key: str, timeout: int) -> int:
    """add() then incr(): atomic on Redis, so concurrent failures are all counted."""
    for _attempt in range(3):
        if cache.add(key, 1, timeout=timeout):
            return 1
        try:
            count = int(cache.incr(key))
        except ValueError:  # expired between add() and incr(): start again
            continue
        cache.touch(key, timeout=timeout)  # kept for one window after the latest failure
        return count
    raise RuntimeError("sign-in counter kept expiring")


def _run(operation: str, *args: Any, **kwargs: Any) -> Any:
    """One operation on the cache, or on this process while the cache is failing."""
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    if _health.usable(location):
        cache = caches["default"]
        try:
            if operation == "count":
                result = _cache_count(cache, *args, **kwargs)
            else:
                result = getattr(cache, operation)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any cache failure moves counting here
            _health.failed(location, exc)
        else:
            _health.recovered(location)
            return result
    return getattr(_local, operation)(*args, **kwargs)


# --- the three calls --------------------------------------------------------


def check(request: HttpRequest, username: str) -> None:
    """Raise SignInThrottled while the account or the client is delayed or locked."""
    now = time.time()
    subjects = _subjects(request, username)
    keys = [f"{stem}:{part}" for _kind, stem in subjects for part in ("n", "last", "lock")]
    values = _run("get_many", keys)
    wait = 0.0
    for kind, stem in subjects:
        locked_until = values.get(f"{stem}:lock")
        if locked_until is not None and float(locked_until) > now:
            wait = max(wait, float(locked_until) - now)
            continue
        failures = int(values.get(f"{stem}:n") or 0)
        slowdown_after, lockout_after = _limits(kind)
        last = values.get(f"{stem}:last")
        if last is None:
            continue
        delay = _delay(failures, slowdown_after)
        if lockout_after > 0 and failures >= lockout_after:
            # Over the limit with no lock (it is being written, or was lost with the
            # cache): hold the longest delay rather than let an attempt through.
            delay = max(delay, float(getattr(settings, "HAFEN_SIGNIN_MAX_DELAY_SECONDS", 60)))
        if float(last) + delay > now:
            wait = max(wait, float(last) + delay - now)
    if wait > 0:
        raise SignInThrottled(math.ceil(wait))


def failed(request: HttpRequest, username: str) -> None:
    """Count one failed sign-in for the account and for the client; lock when over the limit."""
    now = time.time()
    window = _lockout_seconds()
    ttl = max(math.ceil(round(window, 3)), 1)
    account_locked = False
    account_failures = 0
    for kind, stem in _subjects(request, username):
        failures = _run("count", f"{stem}:n", timeout=ttl)
        _run("set", f"{stem}:last", now, timeout=ttl)
        _slowdown_after, lockout_after = _limits(kind)
        began = False
        if lockout_after > 0 and failures >= lockout_after:
            began = _lock(stem, now=now, window=window, ttl=ttl)
        if kind == "account":
            account_failures, account_locked = failures, began
        elif began:
            logger.warning(
                "sign-in: a client is locked out for %d minutes after %d failed sign-ins",
                math.ceil(window / 60),
                failures,
            )
    _audit_failure(username, failures=account_failures, locked=account_locked)


def _lock(stem: str, *, now: float, window: float, ttl: int) -> bool:
    """Begin the lock; True for the one caller that began it (add() is atomic).

    The counter starts again from zero under the lock, so the failures that
    follow its end are counted afresh (slow-down first, then the next lock).
    A lock key outliving its time (the cache keeps whole seconds) is replaced.
    """
    began = bool(_run("add", f"{stem}:lock", now + window, timeout=ttl))
    if not began:
        held = _run("get_many", [f"{stem}:lock"]).get(f"{stem}:lock")
        if held is not None and float(held) > now:
            return False
        _run("set", f"{stem}:lock", now + window, timeout=ttl)
        began = True
    _run("delete_many", [f"{stem}:n", f"{stem}:last"])
    return began


def succeeded(request: HttpRequest, username: str) -> None:
    """Clear the account's counter (the client's stays: see the module docstring)."""
    prefix = getattr(settings, "HAFEN_RATE_KEY_PREFIX", "hafen:rl")
    stem = f"{prefix}:signin:account:{_account_ident(username)}"
    _run("delete_many", [f"{stem}:n", f"{stem}:last", f"{stem}:lock"])


# --- audit ------------------------------------------------------------------


def _user_for(username: str) -> Any:
    """The user the name signs in as (ModelBackend looks the name up exactly), or None."""
    user_model = get_user_model()
    name = unicodedata.normalize("NFKC", username or "").strip()
    if not name:
        return None
    return user_model._default_manager.filter(**{user_model.USERNAME_FIELD: name}).first()


def _audit_failure(username: str, *, failures: int, locked: bool) -> None:
    """ "signin.failed" (and "signin.locked_out" when the lock began) for each company of the user."""
    user = _user_for(username)
    memberships = (
        list(Membership.objects.filter(user=user, deactivated_at__isnull=True).order_by("pk"))
        if user is not None
        else []
    )
    if not memberships:
        # No company to show it to: one line, without the name.
        logger.warning(
            "sign-in failed for an account that is no member of any company "
            "(%d failures for that name%s)",
            failures,
            ", now locked out" if locked else "",
        )
        return
    for membership in memberships:
        audit_event(
            company_id=membership.company_id,
            actor=None,
            obj=membership,
            action=LogEntry.Action.ACCESS,
            event="signin.failed",
            user_id=user.pk,
            failures=failures,
        )
        if locked:
            audit_event(
                company_id=membership.company_id,
                actor=None,
                obj=membership,
                action=LogEntry.Action.ACCESS,
                event="signin.locked_out",
                user_id=user.pk,
                failures=failures,
                minutes=math.ceil(_lockout_seconds() / 60),
            )
