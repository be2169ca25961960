"""Which real services a test needs, and what happens when one is missing.

HAFEN_REQUIRE lists the services that must be there (CI sets it): a test that
needs one of them fails instead of skipping. Values: postgres, redis, browser.
"""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

REQUIRED = {s.strip() for s in os.environ.get("HAFEN_REQUIRE", "").split(",") if s.strip()}
CHROMIUM = os.environ.get("HAFEN_CHROMIUM", "/usr/bin/chromium")


def need(service: str, available: bool, why: str) -> None:
    if available:
        return
    if service in REQUIRED:
        pytest.fail(f"{service} is required (HAFEN_REQUIRE) but {why}")
    pytest.skip(f"{service} not available: {why}")


def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        need("redis", False, "REDIS_URL is not set")
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 2):
            pass
    except OSError as exc:
        need("redis", False, f"cannot connect to {parsed.hostname}:{parsed.port}: {exc}")
    return url


def need_postgres() -> None:
    from django.db import connection

    need(
        "postgres",
        connection.vendor == "postgresql",
        f"the test database is {connection.vendor} (set DATABASE_URL)",
    )


def need_browser() -> str:
    need(
        "browser",
        shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM),
        f"{CHROMIUM} is missing (apt-get install chromium)",
    )
    try:
        import playwright  # noqa: F401
    except ImportError:
        need("browser", False, "the playwright package is not installed")
    return CHROMIUM
