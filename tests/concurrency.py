"""Helpers for the concurrency tests that race real threads on PostgreSQL."""

from __future__ import annotations

import time

from django.db import connection


def lock_waiters() -> int:
    """Statements of this test database now waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def wait_for_lock_waiters(n: int, timeout: float = 10.0) -> None:
    """Return once `n` statements wait for a lock (the race is set up); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while lock_waiters() < n:
        assert time.monotonic() < deadline, f"expected {n} statement(s) waiting for a lock"
        time.sleep(0.02)
