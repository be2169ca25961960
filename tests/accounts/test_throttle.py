"""Sign-in throttling, module level (accounts/throttle.py): counters, delays, locks, audit."""

import logging
import socket
import threading
import time

import pytest
from auditlog.models import LogEntry
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from accounts import throttle
from accounts.models import Membership
from accounts.services import membership_set
from tests.services import need, need_postgres

PASSWORD_CANARY = "canary-pw-7d1f0c2e"
ADDRESS = "192.0.2.77"


@pytest.fixture(autouse=True)
def own_file_cache(settings, tmp_path):
    """On the embedded file cache, count in a directory of this test's own.

    var/cache is shared by every test run on the machine and culls a third of its
    files at 300 entries, which would drop counters mid-test; Redis is used as is.
    """
    if settings.CACHES["default"]["BACKEND"].endswith("FileBasedCache"):
        settings.CACHES = {
            "default": {**settings.CACHES["default"], "LOCATION": str(tmp_path / "cache")}
        }


def request_from(address: str = ADDRESS):
    return RequestFactory().post("/accounts/login/", REMOTE_ADDR=address)


def refusal(username: str, address: str = ADDRESS) -> throttle.SignInThrottled | None:
    try:
        throttle.check(request_from(address), username)
    except throttle.SignInThrottled as exc:
        return exc
    return None


def fail(username: str, times: int = 1, address: str = ADDRESS) -> None:
    for _ in range(times):
        throttle.failed(request_from(address), username)


def signin_events(event: str):
    return LogEntry.objects.filter(additional_data__event=event)


@pytest.fixture
def lockout_only(settings):
    """No slow-down: lock the account after 4 failures for 15 minutes; clients far off."""
    settings.HAFEN_SIGNIN_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_LOCKOUT_AFTER = 4
    settings.HAFEN_SIGNIN_LOCKOUT_MINUTES = 15
    settings.HAFEN_SIGNIN_CLIENT_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER = 1000
    return settings


def test_the_nth_failure_locks_the_account_for_the_configured_time(db, personas, lockout_only):
    fail(personas.bob.username, 3)
    assert refusal(personas.bob.username) is None

    fail(personas.bob.username)

    refused = refusal(personas.bob.username)
    assert refused is not None
    assert 14 * 60 < refused.retry_after <= 15 * 60
    assert refused.message == "Too many failed sign-ins. Try again in 15 minutes."
    # another account from the same client is not affected
    assert refusal(personas.charlie.username) is None


def test_the_account_key_ignores_case_and_surrounding_spaces(db, personas, lockout_only):
    fail(personas.bob.username, 2)
    fail(f"  {personas.bob.username.upper()} ", 2)
    assert refusal(personas.bob.username) is not None


def test_a_missing_account_is_locked_exactly_like_an_existing_one(db, personas, lockout_only):
    fail(personas.bob.username, 4)
    fail("nobody-at-all", 4)

    existing, missing = refusal(personas.bob.username), refusal("nobody-at-all")

    assert existing is not None and missing is not None
    assert existing.message == missing.message
    assert abs(existing.retry_after - missing.retry_after) <= 1


def test_slow_down_waits_one_two_four_seconds_up_to_the_cap(db, personas, settings):
    settings.HAFEN_SIGNIN_SLOWDOWN_AFTER = 2
    settings.HAFEN_SIGNIN_LOCKOUT_AFTER = 0
    settings.HAFEN_SIGNIN_MAX_DELAY_SECONDS = 5
    settings.HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER = 0
    settings.HAFEN_SIGNIN_CLIENT_SLOWDOWN_AFTER = 0
    name = personas.bob.username

    fail(name)
    assert refusal(name) is None
    fail(name)
    first = refusal(name)
    assert first is not None and first.retry_after == 1
    assert first.message == "Too many failed sign-ins. Try again in 1 second."
    time.sleep(1.1)
    assert refusal(name) is None  # waited long enough: checked again

    fail(name)
    assert refusal(name).retry_after == 2
    fail(name)
    assert refusal(name).retry_after == 4
    fail(name)
    assert refusal(name).retry_after == 5  # 8 s capped at 5
    fail(name, 10)
    assert refusal(name).retry_after == 5


def test_the_client_limit_holds_across_many_usernames(db, personas, settings):
    settings.HAFEN_SIGNIN_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_LOCKOUT_AFTER = 0
    settings.HAFEN_SIGNIN_CLIENT_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER = 6

    for i in range(5):
        fail(f"guess-{i}")
    assert refusal("guess-new") is None
    fail("guess-5")

    refused = refusal("a-name-never-tried")
    assert refused is not None and refused.retry_after > 14 * 60
    assert refusal(personas.bob.username) is not None  # even a real account, from that client
    assert refusal(personas.bob.username, address="198.51.100.9") is None  # other clients not


def test_the_client_slows_down_before_it_locks(db, settings):
    settings.HAFEN_SIGNIN_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_LOCKOUT_AFTER = 0
    settings.HAFEN_SIGNIN_CLIENT_SLOWDOWN_AFTER = 3
    settings.HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER = 50

    for i in range(4):
        fail(f"guess-{i}")

    assert refusal("yet-another").retry_after == 2


