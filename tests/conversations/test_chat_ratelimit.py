"""Rate limits: per visitor, per client (a keyed, daily-salted hash of the address), per
conversation, and an inbox-wide guard far above normal traffic; 429 with Retry-After,
nothing stored. One client cannot lock an inbox's other visitors out.
"""

import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory

from chatbot_site.lib.ratelimit import Counter, client_ident, rate_limit_check, rate_limit_hit
from conversations.models import Visitor
from tests.conversations.chat_support import (
    counts,
    handover,
    post,
)

pytestmark = pytest.mark.django_db

HAMMER = "203.0.113.66"  # documentation addresses (RFC 5737): one abusive client ...
VISITOR = "198.51.100.23"  # ... and one ordinary visitor


@pytest.fixture(autouse=True)
def one_window(monkeypatch):
    """The limiter's clock stands still: a test's calls never straddle two minute windows."""
    import time
    import types

    from chatbot_site.lib import ratelimit

    frozen = (time.time() // 60) * 60 + 30
    clock = types.SimpleNamespace(time=lambda: frozen, monotonic=time.monotonic)
    monkeypatch.setattr(ratelimit, "time", clock)


def as_client(address: str) -> dict:
    return {"REMOTE_ADDR": address}


def start(client, key: str, **extra):
    return client.post(f"/api/chat/{key}/conversations", content_type="application/json", **extra)


def poll(client, key: str, token: str, **extra):
    return client.get(
        f"/api/chat/{key}/messages", {"after": 0}, HTTP_AUTHORIZATION=f"Bearer {token}", **extra
    )


def config(client, key="acme-web", **extra):
    return client.get(f"/api/chat/{key}/config", **extra)


# --- the limiter ----------------------------------------------------------------


def test_the_limiter_counts_per_window_and_says_how_long_to_wait():
    hits = [rate_limit_hit(scope="t", ident="a", limit=3, window=60, now=120.0) for _ in range(4)]
    assert hits[:3] == [0, 0, 0]
    assert hits[3] == 60
    assert rate_limit_hit(scope="t", ident="a", limit=3, window=60, now=150.0) == 30
    assert rate_limit_hit(scope="t", ident="b", limit=3, window=60, now=150.0) == 0
    assert rate_limit_hit(scope="t", ident="a", limit=3, window=60, now=180.0) == 0


def test_a_limit_of_zero_switches_it_off():
    assert all(rate_limit_hit(scope="t", ident="z", limit=0) == 0 for _ in range(50))


def test_a_refused_hit_does_not_count_against_the_broader_budgets():
    narrow, broad = Counter("t-narrow", "one", 2), Counter("t-broad", "all", 5)
    results = [rate_limit_check([narrow, broad], now=60.0) for _ in range(10)]
    assert results == [0, 0] + [60] * 8
    # only the two allowed hits reached the broad counter: three more fit in it
    others = [rate_limit_check([Counter("t-narrow", "two", 9), broad], now=60.0) for _ in range(4)]
    assert others == [0, 0, 0, 60]


def test_the_client_key_is_a_keyed_hash_that_changes_every_day(settings):
    request = RequestFactory().get("/", REMOTE_ADDR=HAMMER)
    today = client_ident(request, day="2026-12-01")
    assert today == client_ident(request, day="2026-12-01")
    assert today != client_ident(request, day="2026-12-02")
    assert HAMMER not in today and "203" not in today
    assert today != client_ident(RequestFactory().get("/", REMOTE_ADDR=VISITOR), day="2026-12-01")
    settings.SECRET_KEY = "another-secret-key-" * 3
    assert today != client_ident(request, day="2026-12-01")


def test_ipv6_clients_are_counted_per_64_block():
    def ident(address):
        return client_ident(RequestFactory().get("/", REMOTE_ADDR=address), day="2026-12-01")

    assert ident("2001:db8:1:2::1") == ident("2001:db8:1:2:ffff::9")
    assert ident("2001:db8:1:2::1") != ident("2001:db8:1:3::1")
    assert ident("::ffff:198.51.100.23") == ident("198.51.100.23")


def test_the_forwarded_address_counts_only_behind_a_proxy(settings):
    def ident(**meta):
        return client_ident(RequestFactory().get("/", **meta), day="2026-12-01")

    forwarded = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": f"{VISITOR}, 10.0.0.1"}
    settings.HAFEN_BEHIND_PROXY = False
    assert ident(**forwarded) == ident(REMOTE_ADDR="10.0.0.2")
    settings.HAFEN_BEHIND_PROXY = True
    assert ident(**forwarded) == ident(REMOTE_ADDR=VISITOR)
    assert ident(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="") == ident(REMOTE_ADDR="10.0.0.2")


# --- through the API ----------------------------------------------------------------


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
    assert set(body) == {"error", "message", "retry_after"}
    assert counts() == before
    # another visitor's conversation is not affected
    other = start(client, "acme-web").json()["token"]
    assert post(client, "acme-web", other, "hello").status_code == 200


def test_the_inbox_wide_limit_covers_every_request_to_the_inbox(client, personas, settings):
    settings.HAFEN_RATE_INBOX_PER_MINUTE = 4
    token = start(client, "acme-web").json()["token"]  # 1
    assert post(client, "acme-web", token, "hello").status_code == 200  # 2
    assert poll(client, "acme-web", token).status_code == 200  # 3
    assert config(client).status_code == 200  # 4
    before = counts()
    for response in (
        start(client, "acme-web"),
        post(client, "acme-web", token, "hello"),
        config(client),
    ):
        assert response.status_code == 429
        assert response["Retry-After"]
    assert counts() == before
    assert config(client, "acme-shop").status_code == 200


def test_polling_has_its_own_per_visitor_limit(client, personas, settings):
    settings.HAFEN_RATE_POLLS_PER_MINUTE = 2
    token = start(client, "acme-web").json()["token"]
    assert [poll(client, "acme-web", token).status_code for _ in range(3)] == [200, 200, 429]
    assert post(client, "acme-web", token, "still fine").status_code == 200


def test_the_visitor_budget_covers_every_call_with_the_token(client, personas, settings):
    settings.HAFEN_RATE_VISITOR_PER_MINUTE = 3
    token = start(client, "acme-web").json()["token"]
    assert post(client, "acme-web", token, "hello").status_code == 200
    assert poll(client, "acme-web", token).status_code == 200
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/chat/acme-web/consents", **auth).status_code == 200
    refused = [
        handover(client, "acme-web", token),
        poll(client, "acme-web", token),
        client.get("/api/chat/acme-web/consents", **auth),
        client.get("/api/chat/acme-web/export", **auth),
    ]
    assert [r.status_code for r in refused] == [429] * 4
    # the same address with another token is another visitor
    other = start(client, "acme-web").json()["token"]
    assert post(client, "acme-web", other, "hello").status_code == 200


def test_one_client_hammering_config_is_limited_and_locks_nobody_else_out(client, personas):
    # The defaults: 600 GET /config in a minute from one address.
    answers = [config(client, **as_client(HAMMER)).status_code for _ in range(600)]
    limit = django_settings.HAFEN_RATE_CLIENT_PUBLIC_PER_MINUTE
    assert answers[:limit] == [200] * limit
    assert set(answers[limit:]) == {429}
    # another visitor of the same inbox does everything as usual
    visitor = as_client(VISITOR)
    assert config(client, **visitor).status_code == 200
    token = start(client, "acme-web", **visitor).json()["token"]
    assert post(client, "acme-web", token, "hello", **visitor).status_code == 200
    assert poll(client, "acme-web", token, **visitor).status_code == 200


def test_one_client_starting_conversations_in_a_loop_is_limited(client, personas, settings):
    settings.HAFEN_RATE_CLIENT_PUBLIC_PER_MINUTE = 5
    answers = [start(client, "acme-web", **as_client(HAMMER)).status_code for _ in range(8)]
    assert answers == [201] * 5 + [429] * 3
    assert Visitor.objects.count() == 5  # a refused start stores nothing
    assert start(client, "acme-web", **as_client(VISITOR)).status_code == 201


def test_many_tokens_from_one_client_share_the_clients_budget(client, personas, settings):
    settings.HAFEN_RATE_CLIENT_PER_MINUTE = 6
    tokens = [start(client, "acme-web", **as_client(HAMMER)).json()["token"] for _ in range(3)]
    answers = [poll(client, "acme-web", t, **as_client(HAMMER)).status_code for t in tokens * 2]
    assert answers == [200, 200, 200, 429, 429, 429]  # 3 starts + 3 polls = 6
    token = start(client, "acme-web", **as_client(VISITOR)).json()["token"]
    assert poll(client, "acme-web", token, **as_client(VISITOR)).status_code == 200


def test_behind_a_proxy_each_forwarded_client_has_its_own_budget(client, personas, settings):
    settings.HAFEN_BEHIND_PROXY = True
    settings.HAFEN_RATE_CLIENT_PUBLIC_PER_MINUTE = 2
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    hammer = {**proxy, "HTTP_X_FORWARDED_FOR": HAMMER}
    assert [config(client, **hammer).status_code for _ in range(3)] == [200, 200, 429]
    assert config(client, **proxy, HTTP_X_FORWARDED_FOR=VISITOR).status_code == 200
    settings.HAFEN_BEHIND_PROXY = False  # now the proxy's own address is the client
    assert [config(client, **hammer).status_code for _ in range(3)] == [200, 200, 429]
    assert config(client, **proxy, HTTP_X_FORWARDED_FOR=VISITOR).status_code == 429


@pytest.mark.parametrize("first", ["export", "erase"])
def test_erase_and_export_are_limited_per_visitor(client, personas, settings, first):
    settings.HAFEN_RATE_SELF_SERVICE_PER_MINUTE = 2
    token = start(client, "acme-web").json()["token"]
    assert post(client, "acme-web", token, "hello").status_code == 200
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/chat/acme-web/export", **auth).status_code == 200
    if first == "export":
        assert client.get("/api/chat/acme-web/export", **auth).status_code == 200
        third = client.get("/api/chat/acme-web/export", **auth)
    else:
        assert client.get("/api/chat/acme-web/export", **auth).status_code == 200
        third = client.post("/api/chat/acme-web/erase", **auth)
    assert third.status_code == 429 and third.json()["error"] == "rate_limited"
    assert third["Retry-After"]
    assert Visitor.objects.count() == 1  # a refused erasure erased nothing
    other = start(client, "acme-web").json()["token"]
    other_auth = {"HTTP_AUTHORIZATION": f"Bearer {other}"}
    assert client.get("/api/chat/acme-web/export", **other_auth).status_code == 200


def test_one_minute_of_a_widget_visitor_stays_far_inside_the_default_limits(client, personas):
    """The widget's first minute: config, notice, start, a message every 5 s, a poll every 2 s.

    Counted at the defaults (settings.py): no 429, and the inbox-wide guard leaves room
    for 500 such visitors at once (each from its own address) with margin to spare.
    """
    visitor = as_client(VISITOR)
    answers = [
        config(client, **visitor),
        client.get("/api/chat/acme-web/notice", **visitor),
        start(client, "acme-web", **visitor),
    ]
    token = answers[-1].json()["token"]
    for second in range(60):
        if second % 5 == 0:
            answers.append(post(client, "acme-web", token, f"message {second}", **visitor))
        if second % 2 == 0:
            answers.append(poll(client, "acme-web", token, **visitor))
    statuses = [r.status_code for r in answers]
    assert 429 not in statuses and set(statuses) <= {200, 201}
    assert django_settings.HAFEN_RATE_INBOX_PER_MINUTE >= 500 * len(answers) * 2


def test_the_limits_are_read_once_from_the_environment_by_settings(monkeypatch):
    from conversations.api import rate_setting

    # A request never reads os.environ: changing it at run time changes nothing ...
    monkeypatch.setenv("HAFEN_RATE_INBOX_PER_MINUTE", "7")
    assert rate_setting("HAFEN_RATE_INBOX_PER_MINUTE", 1) == (
        django_settings.HAFEN_RATE_INBOX_PER_MINUTE
    )
    # ... settings.py reads it when the process starts.
    env = {**os.environ, "HAFEN_RATE_CLIENT_PER_MINUTE": "77", "HAFEN_BEHIND_PROXY": "1"}
    env.pop("HAFEN_RATE_VISITOR_PER_MINUTE", None)
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.HAFEN_RATE_CLIENT_PER_MINUTE, s.HAFEN_RATE_VISITOR_PER_MINUTE, "
        "s.HAFEN_BEHIND_PROXY, s.HAFEN_API_MAX_BODY_BYTES)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "chatbot_site.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out == ["77", "240", "True", "65536"]


def test_500_widget_visitors_at_the_default_limits_get_no_429():
    """The counters of a minute of 500 widget visitors, each from its own address.

    Each visitor: config, notice, start, accept, a message every 5 s, a poll every 2 s;
    counted exactly as the API counts them (same counters, same order, same defaults).
    """
    from django.core.cache import caches
    from django.test import override_settings

    from conversations.api import (
        _client_counters,
        _counter,
        _visitor_counter,
    )

    locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    inbox = type("InboxStub", (), {"pk": 1})()
    refused = calls = 0
    with override_settings(CACHES=locmem):
        caches["default"].clear()
        for n in range(500):
            request = RequestFactory().get("/", REMOTE_ADDR=f"10.{n // 250}.{n % 250}.9")
            visitor = type("VisitorStub", (), {"pk": n + 1})()
            public = _client_counters(request, inbox, public=True)
            authed = [_visitor_counter(visitor), *_client_counters(request, inbox, public=False)]
            batches = [public] * 4
            for second in range(60):
                if second % 5 == 0:
                    conv = _counter(
                        "conversation", f"C{n}", "HAFEN_RATE_CONVERSATION_PER_MINUTE", 20
                    )
                    batches += [authed, [conv]]
                if second % 2 == 0:
                    poll_counter = _counter("poll", n + 1, "HAFEN_RATE_POLLS_PER_MINUTE", 120)
                    batches += [authed, [poll_counter]]
            for batch in batches:
                calls += 1
                refused += bool(rate_limit_check(batch))
    assert calls > 500 * 80 and refused == 0


def test_the_client_key_and_address_are_in_no_log_and_no_table(client, personas, caplog):
    from tests.canary import raw_table_text

    caplog.set_level(logging.DEBUG)
    canary = "192.0.2.199"
    visitor = as_client(canary)
    config(client, **visitor)
    token = start(client, "acme-web", **visitor).json()["token"]
    post(client, "acme-web", token, "hello", **visitor)
    poll(client, "acme-web", token, **visitor)
    ident = client_ident(RequestFactory().get("/", REMOTE_ADDR=canary))
    for text in (caplog.text, raw_table_text()):
        assert canary not in text and ident[:16] not in text
