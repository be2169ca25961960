"""Two web processes behind one Redis: an event raised in one reaches a socket held by the other.

Two real uvicorn processes on free ports share a PostgreSQL database of their own
(`<DATABASE_URL's name>_procs`, dropped, created and migrated here, seeded with
`seed_demo`) and the test's Redis (a key prefix of their own). demo-operator
signs in over HTTP on process A and opens the console socket there; a visitor
posts through process B's chat API; the event must reach A within a second.
PostgreSQL and Redis only (the in-memory layer is per process by design).
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from websockets.asyncio.client import connect

from tests.services import need_postgres, redis_url

ROOT = Path(__file__).resolve().parents[2]
UVICORN = Path(sys.executable).with_name("uvicorn")
IDLE_SECONDS = 7.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def procs_env():
    """The environment of the two processes, on a freshly migrated and seeded database."""
    need_postgres()
    redis = redis_url()
    base = os.environ.get("DATABASE_URL", "")
    parsed = urllib.parse.urlparse(base)
    name = f"{parsed.path.lstrip('/')}_procs"
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatbot_site.settings",
        "DATABASE_URL": parsed._replace(path=f"/{name}").geturl(),
        "REDIS_URL": redis,
        "HAFEN_CHANNEL_PREFIX": f"test-ws-{uuid.uuid4().hex[:8]}:",
        "HAFEN_ENV": "development",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    yield env
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Web:
    """One uvicorn process on a free port; stopped by its pid."""

    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.log = log
        self.proc = subprocess.Popen(
            [
                str(UVICORN),
                "chatbot_site.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--lifespan",
                "off",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"uvicorn exited: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("uvicorn did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.log.read_text()


def sign_in(web: Web, username: str, password: str) -> str:
    """Sign in over HTTP like a browser; the Cookie header of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{web.base}/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(f"{web.base}/accounts/login/", data=data)
    request.add_header("Referer", f"{web.base}/accounts/login/")
    opener.open(request, timeout=30).read()
    cookies = {c.name: c.value for c in jar}
    assert "sessionid" in cookies, "sign-in failed"
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def api(web: Web, path: str, body: dict | None = None, token: str | None = None) -> dict:
    request = urllib.request.Request(
        f"{web.base}{path}", data=json.dumps(body or {}).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_an_event_raised_in_one_process_reaches_a_socket_on_the_other(procs_env, tmp_path):
    a = Web(procs_env, tmp_path / "a.log")
    b = Web(procs_env, tmp_path / "b.log")
    try:
        cookie = sign_in(a, "demo-operator", "hafen-demo")
        token = api(b, "/api/chat/demo-website/conversations")["token"]

        async def scenario():
            async with connect(
                f"ws://127.0.0.1:{a.port}/ws/console/",
                origin=a.base,
                additional_headers={"Cookie": cookie},
            ) as ws:
                # Idle longer than the channel layer's blocking read (5 s): the
                # socket must still be there (redis-py's default read timeout is
                # also 5 s, and the two raced: the consumer died idle).
                await asyncio.sleep(IDLE_SECONDS)
                posted = await asyncio.to_thread(
                    api, b, "/api/chat/demo-website/messages", {"text": "Hello?"}, token
                )
                sent_at = time.monotonic()
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                return posted, frame, time.monotonic() - sent_at

        posted, frame, waited = asyncio.run(scenario())
    finally:
        logs = a.stop() + b.stop()
    assert frame["type"] == "conversation.changed" and frame["what"] == "message"
    assert frame["message"] == posted["message"]["id"] and frame["sender"] == "visitor"
    assert waited < 1.0, waited
    assert "Hello?" not in logs and "Traceback" not in logs
