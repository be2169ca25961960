"""The retention lock dies with its holder: a session-level advisory lock on PostgreSQL,
a short cache lease renewed after every batch elsewhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from conversations.models import Conversation
from retention.models import RetentionPolicy, RetentionRun
from retention.services import lock as lock_module
from retention.services import purge
from retention.services.lock import LockLost, advisory_key, company_lock_acquire, lease_key
from retention.services.policy import policy_get_or_create
from tests.retention.helpers import make_conversation
from tests.services import need_postgres


def postgres_dsn() -> str:
    """A libpq connection string for the database the tests use."""
    params = connection.settings_dict
    parts = {
        "dbname": params["NAME"],
        "user": params["USER"],
        "password": params["PASSWORD"],
        "host": params["HOST"],
        "port": params["PORT"],
    }
    return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


@contextmanager
def held_elsewhere(company_id: int):
    """The company's retention lock, held by another session (PostgreSQL) or holder (lease)."""
    if connection.vendor == "postgresql":
        other = psycopg.connect(postgres_dsn(), autocommit=True)
        try:
            other.execute("SELECT pg_advisory_lock(%s, %s)", advisory_key(company_id))
            yield
            # explicitly: a closed session's locks go when its backend has exited, a moment later
            other.execute("SELECT pg_advisory_unlock(%s, %s)", advisory_key(company_id))
        finally:
            other.close()
    else:
        assert cache.add(lease_key(company_id), "someone else", 60)
        try:
            yield
        finally:
            cache.delete(lease_key(company_id))


def _expired(personas, n: int):
    policy = policy_get_or_create(company=personas.company_a)
    RetentionPolicy.objects.filter(pk=policy.pk).update(conversation_days=90)
    now = timezone.now()
    return now, [make_conversation(inbox=personas.inbox_a, now=now, age_days=100) for _ in range(n)]


@pytest.mark.django_db
def test_a_held_lock_keeps_a_second_run_out_and_its_release_lets_it_in(personas):
    now, old = _expired(personas, 2)
    with held_elsewhere(personas.company_a.pk):
        assert purge.retention_run(company_id=personas.company_a.pk, now=now) is None
        assert not RetentionRun.objects.exists()  # not started: no summary either
    run = purge.retention_run(company_id=personas.company_a.pk, now=now)
    assert run.outcome == RetentionRun.Outcome.DONE and run.conversations_deleted == 2


@pytest.mark.django_db
def test_another_companys_lock_does_not_block(personas):
    now, _old = _expired(personas, 1)
    with held_elsewhere(personas.company_b.pk):
        run = purge.retention_run(company_id=personas.company_a.pk, now=now)
    assert run is not None and run.conversations_deleted == 1


@pytest.mark.django_db
def test_a_run_releases_its_lock_also_when_it_fails(personas, monkeypatch):
    now, _old = _expired(personas, 1)

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(purge, "_delete_expired_conversations", broken)
    failed = purge.retention_run(company_id=personas.company_a.pk, now=now)
    assert failed.outcome == RetentionRun.Outcome.FAILED
    acquired = company_lock_acquire(company_id=personas.company_a.pk)
    assert acquired is not None
    acquired.release()


@pytest.mark.django_db(transaction=True)
def test_a_lock_held_by_a_dead_session_is_free(personas):
    """A process that holds the lock and is SIGKILLed: its session ends, the lock with it."""
    need_postgres()
    company_id = personas.company_a.pk
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, psycopg\n"
            "conn = psycopg.connect(sys.argv[1], autocommit=True)\n"
            "conn.execute('SELECT pg_advisory_lock(%s, %s)', (int(sys.argv[2]), int(sys.argv[3])))\n"
            "print('held', flush=True)\n"
            "time.sleep(600)\n",
            postgres_dsn(),
            *map(str, advisory_key(company_id)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert company_lock_acquire(company_id=company_id) is None
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 10
        acquired = None
        while acquired is None and time.monotonic() < deadline:
            acquired = company_lock_acquire(company_id=company_id)
            time.sleep(0.05)
        assert acquired is not None, "the dead session's lock was not released"
        acquired.release()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.django_db
def test_a_lease_expires_on_its_own_and_a_renewal_after_that_stops_the_run(personas, monkeypatch):
    """The fallback (no PostgreSQL): a dead holder's lease is gone after LEASE_TTL."""
    monkeypatch.setattr(lock_module, "uses_advisory_locks", lambda: False)
    monkeypatch.setattr(lock_module, "LEASE_TTL", 1)
    company_id = personas.company_a.pk
    first = company_lock_acquire(company_id=company_id)
    assert first is not None and first.kind == "lease"
    assert company_lock_acquire(company_id=company_id) is None
    first.renew()  # alive: extended
    time.sleep(1.2)  # the holder "died": nobody renewed
    second = company_lock_acquire(company_id=company_id)
    assert second is not None, "an expired lease still blocks the company"
    with pytest.raises(LockLost):
        first.renew()
    first.release()  # not its lease any more: leaves the new holder's alone
    assert cache.get(lease_key(company_id)) == second.token
    second.release()
    assert cache.get(lease_key(company_id)) is None


@pytest.mark.django_db
def test_a_run_that_loses_its_lease_stops_and_says_so(personas, monkeypatch):
    monkeypatch.setattr(lock_module, "uses_advisory_locks", lambda: False)
    now, old = _expired(personas, 5)
    monkeypatch.setattr(purge, "_conversation_batch_statement", lambda: None)
    original = purge._delete_conversation_batch
    calls = {"n": 0}

    def steal_after_first_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            cache.set(lease_key(personas.company_a.pk), "a newer run", 60)
        return original(**kwargs)

    monkeypatch.setattr(purge, "_delete_conversation_batch", steal_after_first_batch)
    before = RetentionPolicy.objects.get(company=personas.company_a).next_run_at
    try:
        run = purge.retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)
    finally:
        cache.delete(lease_key(personas.company_a.pk))

    assert run.outcome == RetentionRun.Outcome.FAILED and run.error.startswith("LockLost")
    # the batch during which the lease was lost committed and is counted; no more after it
    assert run.conversations_deleted == 4 and Conversation.objects.count() == 1
    assert RetentionPolicy.objects.get(company=personas.company_a).next_run_at == before


@pytest.mark.django_db(transaction=True)
def test_two_runs_started_at_once_in_threads_exactly_one_runs(personas, monkeypatch):
    need_postgres()
    now, old = _expired(personas, 4)
    original = purge._delete_expired_conversations

    def slow(**kwargs):
        time.sleep(0.3)  # the holder is still running when the other one asks
        return original(**kwargs)

    monkeypatch.setattr(purge, "_delete_expired_conversations", slow)
    barrier = threading.Barrier(2)
    results = []

    def start():
        try:
            barrier.wait()
            results.append(purge.retention_run(company_id=personas.company_a.pk, now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == 2 and results.count(None) == 1
    (run,) = [r for r in results if r is not None]
    assert run.outcome == RetentionRun.Outcome.DONE and run.conversations_deleted == 4
    assert RetentionRun.objects.count() == 1
    assert not Conversation.objects.filter(pk__in=[c.pk for c in old]).exists()
