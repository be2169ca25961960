"""A real Celery worker (prefork, as the Procfile runs it) SIGKILLed in the middle of a
retention run: the company is not locked out, the run completes, and the summaries
account for every deletion, the killed run's included.

The kill lands mid-run for certain: another session holds a row lock on a
conversation of the run's second batch, so the first batch has committed and the
second waits on that row when the worker dies. Releasing the row lets the dead
run's backend finish its statement, fail to answer its dead client and end, which
rolls the second batch back and frees the advisory lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import redis
from auditlog.models import LogEntry
from celery import Celery
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from conversations.models import Conversation, Message, Visitor
from retention.models import RetentionPolicy, RetentionRun
from retention.services import purge
from retention.services.policy import policy_get_or_create
from retention.services.purge import INTERRUPTED
from tests.retention.helpers import make_conversation
from tests.retention.test_run_lock import postgres_dsn
from tests.services import need_postgres, redis_url

ROOT = Path(__file__).resolve().parents[2]
EXPIRED = purge.BATCH_SIZE * 2 + 300  # three conversation batches: full, full, short
MESSAGES = 2  # per expired conversation


def _database_url() -> str:
    p = connection.settings_dict
    auth = quote(p["USER"] or "") + (f":{quote(p['PASSWORD'])}" if p["PASSWORD"] else "")
    return f"postgres://{auth}@{p['HOST'] or '127.0.0.1'}:{p['PORT'] or 5432}/{p['NAME']}"


def _control_app(url: str) -> Celery:
    app = Celery("hafen-killed-worker-test")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=url, result_backend=url)
    return app


def _clean_broker(url: str) -> None:
    """The default queue and kombu's unacked bookkeeping on this test's own Redis db."""
    redis.Redis.from_url(url).delete("celery", "unacked", "unacked_index", "unacked_mutex")


def _start_worker(url: str, log: Path, *, retry_countdown: int | None = None) -> subprocess.Popen:
    """`celery -A chatbot_site worker` (prefork, one process) on the test database and Redis."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": url,
        "CELERY_BROKER_URL": url,
        "CELERY_RESULT_BACKEND": url,
        "DJANGO_SETTINGS_MODULE": "chatbot_site.settings",
    }
    argv = [
        "-A",
        "chatbot_site",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        "1",
        "--loglevel",
        "info",
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
        "--hostname",
        f"h3-killed-{os.getpid()}-{time.monotonic_ns()}@%h",
    ]
    if retry_countdown is None:
        command = [str(ROOT / ".venv/bin/celery"), *argv]
    else:
        # The same worker with a shorter lock-retry countdown (the pool forks after
        # this import, so its processes see it too): the test need not wait minutes.
        command = [
            sys.executable,
            "-c",
            "import sys, django\n"
            "django.setup()\n"
            "from retention import tasks\n"
            f"tasks.LOCK_RETRY_COUNTDOWN = {retry_countdown}\n"
            "from celery.bin.celery import main\n"
            "sys.argv = ['celery', *sys.argv[1:]]\n"
            "sys.exit(main())\n",
            *argv,
        ]
    worker = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: killpg reaches the pool too
    )
    app = _control_app(url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"the worker exited at start:\n{log.read_text()[-3000:]}")
        if app.control.ping(timeout=0.5):
            return worker
    os.killpg(worker.pid, signal.SIGKILL)
    pytest.fail(f"the worker did not come up:\n{log.read_text()[-3000:]}")


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def _seed(personas) -> dict:
    """EXPIRED conversations of company A, oldest first by id; young ones; B's, not due."""
    now = timezone.now()
    for company, days, due in ((personas.company_a, 90, True), (personas.company_b, 1, False)):
        policy = policy_get_or_create(company=company)
        RetentionPolicy.objects.filter(pk=policy.pk).update(
            conversation_days=days,
            personal_data_days=min(days, 30),
            next_run_at=now - timedelta(minutes=1) if due else now + timedelta(hours=5),
        )
    inbox = personas.inbox_a
    base = now - timedelta(days=100)
    visitors = Visitor.objects.bulk_create(
        Visitor(
            company=inbox.company,
            inbox=inbox,
            token_hash=f"killed-{i}",
            token_expires_at=base,
        )
        for i in range(EXPIRED)
    )
    Visitor.objects.filter(pk__in=[v.pk for v in visitors]).update(
        last_seen_at=base, created_at=base
    )
    conversations = Conversation.objects.bulk_create(
        Conversation(
            company=inbox.company,
            inbox=inbox,
            visitor=visitor,
            reference=f"K{i:09d}",  # "0" is not in new_reference()'s alphabet
            last_message_at=base + timedelta(seconds=i),  # batch order = creation order
        )
        for i, visitor in enumerate(visitors)
    )
    Message.objects.bulk_create(
        Message(
            company=inbox.company,
            conversation=conversation,
            sender=Message.Sender.VISITOR,
            body="hello",
        )
        for conversation in conversations
        for _ in range(MESSAGES)
    )
    Message.objects.filter(conversation__in=conversations).update(created_at=base)
    return {
        "now": now,
        # the first conversation of the second batch
        "blocker": conversations[purge.BATCH_SIZE].pk,
        "young": [
            make_conversation(inbox=personas.inbox_a, now=now, age_days=5).pk for _ in range(3)
        ],
        "theirs": make_conversation(inbox=personas.inbox_b, now=now, age_days=100).pk,
    }


