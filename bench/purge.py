"""Retention benchmark: the batched purge service against one raw DELETE per table.

    .venv/bin/python bench/purge.py [--companies 100] [--conversations 100000] [--messages 10]
                                    [--concurrency 2]

Uses PostgreSQL (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/hafen_bench_purge; the database is dropped
and created afresh, so its name must contain "bench") and Redis (REDIS_URL,
default redis://127.0.0.1:6379/9, flushed at the start: the Celery broker and
the per-company run lock), migrates, then:

1. seeds --conversations surviving conversations (1 day old, one visitor each,
   --messages messages each) across --companies companies, and an identical
   number of expired ones (100 days old, policy: 90 days), with INSERT ... SELECT
   generate_series and one reused Fernet ciphertext;
2. service, as deployed: a real Celery worker (prefork, --concurrency processes;
   2 is the Procfile's default) on Redis; the beat job `retention.run_due` is
   enqueued and the clock stops when no company is due any more (every
   per-company task done, re-enqueued ones included). A probe thread on its
   own connection keeps reading and updating surviving rows of the same tables
   and records its slowest query;
3. service, serial: the same expired set seeded again, retention_run() per
   company one after another in this process (one worker process's view);
4. floor: vacuums, seeds the same expired set again and deletes it with one DELETE per
   table (messages, conversations, visitors) in one transaction, probe running;
5. for reference (not a target): seeds the same set once more and deletes it with
   the floor's three DELETEs once per company, one transaction each -- what any
   per-company run pays at least on this layout (each heap page holds rows of
   many companies, so per-company runs visit it once per company);
6. erases one visitor with 10,000 messages (and 10,000 audit entries about
   them) and, before that, exports them.

Prints rows/s for each, the ratios, peak memory (this process's ru_maxrss, and
the largest VmHWM of the worker's processes) and the probe's slowest query.
Targets: service <= 1.5x the floor's time, peak memory < 200 MB, no probe query
> 1 s, erasure < 2 s, export < 5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/hafen_bench_purge"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
WORKER_LOG = Path(os.environ.get("TMPDIR", "/tmp")) / "hafen-bench-purge-worker.log"
EXPIRED_DAYS, YOUNG_DAYS, POLICY_DAYS = 100, 1, 90


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: a benchmark database name must contain 'bench'")
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def descendants(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [int(c) for c in children.read_text().split()] if children.exists() else []
    return [pid] + [d for child in found for d in descendants(child)]


def peak_rss_mb(pid: int) -> float:
    """The largest peak resident size (VmHWM) among pid and its descendants."""
    peaks = []
    for p in descendants(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        peaks += [
            int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM")
        ]
    return max(peaks, default=0.0)


def start_worker(concurrency: int) -> subprocess.Popen:
    """A Celery worker as the Procfile runs it (prefork), up and answering a ping."""
    from chatbot_site.celery import app

    worker = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "chatbot_site",
            "worker",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "warning",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=WORKER_LOG.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if app.control.ping(timeout=0.5):
            return worker
    worker.terminate()
    sys.exit(f"the Celery worker did not come up (its output: {WORKER_LOG})")


class Probe(threading.Thread):
    """Small reads and writes on surviving rows of the purged tables, on its own connection."""

    def __init__(self, dsn: str, conversation_ids: list[int], company_ids: list[int]):
        super().__init__(daemon=True)
        self.dsn = dsn
        self.conversation_ids = conversation_ids
        self.company_ids = company_ids
        self.stop = threading.Event()
        self.slowest = 0.0
        self.queries = 0

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                cid = random.choice(self.conversation_ids)
                company = random.choice(self.company_ids)
                for sql, args in (
                    (
                        "SELECT count(*) FROM conversations_message WHERE conversation_id = %s",
                        [cid],
                    ),
                    (
                        "UPDATE conversations_conversation SET status = status WHERE id = %s",
                        [cid],
                    ),
                    (
                        "SELECT id FROM conversations_conversation WHERE company_id = %s "
                        "ORDER BY last_message_at DESC, id DESC LIMIT 25",
                        [company],
                    ),
                    (
                        "UPDATE conversations_visitor SET last_seen_at = last_seen_at "
                        "WHERE id = (SELECT visitor_id FROM conversations_conversation WHERE id = %s)",
                        [cid],
                    ),
                ):
                    started = time.perf_counter()
                    conn.execute(sql, args)
                    self.slowest = max(self.slowest, time.perf_counter() - started)
                    self.queries += 1
                time.sleep(0.01)


@dataclass
class Timing:
    seconds: float = 0.0
    slowest_probe: float = 0.0


@contextmanager
def probed(dsn: str, conversation_ids: list[int], company_ids: list[int]):
    """Time the block while a Probe runs beside it; the Timing is filled in at exit."""
    probe = Probe(dsn, conversation_ids, company_ids)
    timing = Timing()
    probe.start()
    started = time.perf_counter()
    try:
        yield timing
    finally:
        timing.seconds = time.perf_counter() - started
        probe.stop.set()
        probe.join()
        timing.slowest_probe = probe.slowest


def delete_expired_raw(cursor, *, cutoff, company_id: int | None = None) -> None:
    """The floor: one DELETE per table (messages, conversations, visitors), in the
    caller's transaction, with the settings the service's batches use (no flush
    wait, foreign keys checked at once); all companies, or only `company_id`."""
    scope, params = ("company_id = %s AND ", [company_id]) if company_id is not None else ("", [])
    cursor.execute("SET LOCAL synchronous_commit TO OFF")
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(
        "DELETE FROM conversations_message WHERE conversation_id IN (SELECT id FROM "
        f"conversations_conversation WHERE {scope}last_message_at < %s AND NOT legal_hold)",
        [*params, cutoff],
    )
    cursor.execute(
        f"DELETE FROM conversations_conversation WHERE {scope}last_message_at < %s "
        "AND NOT legal_hold",
        [*params, cutoff],
    )
    cursor.execute(
        f"DELETE FROM conversations_visitor v WHERE {scope}last_seen_at < %s AND NOT EXISTS "
        "(SELECT 1 FROM conversations_conversation c WHERE c.visitor_id = v.id)",
        [*params, cutoff],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=100)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=10, help="messages per conversation")
    parser.add_argument(
        "--concurrency", type=int, default=2, help="Celery worker processes (Procfile: 2)"
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS)
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    run(args, url)


def run(args, url: str) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Company
    from conversations.models import Conversation, Inbox, Message, Visitor
    from retention.models import RetentionPolicy, RetentionRun
    from retention.services.purge import retention_run

    dsn = url
    now = timezone.now()
    body_cipher = Message._meta.get_field("body").get_db_prep_save(
        "Hello, I have a question about my order from last week.", connection
    )
    empty_cipher = Visitor._meta.get_field("name").get_db_prep_save("", connection)

    t0 = time.perf_counter()
    companies = Company.objects.bulk_create(
        [Company(slug=f"bench-{i}", name=f"Bench {i}") for i in range(args.companies)]
    )
    inboxes = Inbox.objects.bulk_create(
        [Inbox(company=c, name="Web", public_key=f"bench-{c.pk}") for c in companies]
    )
    RetentionPolicy.objects.bulk_create(
        [
            RetentionPolicy(
                company=c,
                conversation_days=POLICY_DAYS,
                personal_data_days=30,
                next_run_at=now,
            )
            for c in companies
        ]
    )
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_inbox (idx int, company_id bigint, inbox_id bigint)")
        cur.executemany(
            "INSERT INTO bench_inbox VALUES (%s, %s, %s)",
            [(i, ib.company_id, ib.pk) for i, ib in enumerate(inboxes)],
        )

    def seed(n: int, age_days: float, tag: str) -> None:
        """n conversations (one visitor each) with args.messages messages, all age_days old."""
        with connection.cursor() as cur:
            # Every phase starts without the previous phase's dead rows (the service's
            # start from a fresh table); the new rows fill the freed pages.
            cur.execute(
                "VACUUM conversations_message, conversations_conversation, conversations_visitor"
            )
            cur.execute("SELECT coalesce(max(id), 0) FROM conversations_visitor")
            (v0,) = cur.fetchone()
            cur.execute("SELECT coalesce(max(id), 0) FROM conversations_conversation")
            (c0,) = cur.fetchone()
            cur.execute(
                """
                INSERT INTO conversations_visitor (token_hash, token_expires_at, created_at,
                    last_seen_at, name, email, phone, email_index, company_id, inbox_id)
                SELECT md5(%(tag)s || g::text), %(ts)s, %(ts)s, %(ts)s, %(e)s, %(e)s, %(e)s, '',
                       b.company_id, b.inbox_id
                FROM generate_series(0, %(n)s - 1) g JOIN bench_inbox b ON b.idx = g %% %(k)s
                """,
                {
                    "tag": tag,
                    "ts": now - timezone.timedelta(days=age_days),
                    "e": empty_cipher,
                    "n": n,
                    "k": args.companies,
                },
            )
            cur.execute(
                """
                INSERT INTO conversations_conversation (reference, status, started_at,
                    last_message_at, legal_hold, company_id, inbox_id, visitor_id)
                SELECT %(tag)s || lpad(v.id::text, 11, '0'), 'closed', v.created_at,
                       v.created_at, false, v.company_id, v.inbox_id, v.id
                FROM conversations_visitor v WHERE v.id > %(v0)s
                """,
                {"tag": tag, "v0": v0},
            )
            cur.execute(
                """
                INSERT INTO conversations_message (sender, body, redacted_count, created_at,
                    company_id, conversation_id)
                SELECT 'visitor', %(body)s, 0, c.last_message_at, c.company_id, c.id
                FROM conversations_conversation c CROSS JOIN generate_series(1, %(m)s)
                WHERE c.id > %(c0)s
                """,
                {"body": body_cipher, "m": args.messages, "c0": c0},
            )
            cur.execute("ANALYZE")

    def counts() -> tuple[int, int, int]:
        return (
            Conversation.objects.count(),
            Message.objects.count(),
            Visitor.objects.count(),
        )

    seed(args.conversations, YOUNG_DAYS, "Y")
    survivors = counts()
    seed(args.conversations, EXPIRED_DAYS, "E")
    print(
        f"seeded {counts()} (conversations, messages, visitors) in {time.perf_counter() - t0:.1f} s"
    )
    young_ids = list(
        Conversation.objects.filter(reference__startswith="Y").values_list("id", flat=True)
    )
    company_ids = [c.pk for c in companies]
    expired_rows = args.conversations * (2 + args.messages)  # conversations, visitors, messages

    # --- the service as deployed: beat's job, then a Celery worker ----------------
    from retention.selectors import companies_due
    from retention.tasks import run_due

    worker = start_worker(args.concurrency)
    with probed(dsn, young_ids, company_ids) as celery:
        run_due.delay()
        # Every company is due until its task finishes (a partial run leaves it due).
        while companies_due(now=timezone.now()):
            time.sleep(0.05)
    worker_mb = peak_rss_mb(worker.pid)
    worker.terminate()
    worker.wait(timeout=60)
    outcomes = Counter(
        RetentionRun.objects.order_by("company_id", "-id")
        .distinct("company_id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == {RetentionRun.Outcome.DONE: len(company_ids)}, outcomes
    assert counts() == survivors, (counts(), survivors)
    celery_runs = RetentionRun.objects.count()

    # --- the service, serial: one company after another in this process ----------
    seed(args.conversations, EXPIRED_DAYS, "S")
    RetentionPolicy.objects.update(next_run_at=now)
    rss_before = peak_mb()
    invocations = 0
    with probed(dsn, young_ids, company_ids) as service:
        for company_id in company_ids:
            while True:
                result = retention_run(company_id=company_id, now=now)
                invocations += 1
                if result.outcome != RetentionRun.Outcome.PARTIAL:
                    assert result.outcome == RetentionRun.Outcome.DONE, result.error
                    break
    assert counts() == survivors, (counts(), survivors)
    rss_after = peak_mb()

    # --- the floor: one DELETE per table ------------------------------------------
    seed(args.conversations, EXPIRED_DAYS, "F")
    cutoff = now - timezone.timedelta(days=POLICY_DAYS)
    with probed(dsn, young_ids, company_ids) as floor:
        with connection.cursor() as cur, transaction.atomic():
            delete_expired_raw(cur, cutoff=cutoff)
    assert counts() == survivors, (counts(), survivors)

    # --- for reference: the floor's statements once per company ------------------
    # What any per-company run pays at least: one transaction per company with the
    # floor's three DELETEs restricted to that company, no Python in between.
    seed(args.conversations, EXPIRED_DAYS, "P")
    with probed(dsn, young_ids, company_ids) as per_company:
        for company_id in company_ids:
            with connection.cursor() as cur, transaction.atomic():
                delete_expired_raw(cur, cutoff=cutoff, company_id=company_id)
    assert counts() == survivors, (counts(), survivors)
    celery_s, service_s, floor_s, per_company_s = (
        t.seconds for t in (celery, service, floor, per_company)
    )

    print(
        f"rows per run: {expired_rows:,} ({args.conversations:,} conversations, "
        f"{args.conversations * args.messages:,} messages, {args.conversations:,} visitors) "
        f"across {args.companies} companies; {survivors[0]:,} conversations survive"
    )
    print(
        f"service (Celery worker, {args.concurrency} processes; beat's run_due): "
        f"{celery_s:7.2f} s  {expired_rows / celery_s:10,.0f} rows/s  ({celery_runs} task runs)  "
        f"slowest probe query {celery.slowest_probe * 1000:.0f} ms"
    )
    print(
        f"service (serial, one process):  {service_s:7.2f} s  {expired_rows / service_s:10,.0f} "
        f"rows/s  ({invocations} invocations)  slowest probe query {service.slowest_probe * 1000:.0f} ms"
    )
    print(
        f"floor (one DELETE per table):   {floor_s:7.2f} s  {expired_rows / floor_s:10,.0f} rows/s  "
        f"slowest probe query {floor.slowest_probe * 1000:.0f} ms"
    )
    print(f"ratio service/floor, as deployed: {celery_s / floor_s:.2f}x (target <= 1.5x)")
    print(f"ratio service/floor, serial:      {service_s / floor_s:.2f}x")
    print(
        f"floor's statements per company (reference): {per_company_s:7.2f} s  "
        f"{per_company_s / floor_s:.2f}x the floor; serial service/that: "
        f"{service_s / per_company_s:.2f}x"
    )
    print(
        "load average during the run (shared machine): "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    print(
        f"peak memory: worker processes {worker_mb:.0f} MB (largest VmHWM); this process "
        f"{rss_after:.0f} MB (before the serial service: {rss_before:.0f} MB); target < 200 MB"
    )

    erase_and_export(companies[0], inboxes[0], body_cipher, empty_cipher, now)


def erase_and_export(company, inbox, body_cipher, empty_cipher, now) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from conversations.models import Conversation, Message, Visitor
    from retention.services.erasure import erasure_execute, erasure_request_create
    from retention.services.export import visitor_export

    visitor = Visitor.objects.create(
        company=company, inbox=inbox, token_hash="bench", token_expires_at=now, name="Big Talker"
    )
    conversation = Conversation.objects.create(
        company=company, inbox=inbox, visitor=visitor, last_message_at=now
    )
    message_type = ContentType.objects.get_for_model(Message)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO conversations_message (sender, body, redacted_count, created_at, "
            "company_id, conversation_id) SELECT 'visitor', %s, 0, now(), %s, %s "
            "FROM generate_series(1, 10000)",
            [body_cipher, company.pk, conversation.pk],
        )
        cur.execute(
            "INSERT INTO auditlog_logentry (object_pk, object_id, object_repr, action, "
            "timestamp, content_type_id, additional_data, changes_text) "
            "SELECT id::text, id, 'message #' || id, 0, now(), %s, "
            "jsonb_build_object('company_id', %s::int), '' "
            "FROM conversations_message WHERE conversation_id = %s",
            [message_type.pk, company.pk, conversation.pk],
        )
        cur.execute("ANALYZE")
    started = time.perf_counter()
    data = visitor_export(visitor=visitor, actor=None)
    export_s = time.perf_counter() - started
    assert sum(len(c["messages"]) for c in data["conversations"]) == 10_000
    started = time.perf_counter()
    request = erasure_request_create(company=company, visitor=visitor, actor=None)
    done = erasure_execute(request=request, actor=None)
    erase_s = time.perf_counter() - started
    erased = done.receipt["receipt"]["erased"]
    kept = done.receipt["receipt"]["access_records_kept"]
    assert erased["messages"] == 10_000 and kept >= 10_000, (erased, kept)
    print(f"export of one visitor with 10,000 messages: {export_s:.2f} s (target < 5 s)")
    print(
        f"erasure of that visitor (10,000 messages, {kept:,} audit entries kept, "
        f"pseudonymised): {erase_s:.2f} s (target < 2 s)"
    )
    print(f"peak memory at the end (ru_maxrss): {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
