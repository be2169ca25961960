"""Sign-in throttling across two real web processes (gunicorn) sharing Redis.

The processes run against their own database, hafen_h3_procs, created, migrated
and seeded here (the demo data); wrong passwords alternate between them, and the
lock holds on both, for an existing and a missing account alike.
"""

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.services import need_postgres, redis_url
from tests.test_resilience_processes import Web

ROOT = Path(__file__).resolve().parent.parent.parent
DATABASE = "hafen_h3_procs"
WRONG_CANARY = "canary-wrong-pw-41b7"
DEMO_PASSWORD = "hafen-demo"
LOCKOUT_AFTER = 4
LOCKOUT_SECONDS = 6


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One cookie jar against one web process; no redirects followed."""

    def __init__(self, web: Web):
        self.web = web
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        self.opener.addheaders = [("Accept-Language", "en")]  # the tests read English

    def _open(self, request) -> tuple[int, dict, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()

    def sign_in(self, username: str, password: str) -> tuple[int, dict, str]:
        url = f"http://127.0.0.1:{self.web.port}/accounts/login/"
        self.jar.clear()
        status, _headers, page = self._open(urllib.request.Request(url))
        assert status == 200, page[:500]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": username, "password": password}
        ).encode()
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Referer", url)
        return self._open(request)

    def signed_in(self) -> bool:
        return any(c.name == "sessionid" for c in self.jar)


def comparable(page: str) -> str:
    """A page without what differs per response (CSRF token, nonce, name typed, minutes left)."""
    page = re.sub(r'value="[A-Za-z0-9]{64}"', 'value=""', page)
    page = re.sub(r'nonce="[^"]*"', 'nonce=""', page)
    page = re.sub(r'(name="username"[^>]*value=")[^"]*"', r'\1"', page)  # what was typed
    return re.sub(r"Try again in \d+ (second|minute)s?", "Try again in N", page)


def _run(*args: str, env: dict) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.fixture
def procs_database() -> str:
    """A fresh hafen_h3_procs, migrated and seeded with the demo data."""
    need_postgres()
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        db.execute(f"CREATE DATABASE {DATABASE}")
    url = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    env = {**os.environ, "DATABASE_URL": url, "HAFEN_ENV": "development"}
    _run("migrate", "--noinput", env=env)
    _run("seed_demo", env=env)
    return url


def audit_rows(url: str, event: str) -> list[tuple[str, str]]:
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as db:
        return db.execute(
            "SELECT object_pk, additional_data::text FROM auditlog_logentry "
            "WHERE additional_data->>'event' = %s",
            [event],
        ).fetchall()


def all_audit_text(url: str) -> str:
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as db:
        rows = db.execute("SELECT * FROM auditlog_logentry").fetchall()
    return "\n".join(" ".join(str(v) for v in row) for row in rows)


def test_the_lock_holds_on_both_processes_and_does_not_reveal_the_account(procs_database, tmp_path):
    shared = {
        "DATABASE_URL": procs_database,
        "REDIS_URL": redis_url(),
        "HAFEN_RATE_KEY_PREFIX": f"test-procs:{uuid.uuid4().hex}",
        "HAFEN_SIGNIN_SLOWDOWN_AFTER": "0",
        "HAFEN_SIGNIN_LOCKOUT_AFTER": str(LOCKOUT_AFTER),
        "HAFEN_SIGNIN_LOCKOUT_MINUTES": str(LOCKOUT_SECONDS / 60),
        "HAFEN_SIGNIN_CLIENT_SLOWDOWN_AFTER": "0",
        "HAFEN_SIGNIN_CLIENT_LOCKOUT_AFTER": "1000",
        "LOG_LEVEL": "INFO",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    web_a, web_b = Web(tmp_path / "a", **shared), Web(tmp_path / "b", **shared)
    try:
        a, b = Browser(web_a), Browser(web_b)
        # a right password works at first (the demo has no 2FA)
        status, headers, _page = b.sign_in("demo-viewer", DEMO_PASSWORD)
        assert status == 302 and b.signed_in(), _page[:500]

        for name in ("demo-operator", "no-such-person"):
            for attempt in range(LOCKOUT_AFTER):
                browser = a if attempt % 2 == 0 else b
                status, _h, page = browser.sign_in(name, WRONG_CANARY)
                assert status != 302 and not browser.signed_in()
                assert "Too many failed sign-ins" not in page  # counted, not yet locked

        answers = {}
        for name in ("demo-operator", "no-such-person"):
            for browser in (a, b):
                status, _h, page = browser.sign_in(name, DEMO_PASSWORD)
                assert status != 302 and not browser.signed_in(), (name, status)
                assert "Too many failed sign-ins" in page
                answers.setdefault(name, []).append((status, comparable(page)))
        assert answers["demo-operator"] == answers["no-such-person"]

        # another account from the same client still signs in
        status, _h, _page = a.sign_in("demo-admin", DEMO_PASSWORD)
        assert status == 302 and a.signed_in()

        time.sleep(LOCKOUT_SECONDS + 0.5)
        status, _h, _page = b.sign_in("demo-operator", DEMO_PASSWORD)
        assert status == 302 and b.signed_in()
    finally:
        logs = web_a.stop() + web_b.stop()

    failed = audit_rows(procs_database, "signin.failed")
    locked = audit_rows(procs_database, "signin.locked_out")
    assert len(failed) == LOCKOUT_AFTER  # demo-operator's, one company; none for the missing name
    assert len(locked) == 1
    assert len({pk for pk, _data in failed + locked}) == 1
    text = all_audit_text(procs_database)
    assert WRONG_CANARY not in text and DEMO_PASSWORD not in text
    assert "no-such-person" not in text
    assert WRONG_CANARY not in logs and "no-such-person" not in logs
    assert "Traceback" not in logs
