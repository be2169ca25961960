"""Sign-in throttling through the real login URL (accounts.signin calls accounts.throttle)."""

import re

import pytest
from auditlog.models import LogEntry
from django.test import Client

PASSWORD_CANARY = "canary-wrong-pw-0e9d"
LOGIN = "/accounts/login/"


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


@pytest.fixture
def lock_after_four(settings):
    settings.HAFEN_SIGNIN_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_LOCKOUT_AFTER = 4
    settings.HAFEN_SIGNIN_LOCKOUT_MINUTES = 15
    settings.HAFEN_SIGNIN_CLIENT_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER = 1000
    return settings


def sign_in(username: str, password: str, address: str = "192.0.2.50"):
    client = Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(LOGIN, {"username": username, "password": password})
    return response, client


def comparable(response) -> str:
    """The page without what differs per response (CSRF token, nonce, the name typed)."""
    page = response.content.decode()
    page = re.sub(r'value="[A-Za-z0-9]{64}"', 'value=""', page)
    page = re.sub(r'nonce="[^"]*"', 'nonce=""', page)
    return re.sub(r'(name="username"[^>]*value=")[^"]*"', r'\1"', page)


def test_the_nth_wrong_password_locks_and_the_right_one_is_refused(personas, lock_after_four):
    for _ in range(3):
        response, client = sign_in(personas.bob.username, PASSWORD_CANARY)
        assert response.status_code == 400
        assert "Too many failed sign-ins" not in response.content.decode()
    sign_in(personas.bob.username, PASSWORD_CANARY)

    response, client = sign_in(personas.bob.username, personas.password)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 14 * 60
    assert "Too many failed sign-ins. Try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session
    # another account from that client signs in
    response, client = sign_in(personas.charlie.username, personas.password)
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_a_locked_answer_is_the_same_for_an_existing_and_a_missing_account(
    personas, lock_after_four
):
    for name in (personas.bob.username, "nobody-here"):
        for _ in range(4):
            sign_in(name, PASSWORD_CANARY)

    existing, _c = sign_in(personas.bob.username, personas.password)
    missing, _c = sign_in("nobody-here", "whatever-password")

    assert existing.status_code == missing.status_code == 429
    assert existing["Retry-After"] == missing["Retry-After"]
    assert comparable(existing) == comparable(missing)


def test_a_wrong_password_answers_alike_for_an_existing_and_a_missing_account(
    personas, lock_after_four
):
    existing, _c = sign_in(personas.bob.username, PASSWORD_CANARY)
    missing, _c = sign_in("nobody-here", PASSWORD_CANARY)

    assert existing.status_code == missing.status_code == 400
    assert comparable(existing) == comparable(missing)


def test_slow_down_refuses_an_early_attempt_before_checking_the_password(personas, settings):
    settings.HAFEN_SIGNIN_SLOWDOWN_AFTER = 2
    settings.HAFEN_SIGNIN_LOCKOUT_AFTER = 0
    settings.HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER = 0
    sign_in(personas.bob.username, PASSWORD_CANARY)
    sign_in(personas.bob.username, PASSWORD_CANARY)

    response, client = sign_in(personas.bob.username, personas.password)

    assert response.status_code == 429 and response["Retry-After"] == "1"
    assert "_auth_user_id" not in client.session


def test_the_client_limit_holds_across_many_usernames(personas, settings):
    settings.HAFEN_SIGNIN_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_LOCKOUT_AFTER = 0
    settings.HAFEN_SIGNIN_CLIENT_SLOWDOWN_AFTER = 0
    settings.HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER = 5
    for i in range(5):
        sign_in(f"guess-{i}", PASSWORD_CANARY)

    refused, _c = sign_in(personas.bob.username, personas.password)
    elsewhere, _c = sign_in(personas.bob.username, personas.password, address="198.51.100.4")

    assert refused.status_code == 429
    assert elsewhere.status_code == 302


def test_a_success_clears_the_account_counter(personas, lock_after_four):
    for _ in range(3):
        sign_in(personas.bob.username, PASSWORD_CANARY)
    response, _c = sign_in(personas.bob.username, personas.password)
    assert response.status_code == 302
    for _ in range(3):
        sign_in(personas.bob.username, PASSWORD_CANARY)

    response, _c = sign_in(personas.bob.username, personas.password)

    assert response.status_code == 302  # 3 failures since the success, not 6


def test_failed_sign_ins_and_the_lock_are_audited_without_the_password(personas, lock_after_four):
    for _ in range(4):
        sign_in(personas.bob.username, PASSWORD_CANARY)
    for _ in range(4):
        sign_in("nobody-here", PASSWORD_CANARY)

    failed = LogEntry.objects.filter(additional_data__event="signin.failed")
    locked = LogEntry.objects.filter(additional_data__event="signin.locked_out")
    assert failed.count() == 4 and locked.count() == 1
    assert {e.additional_data["company_id"] for e in failed} == {personas.company_a.pk}
    for entry in LogEntry.objects.all():
        text = f"{entry.changes} {entry.additional_data} {entry.object_repr} {entry.actor_email}"
        assert PASSWORD_CANARY not in text and "nobody-here" not in text
