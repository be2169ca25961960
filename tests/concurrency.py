"""Helpers for the concurrency tests that race real threads on PostgreSQL."""

from __future__ import annotations

import threading
import time

from django.db import connection, connections, transaction
from django.utils import translation


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


class Worker(threading.Thread):
    """Runs `fn` on its own connection; keeps its result or exception."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None

    def run(self):
        try:
            with translation.override("en"):  # a new thread starts in LANGUAGE_CODE
                self.result = self.fn()
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            self.error = exc
        finally:
            connections.close_all()

    def outcome(self, timeout=20):
        self.join(timeout)
        assert not self.is_alive(), "the thread did not finish"
        return self.result


class Held(Worker):
    """Runs `fn` inside a transaction that stays open until release()."""

    def __init__(self, fn):
        self.ready, self.go = threading.Event(), threading.Event()

        def held():
            with transaction.atomic():
                result = fn()
                self.ready.set()
                assert self.go.wait(20)
            return result

        super().__init__(held)

    def begin(self):
        self.start()
        assert self.ready.wait(20) or self.error, "the held side did not get going"
        if self.error:
            raise self.error
        return self

    def release(self):
        self.go.set()
        result = self.outcome()
        if self.error:
            raise self.error
        return result
