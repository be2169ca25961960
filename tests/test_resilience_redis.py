"""Redis unreachable during the chat: posts and polls still work, limits still hold.

The cache is pointed at a closed port (and, with Redis available, at a redis-server
of our own that is killed mid-test); the limiter falls back to counting in the process.
"""

import logging
import shutil
import socket
import subprocess
import time

import pytest
from django.test import override_settings

from chatbot_site.lib import ratelimit
from chatbot_site.lib.ratelimit import client_ident
from tests.canary import raw_table_text
from tests.conversations.chat_support import post

pytestmark = pytest.mark.django_db

CANARY_ADDRESS = "192.0.2.147"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_cache(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


def poll(client, key: str, token: str, **extra):
    return client.get(
        f"/api/chat/{key}/messages", {"after": 0}, HTTP_AUTHORIZATION=f"Bearer {token}", **extra
    )


def start(client, **extra):
    return client.post("/api/chat/acme-web/conversations", content_type="application/json", **extra)


@pytest.fixture(autouse=True)
def one_window(monkeypatch):
    """The limiter's clock stands still: a test's calls never straddle two minute windows."""
    import types

    frozen = (time.time() // 60) * 60 + 30
    monkeypatch.setattr(
        ratelimit, "time", types.SimpleNamespace(time=lambda: frozen, monotonic=time.monotonic)
    )


@pytest.fixture
def fresh_warning(monkeypatch):
    """Each test sees the limiter's once-a-minute warning afresh."""
    monkeypatch.setattr(ratelimit, "_health", ratelimit._CacheHealth())


def test_with_the_cache_on_a_closed_port_visitors_chat_and_limits_still_hold(
    client, personas, settings, caplog, fresh_warning
):
    settings.HAFEN_RATE_CONVERSATION_PER_MINUTE = 3
    caplog.set_level(logging.DEBUG)
    with override_settings(CACHES=redis_cache(free_port())):
        began = time.monotonic()
        started = start(client, REMOTE_ADDR=CANARY_ADDRESS)
        assert started.status_code == 201
        token = started.json()["token"]
        answers = [
            post(client, "acme-web", token, f"hi {i}", REMOTE_ADDR=CANARY_ADDRESS) for i in range(4)
        ]
        assert [r.status_code for r in answers] == [200, 200, 200, 429]  # the fallback counts
        assert answers[-1]["Retry-After"] and answers[-1].json()["error"] == "rate_limited"
        assert poll(client, "acme-web", token, REMOTE_ADDR=CANARY_ADDRESS).status_code == 200
        assert time.monotonic() - began < 10  # no request waits for the dead cache
    warnings = [r for r in caplog.records if "cache is unavailable" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    # the hashed client key (and the address) are in no log line and no table
    ident = client_ident(_request(CANARY_ADDRESS))
    logged = caplog.text
    assert CANARY_ADDRESS not in logged and ident not in logged and ident[:16] not in logged
    tables = raw_table_text()
    assert CANARY_ADDRESS not in tables and ident[:16] not in tables


def _request(address: str):
    from django.test import RequestFactory

    return RequestFactory().get("/", REMOTE_ADDR=address)


def test_the_fallback_limiter_keeps_one_client_from_locking_out_another(
    client, personas, settings, fresh_warning
):
    settings.HAFEN_RATE_CLIENT_PUBLIC_PER_MINUTE = 5
    with override_settings(CACHES=redis_cache(free_port())):
        answers = [
            client.get("/api/chat/acme-web/config", REMOTE_ADDR="203.0.113.66").status_code
            for _ in range(8)
        ]
        assert answers == [200] * 5 + [429] * 3
        assert (
            client.get("/api/chat/acme-web/config", REMOTE_ADDR="198.51.100.2").status_code == 200
        )


@pytest.fixture
def own_redis():
    """A throwaway redis-server on a spare port, stopped at the end (by its pid)."""
    binary = shutil.which("redis-server")
    if binary is None:
        from tests.services import need

        need("redis", False, "redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield proc, port
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def test_a_redis_that_dies_mid_chat_does_not_stop_the_chat(
    client, personas, settings, own_redis, fresh_warning
):
    proc, port = own_redis
    settings.HAFEN_RATE_CONVERSATION_PER_MINUTE = 4
    with override_settings(CACHES=redis_cache(port)):
        from django.core.cache import caches

        token = start(client, REMOTE_ADDR=CANARY_ADDRESS).json()["token"]
        assert (
            post(client, "acme-web", token, "before", REMOTE_ADDR=CANARY_ADDRESS).status_code == 200
        )
        # counted in Redis, with a TTL of at most an hour, under no raw address
        client_redis = caches["default"]._cache.get_client(write=True)
        keys = [k.decode() for k in client_redis.keys("*")]
        assert keys and all(0 < client_redis.ttl(k) <= 3600 for k in keys)
        assert not any(CANARY_ADDRESS in k for k in keys)
        proc.kill()
        proc.wait(5)
        answers = [
            post(client, "acme-web", token, f"after {i}", REMOTE_ADDR=CANARY_ADDRESS).status_code
            for i in range(5)
        ]
        # still posting; the fallback counts afresh in the process, and still limits
        assert answers == [200] * 4 + [429]
        assert poll(client, "acme-web", token, REMOTE_ADDR=CANARY_ADDRESS).status_code == 200


def test_a_task_queued_from_a_request_never_fails_it_when_the_broker_is_down(
    personas, login, caplog, django_capture_on_commit_callbacks, monkeypatch
):
    """Run now on the retention page: the broker is unreachable, the page still answers."""
    from django.urls import reverse
    from kombu.exceptions import OperationalError

    from retention.models import RetentionPolicy
    from retention.tasks import run_company

    def broker_down(**kwargs):  # what kombu raises when Redis refuses the connection
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(run_company, "delay", broker_down)
    client = login(personas.alice)
    caplog.set_level(logging.WARNING)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("retention:run_now"))
    assert response.status_code == 302
    assert "task retention.run_company not queued" in caplog.text
    assert "retention.run_due" in caplog.text  # says who picks it up
    # the window is due: beat's next run_due starts it
    from django.utils import timezone

    assert RetentionPolicy.objects.get(company=personas.company_a).next_run_at <= timezone.now()


def test_queuing_against_an_unreachable_broker_gives_up_fast_with_the_projects_settings(caplog):
    """A real Celery app with the project's CELERY_* settings, broker and results on a closed port."""
    from celery import Celery

    from chatbot_site.lib.tasks import enqueue_or_defer

    closed = f"redis://127.0.0.1:{free_port()}/0"
    app = Celery("hafen-probe", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(
        broker_url=closed,
        result_backend=closed,
        broker_transport_options={"socket_connect_timeout": 1},
        redis_socket_connect_timeout=1,
    )

    @app.task(name="hafen.probe")
    def probe(company_id: int) -> int:  # pragma: no cover - never runs
        return company_id

    caplog.set_level(logging.WARNING)
    began = time.monotonic()
    assert (
        enqueue_or_defer(probe, kwargs={"company_id": 1}, deferred_to="the next beat tick") is False
    )
    assert time.monotonic() - began < 5  # Celery's defaults hold the request ~20 s
    assert "task hafen.probe not queued" in caplog.text and "the next beat tick" in caplog.text