def _wait_for(predicate, *, seconds: float, what: str, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()[-4000:]}")


def _running_run(company):
    return RetentionRun.objects.filter(
        company=company, outcome=RetentionRun.Outcome.RUNNING
    ).first()


def _backend_waits_on_a_lock() -> bool:
    with psycopg.connect(postgres_dsn(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE 'WITH doomed AS%%'"
        ).fetchone()
    return row[0] > 0


def _assert_everything_accounted_for(personas, seeded) -> None:
    company = personas.company_a
    assert not Conversation.objects.filter(company=company, reference__startswith="K0").exists()
    assert Conversation.objects.filter(pk__in=seeded["young"]).count() == 3
    assert Conversation.objects.filter(pk=seeded["theirs"]).exists()  # B was not due
    assert not RetentionRun.objects.filter(company=personas.company_b).exists()
    runs = RetentionRun.objects.filter(company=company)
    assert not runs.filter(outcome=RetentionRun.Outcome.RUNNING).exists()
    totals = runs.aggregate(
        conversations=Sum("conversations_deleted"),
        messages=Sum("messages_deleted"),
        visitors=Sum("visitors_deleted"),
    )
    # every deletion is in exactly one summary: no batch counted twice or lost
    assert totals == {
        "conversations": EXPIRED,
        "messages": EXPIRED * MESSAGES,
        "visitors": EXPIRED,
    }
    assert runs.filter(outcome=RetentionRun.Outcome.DONE).exists()
    assert RetentionPolicy.objects.get(company=company).next_run_at > seeded["now"]
    # one audit entry per run, the interrupted one's included
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(RetentionRun),
        object_id__in=list(runs.values_list("pk", flat=True)),
    )
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(
        runs.values_list("pk", flat=True)
    )