def test_success_clears_the_account_counter_but_not_the_client_counter(db, personas, settings):
    settings.HAFEN_SIGNIN_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_LOCKOUT_AFTER = 3
    settings.HAFEN_SIGNIN_CLIENT_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER = 4
    name = personas.bob.username

    fail(name, 2)
    throttle.succeeded(request_from(), name)
    fail(name, 1)
    assert refusal(name, address="198.51.100.9") is None  # 1 failure since the success, not 3

    fail("someone-else")  # the client's 4th failure
    assert refusal(name) is not None  # the client stays locked


def test_the_lock_ends_after_the_configured_time(db, personas, settings):
    settings.HAFEN_SIGNIN_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_LOCKOUT_AFTER = 3
    settings.HAFEN_SIGNIN_LOCKOUT_MINUTES = 0.05  # 3 seconds
    settings.HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER = 0
    name = personas.bob.username

    fail(name, 3)
    assert refusal(name).retry_after == 3
    time.sleep(3.2)

    assert refusal(name) is None
    fail(name)  # the counter expired with the lock: one failure is one, not four
    assert refusal(name) is None


def test_failures_and_the_lock_are_audited_per_company_without_the_password(
    db, personas, lockout_only
):
    membership_set(company=personas.company_b, user=personas.bob, role="viewer")
    bob_memberships = set(
        Membership.objects.filter(user=personas.bob).values_list("pk", "company_id")
    )
    request = request_from()
    request.POST = request.POST.copy()
    request.POST["password"] = PASSWORD_CANARY  # what a view would have at hand

    for _ in range(6):  # two more after the lock began
        throttle.failed(request, personas.bob.username)

    failed = signin_events("signin.failed")
    locked = signin_events("signin.locked_out")
    assert failed.count() == 6 * 2
    assert {(int(e.object_pk), e.additional_data["company_id"]) for e in failed} == bob_memberships
    assert locked.count() == 2  # once per company, when the lock began
    assert {e.additional_data["company_id"] for e in locked} == {c for _pk, c in bob_memberships}
    assert all(e.additional_data["failures"] == 4 for e in locked)
    for entry in LogEntry.objects.all():
        text = f"{entry.changes} {entry.additional_data} {entry.object_repr}"
        assert PASSWORD_CANARY not in text
        assert personas.bob.username not in text
        assert ADDRESS not in text


def test_a_deactivated_membership_gets_no_entry(db, personas, lockout_only):
    Membership.objects.filter(user=personas.bob).update(deactivated_at=timezone.now())
    fail(personas.bob.username)
    assert not signin_events("signin.failed").exists()


def test_an_unknown_name_writes_no_audit_entry_and_one_warning_without_it(
    db, personas, lockout_only, caplog
):
    caplog.set_level(logging.WARNING, logger="accounts.throttle")
    before = LogEntry.objects.count()

    fail("canary-nobody-5c3e")

    assert LogEntry.objects.count() == before
    lines = [r for r in caplog.records if r.name == "accounts.throttle"]
    assert len(lines) == 1
    assert "canary-nobody-5c3e" not in lines[0].getMessage()
    assert ADDRESS not in lines[0].getMessage()


def test_the_cache_keys_hold_no_name_and_no_address(db, personas, lockout_only, settings):
    cache = caches["default"]
    need("redis", isinstance(cache, RedisCache), "the cache is not Redis (set REDIS_URL)")
    fail("canary-name-9a8b", 4)

    client = cache._cache.get_client(None)
    keys = [k.decode() for k in client.scan_iter(match=f"*{settings.HAFEN_RATE_KEY_PREFIX}*")]

    # the account's lock (its counter starts afresh under it), the client's count and last
    assert len(keys) == 3 and any(k.endswith(":lock") for k in keys)
    assert not [k for k in keys if "canary-name" in k or ADDRESS in k]
    for key in keys:
        assert "canary-name" not in str(client.get(key))


def test_concurrent_failures_from_many_threads_are_all_counted(
    transactional_db, personas, settings
):
    """Real threads, PostgreSQL and Redis: every failure counts and the lock is audited once."""
    need_postgres()
    need("redis", isinstance(caches["default"], RedisCache), "the cache is not Redis")
    settings.HAFEN_SIGNIN_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_LOCKOUT_AFTER = 16
    settings.HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER = 0
    barrier = threading.Barrier(15)
    errors = []

    def one_failure():
        try:
            barrier.wait(10)
            fail(personas.bob.username)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one_failure) for _ in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not errors
    assert refusal(personas.bob.username) is None  # 15 of 16: not yet
    assert signin_events("signin.failed").count() == 15
    fail(personas.bob.username)
    assert refusal(personas.bob.username) is not None
    assert signin_events("signin.locked_out").count() == 1


def test_with_the_cache_down_this_process_still_counts(db, personas, lockout_only):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    lockout_only.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    fail(personas.bob.username, 4)

    assert refusal(personas.bob.username) is not None
    assert refusal(personas.charlie.username) is None
