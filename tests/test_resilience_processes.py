"""Real web processes (gunicorn, DEBUG off) started while Redis or the database is unreachable.

- Redis on a closed port: the chat works (start, post, poll), the log says so once,
  and neither the client's address nor its hashed key is logged.
- The database on a closed port: the chat API answers JSON 503 with Retry-After, pages
  a plain 503; a 3 MB body answers 413; never an HTML error under /api/.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.test import RequestFactory

from chatbot_site.lib.ratelimit import client_ident
from tests.services import need_postgres

CANARY_ADDRESS = "192.0.2.211"
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Web:
    """gunicorn on a free port with the given environment; stopped by its pid."""

    def __init__(self, tmp_path: Path, **env: str):
        self.port = free_port()
        self.log = tmp_path / "web.log"
        environment = {**os.environ, "DEBUG": "0", "HAFEN_ENV": "development", **env}
        self.proc = subprocess.Popen(
            [
                str(GUNICORN),
                "chatbot_site.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "2",
            ],
            env=environment,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not start")

    def call(self, method: str, path: str, body: bytes | dict | None = None, **headers):
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in headers.items():
            request.add_header(name.replace("_", "-"), value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.log.read_text()


@pytest.mark.django_db(transaction=True)
def test_a_web_process_started_with_redis_unreachable_serves_the_chat(personas, tmp_path):
    need_postgres()  # the process reads the committed test data from the same database
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace(f"{db['USER']}@", f"{db['USER']}:{db['PASSWORD']}@")
    closed = f"redis://127.0.0.1:{free_port()}/0"
    web = Web(
        tmp_path,
        DATABASE_URL=url,
        REDIS_URL=closed,
        HAFEN_BEHIND_PROXY="1",
        HAFEN_RATE_CONVERSATION_PER_MINUTE="3",
        LOG_LEVEL="DEBUG",
    )
    try:
        hop = {"X_Forwarded_For": CANARY_ADDRESS}
        status, _h, body = web.call("GET", "/api/chat/acme-web/config", **hop)
        assert status == 200, body[:300]
        status, _h, body = web.call("POST", "/api/chat/acme-web/conversations", {}, **hop)
        assert status == 201, body[:300]
        auth = {"Authorization": f"Bearer {json.loads(body)['token']}", **hop}
        posts = [
            web.call("POST", "/api/chat/acme-web/messages", {"text": f"hi {i}"}, **auth)
            for i in range(5)
        ]
        statuses = [p[0] for p in posts]
        # The in-process fallback limits (3 a minute; 5 posts may straddle two windows).
        assert statuses[0] == 200 and 429 in statuses and set(statuses) == {200, 429}
        refused = posts[statuses.index(429)]
        assert json.loads(refused[2])["error"] == "rate_limited" and refused[1]["Retry-After"]
        status, _h, body = web.call("GET", "/api/chat/acme-web/messages?after=0", **auth)
        assert status == 200 and len(json.loads(body)["messages"]) >= 3
    finally:
        log = web.stop()
    assert log.count("the cache is unavailable") == 1
    ident = client_ident(RequestFactory().get("/", REMOTE_ADDR=CANARY_ADDRESS))
    assert CANARY_ADDRESS not in log and ident[:16] not in log


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
def test_a_web_process_with_the_database_unreachable_answers_503(tmp_path, database):
    url = (
        f"postgres://postgres@127.0.0.1:{free_port()}/hafen"
        if database == "postgres"
        else f"sqlite:///{tmp_path}/no-such-dir/db.sqlite3"
    )
    web = Web(tmp_path, DATABASE_URL=url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    try:
        for method, path, body in [
            ("GET", "/api/chat/acme-web/config", None),
            ("POST", "/api/chat/acme-web/conversations", {}),
            ("POST", "/api/chat/acme-web/messages", {"text": "hello"}),
            ("GET", "/api/chat/acme-web/messages?after=0", None),
        ]:
            status, headers, content = web.call(method, path, body, Authorization="Bearer x")
            assert status == 503, (path, content[:300])
            assert headers["Content-Type"].startswith("application/json")
            assert json.loads(content)["error"] == "unavailable"
            assert int(headers["Retry-After"]) > 0
        status, headers, content = web.call("GET", "/chat/acme-web/")
        assert status == 503 and headers["Retry-After"]
        assert b"Traceback" not in content and b"Server Error" not in content
        status, headers, content = web.call(
            "POST", "/api/chat/acme-web/messages", b'{"text": "' + b"x" * (3 << 20) + b'"}'
        )
        assert status == 413 and json.loads(content)["error"] == "payload_too_large"
    finally:
        log = web.stop()
    assert "Traceback" not in log
