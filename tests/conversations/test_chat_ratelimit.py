"""Rate limits: per conversation and per inbox, 429 with Retry-After, nothing stored."""

import pytest

from conversations.ratelimit import rate_limit_hit
from tests.conversations.chat_support import (  # noqa: F401 (fixture)
    counts,
    fresh_rate_limits,
    poll,
    post,
    start,
)

pytestmark = pytest.mark.django_db


def test_the_limiter_counts_per_window_and_says_how_long_to_wait(settings):
    hits = [rate_limit_hit(scope="t", ident="a", limit=3, window=60, now=120.0) for _ in range(4)]
    assert hits[:3] == [0, 0, 0]
    assert hits[3] == 60
    assert rate_limit_hit(scope="t", ident="a", limit=3, window=60, now=150.0) == 30
    assert rate_limit_hit(scope="t", ident="b", limit=3, window=60, now=150.0) == 0
    assert rate_limit_hit(scope="t", ident="a", limit=3, window=60, now=180.0) == 0


def test_a_limit_of_zero_switches_it_off():
    assert all(rate_limit_hit(scope="t", ident="z", limit=0) == 0 for _ in range(50))


def test_the_conversation_limit_answers_429_with_retry_after(client, personas, settings):
    settings.HAFEN_RATE_CONVERSATION_PER_MINUTE = 3
    token = start(client, "acme-web").json()["token"]
    for _ in range(3):
        assert post(client, "acme-web", token, "asdf").status_code == 200
    before = counts()
    response = post(client, "acme-web", token, "one too many")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.json()
    assert body["error"] == "rate_limited" and body["retry_after"] == int(response["Retry-After"])
    assert counts() == before
    # another visitor's conversation is not affected
    other = start(client, "acme-web").json()["token"]
    assert post(client, "acme-web", other, "hello").status_code == 200


def test_the_inbox_limit_covers_every_request_to_the_inbox(client, personas, settings):
    settings.HAFEN_RATE_INBOX_PER_MINUTE = 4
    token = start(client, "acme-web").json()["token"]  # 1
    assert post(client, "acme-web", token, "hello").status_code == 200  # 2
    assert poll(client, "acme-web", token).status_code == 200  # 3
    assert client.get("/api/chat/acme-web/config").status_code == 200  # 4
    before = counts()
    for response in (
        start(client, "acme-web"),
        post(client, "acme-web", token, "hello"),
        client.get("/api/chat/acme-web/config"),
    ):
        assert response.status_code == 429
        assert response["Retry-After"]
    assert counts() == before
    assert client.get("/api/chat/acme-shop/config").status_code == 200


def test_polling_has_its_own_per_visitor_limit(client, personas, settings):
    settings.HAFEN_RATE_POLLS_PER_MINUTE = 2
    token = start(client, "acme-web").json()["token"]
    assert [poll(client, "acme-web", token).status_code for _ in range(3)] == [200, 200, 429]
    assert post(client, "acme-web", token, "still fine").status_code == 200


def test_limits_come_from_the_environment_when_settings_do_not_set_them(monkeypatch, settings):
    from conversations.api import rate_setting

    if hasattr(settings, "HAFEN_RATE_INBOX_PER_MINUTE"):
        del settings.HAFEN_RATE_INBOX_PER_MINUTE
    monkeypatch.setenv("HAFEN_RATE_INBOX_PER_MINUTE", "7")
    assert rate_setting("HAFEN_RATE_INBOX_PER_MINUTE", 600) == 7
    monkeypatch.delenv("HAFEN_RATE_INBOX_PER_MINUTE")
    assert rate_setting("HAFEN_RATE_INBOX_PER_MINUTE", 600) == 600