@pytest.fixture
def broker(tmp_path):
    need_postgres()
    url = redis_url()
    _clean_broker(url)
    yield url
    _clean_broker(url)


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_leaves_the_company_to_the_next_tick_and_every_deletion_in_a_summary(
    personas, broker, tmp_path
):
    seeded = _seed(personas)
    log = tmp_path / "worker.log"
    blocker = psycopg.connect(postgres_dsn())  # a transaction: holds the row lock until rollback
    blocker.execute(
        "SELECT id FROM conversations_conversation WHERE id = %s FOR UPDATE", [seeded["blocker"]]
    )
    worker = _start_worker(broker, log)
    try:
        _control_app(broker).send_task("retention.run_due")
        run = _wait_for(
            lambda: (r := _running_run(personas.company_a)) and r.conversations_deleted and r,
            seconds=60,
            what="the first batch to commit",
            log=log,
        )
        assert run.conversations_deleted == purge.BATCH_SIZE
        _wait_for(_backend_waits_on_a_lock, seconds=20, what="the second batch", log=log)

        os.killpg(worker.pid, signal.SIGKILL)  # the whole worker: main process and pool
        worker.wait(timeout=10)
        blocker.rollback()  # the dead run's statement ends, its session with it

        # The killed run's summary already holds its committed batch.
        killed = RetentionRun.objects.get(pk=run.pk)
        assert killed.outcome == RetentionRun.Outcome.RUNNING
        assert killed.conversations_deleted == purge.BATCH_SIZE
        assert killed.messages_deleted == purge.BATCH_SIZE * MESSAGES
        remaining = EXPIRED - purge.BATCH_SIZE  # the second batch rolled back
        assert Conversation.objects.filter(reference__startswith="K0").count() == remaining

        # The next beat tick, on a restarted worker: not locked out, it completes.
        worker = _start_worker(broker, log)
        _control_app(broker).send_task("retention.run_due")
        _wait_for(
            lambda: RetentionRun.objects.filter(
                company=personas.company_a, outcome=RetentionRun.Outcome.DONE
            ).exists(),
            seconds=90,
            what="the next tick's run to finish",
            log=log,
        )
    finally:
        blocker.close()
        _stop(worker)

    killed.refresh_from_db()
    assert killed.outcome == RetentionRun.Outcome.FAILED and killed.error == INTERRUPTED
    assert killed.conversations_deleted == purge.BATCH_SIZE  # its counts are kept
    assert killed.finished_at is not None
    _assert_everything_accounted_for(personas, seeded)


@pytest.mark.django_db(transaction=True)
def test_a_task_redelivered_after_its_pool_process_died_retries_until_the_dead_lock_is_gone(
    personas, broker, tmp_path
):
    seeded = _seed(personas)
    log = tmp_path / "worker.log"
    blocker = psycopg.connect(postgres_dsn())
    blocker.execute(
        "SELECT id FROM conversations_conversation WHERE id = %s FOR UPDATE", [seeded["blocker"]]
    )
    worker = _start_worker(broker, log, retry_countdown=1)
    try:
        _control_app(broker).send_task("retention.run_due")
        run = _wait_for(
            lambda: (r := _running_run(personas.company_a)) and r.conversations_deleted and r,
            seconds=60,
            what="the first batch to commit",
            log=log,
        )
        _wait_for(_backend_waits_on_a_lock, seconds=20, what="the second batch", log=log)
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        assert len(children) == 1
        os.kill(int(children[0]), signal.SIGKILL)  # only the pool process running the task

        # acks_late + reject_on_worker_lost: the task comes back at once, meets the dead
        # run's lock (its backend still waits on the row) and retries instead of ending.
        _wait_for(
            lambda: "retention.run_company" in log.read_text() and "Retry in 1s" in log.read_text(),
            seconds=30,
            what="the redelivered task to retry",
            log=log,
        )
        assert RetentionRun.objects.filter(company=personas.company_a).count() == 1
        blocker.rollback()  # the dead run's session ends; the lock is free
        _wait_for(
            lambda: RetentionRun.objects.filter(
                company=personas.company_a, outcome=RetentionRun.Outcome.DONE
            ).exists(),
            seconds=60,
            what="the retried run to finish",
            log=log,
        )
    finally:
        blocker.close()
        _stop(worker)

    assert "WorkerLostError" in log.read_text()
    killed = RetentionRun.objects.get(pk=run.pk)
    assert killed.outcome == RetentionRun.Outcome.FAILED and killed.error == INTERRUPTED
    _assert_everything_accounted_for(personas, seeded)
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST and settings.CELERY_TASK_ACKS_LATE
