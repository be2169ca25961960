"""Benchmark: the operator console at 1,000,000 conversations and 5,000,000 messages.

    .venv/bin/python bench/console.py                 # seeds once, then measures
    .venv/bin/python bench/console.py --reseed        # drop and seed again

Seeds a dedicated PostgreSQL database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/hafen_bench_console, created and migrated
here) with 100 companies, 10 inboxes each, 1M conversations (one visitor each),
5M messages and 1M audit entries, using INSERT ... SELECT generate_series in
chunks (tqdm shows progress). Every message body and visitor field reuses ONE
Fernet ciphertext computed up front. The measured company ("bench-0") holds 10%
of all rows; its operator's team sees 3 of its 10 inboxes.

A second database (the same name + "_small") holds one company with 10,000
conversations and is measured in the same run, so the first list page at 1M
rows can be compared with the same page at 10k.

Measured with Django's test Client (in-process, no network): the list page
(first page, a page 5,000 rows deep in the keyset, the "waiting" and "mine"
views), the navigation's counts.json, a conversation detail
page (5 messages, decrypted and masked, the open audited) and the audit page
(the company admin, first page): p50/p95 latency and SQL queries per request.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/hafen_bench_console"
CHUNK = 100_000
INBOXES_PER_COMPANY = 10
VISIBLE_INBOXES = 3
MESSAGES_PER_CONVERSATION = 5
DEEP_ROWS = 5_000


# --------------------------------------------------------------------------- #
# database bootstrap (before Django is set up)
# --------------------------------------------------------------------------- #


def _with_db(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def ensure_database(url: str, *, drop: bool) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and drop:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


# --------------------------------------------------------------------------- #
# child: seed and measure one database (Django set up on DATABASE_URL)
# --------------------------------------------------------------------------- #


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
    os.environ["DEBUG"] = "False"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, no collectstatic
    django.setup()


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rows", unit_scale=True, file=sys.stderr)


def seed(*, conversations: int, companies: int, audit_entries: int) -> dict:
    """Seed companies, inboxes, users, teams with ORM; the bulk with generate_series."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from encrypted_model_fields.fields import EncryptedTextField
    from guardian.shortcuts import assign_perm

    from accounts.models import Company, Membership
    from accounts.services import (
        company_create,
        membership_set,
        team_create,
        team_member_add,
        user_create,
    )
    from conversations.models import Conversation, Inbox

    existing = Company.objects.filter(slug="bench-0").first()
    if existing is not None:
        if Conversation.objects.count() >= conversations:
            print(f"seed: reusing {conversations:,} conversations", file=sys.stderr)
            return {"reused": True}
        raise SystemExit("a partial seed is in the database: run again with --reseed")

    started = time.perf_counter()
    ciphertext = EncryptedTextField().get_db_prep_save("Seeded text", connection)
    empty = EncryptedTextField().get_db_prep_save("", connection)
    with transaction.atomic():
        company_rows = [
            company_create(slug=f"bench-{c}", name=f"Bench {c}") for c in range(companies)
        ]
        inboxes = Inbox.objects.bulk_create(
            [
                Inbox(company=company, name=f"Inbox {s}", public_key=f"bench-{c}-{s}")
                for c, company in enumerate(company_rows)
                for s in range(INBOXES_PER_COMPANY)
            ]
        )
        main = company_rows[0]
        operator = user_create(username="bench-operator", password="bench-password")
        admin = user_create(username="bench-admin", password="bench-password")
        membership_set(user=operator, company=main, role=Membership.Role.OPERATOR)
        membership_set(user=admin, company=main, role=Membership.Role.ADMIN)
        team = team_create(company=main, name="Support")
        team_member_add(team=team, user=operator)
        for inbox in inboxes[:VISIBLE_INBOXES]:
            for right in ("view_conversations", "reply_conversations"):
                assign_perm(f"conversations.{right}", team.group, inbox)
    conversation_ct = ContentType.objects.get_for_model(Conversation).pk

    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        # the rows are consistent by construction; skip per-row FK trigger checks
        cur.execute("SET session_replication_role = replica")
        cur.execute("DROP TABLE IF EXISTS bench_inbox")
        cur.execute(
            "CREATE TEMP TABLE bench_inbox (company_idx int, slot int, company_id bigint,"
            " inbox_id bigint, PRIMARY KEY (company_idx, slot))"
        )
        cur.executemany(
            "INSERT INTO bench_inbox VALUES (%s, %s, %s, %s)",
            [
                (i // INBOXES_PER_COMPANY, i % INBOXES_PER_COMPANY, inbox.company_id, inbox.pk)
                for i, inbox in enumerate(inboxes)
            ],
        )
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM conversations_visitor")
        vbase = cur.fetchone()[0]
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM conversations_conversation")
        cbase = cur.fetchone()[0]
        others = max(companies - 1, 1)
        # conversation i: every 10th belongs to the measured company bench-0 (10%),
        # the rest spread over the others; activity interleaved over a year.

        def company_of(var: str) -> str:
            return (
                f"CASE WHEN {var} % 10 = 0 OR {companies} = 1 THEN 0"
                f" ELSE 1 + (({var} / 10) % {others}) END"
            )

        # SQL literals (no driver parameters, so "%" stays the modulo operator);
        # Fernet tokens are url-safe base64, the ids are ints.
        body_sql, empty_sql = f"'{ciphertext}'", f"'{empty}'"
        assert "'" not in ciphertext + empty
        step_seconds = 365 * 86400 / conversations
        with _progress(conversations, "visitors + conversations") as bar:
            for lo in range(1, conversations + 1, CHUNK):
                hi = min(lo + CHUNK - 1, conversations)
                series = (
                    f"SELECT i, {company_of('i')} AS cidx, (i / 7) % {INBOXES_PER_COMPANY} AS slot,"
                    f" now() - ({conversations} - i) * interval '{step_seconds} seconds' AS at"
                    f" FROM generate_series({lo}, {hi}) AS i"
                )
                cur.execute(
                    "INSERT INTO conversations_visitor (id, company_id, inbox_id, token_hash,"
                    " token_expires_at, created_at, last_seen_at, name, email, phone, email_index)"
                    f" SELECT {vbase} + s.i, b.company_id, b.inbox_id,"
                    " md5(s.i::text) || md5('v' || s.i::text), s.at + interval '30 days',"
                    f" s.at - interval '10 minutes', s.at, {empty_sql}, {empty_sql}, {empty_sql}, ''"
                    f" FROM ({series}) s JOIN bench_inbox b"
                    " ON b.company_idx = s.cidx AND b.slot = s.slot"
                )
                cur.execute(
                    "INSERT INTO conversations_conversation (id, company_id, inbox_id, visitor_id,"
                    " reference, status, assigned_to_id, started_at, last_message_at, closed_at,"
                    " personal_data_stripped_at, legal_hold, waiting_since)"
                    f" SELECT {cbase} + s.i, b.company_id, b.inbox_id, {vbase} + s.i,"
                    " 'B' || lpad(to_hex(s.i), 11, '0'),"
                    # old conversations are closed; the newest 0.1% wait for a
                    # human, the 0.4% before them are with an operator, then bot
                    f" CASE WHEN s.i > {conversations - conversations // 1000} THEN 'waiting'"
                    f" WHEN s.i > {conversations - conversations // 200} THEN 'operator'"
                    f" WHEN s.i > {conversations - conversations // 50} THEN 'bot'"
                    " ELSE 'closed' END,"
                    " NULL, s.at - interval '10 minutes', s.at,"
                    f" CASE WHEN s.i <= {conversations - conversations // 50} THEN s.at END,"
                    " NULL, false,"
                    # the queue's clock: waiting (and taken over) since 5 minutes before
                    f" CASE WHEN s.i > {conversations - conversations // 200}"
                    " THEN s.at - interval '5 minutes' END"
                    f" FROM ({series}) s JOIN bench_inbox b"
                    " ON b.company_idx = s.cidx AND b.slot = s.slot"
                )
                bar.update(hi - lo + 1)
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM conversations_message")
        mbase = cur.fetchone()[0]
        total_messages = conversations * MESSAGES_PER_CONVERSATION
        with _progress(total_messages, "messages") as bar:
            for lo in range(1, conversations + 1, CHUNK):
                hi = min(lo + CHUNK - 1, conversations)
                cur.execute(
                    "INSERT INTO conversations_message (id, company_id, conversation_id, sender,"
                    " author_id, body, redacted_count, created_at)"
                    f" SELECT {mbase} + (c.id - {cbase} - 1) * {MESSAGES_PER_CONVERSATION} + k,"
                    " c.company_id, c.id, CASE WHEN k % 2 = 1 THEN 'visitor' ELSE 'bot' END,"
                    f" NULL, {body_sql}, 0, c.last_message_at - ({MESSAGES_PER_CONVERSATION} - k)"
                    " * interval '1 minute'"
                    " FROM conversations_conversation c"
                    f" CROSS JOIN generate_series(1, {MESSAGES_PER_CONVERSATION}) AS k"
                    f" WHERE c.id BETWEEN {cbase + lo} AND {cbase + hi}"
                )
                bar.update((hi - lo + 1) * MESSAGES_PER_CONVERSATION)
        audit_step = 365 * 86400 / max(audit_entries, 1)
        with _progress(audit_entries, "audit entries") as bar:
            for lo in range(1, audit_entries + 1, CHUNK):
                hi = min(lo + CHUNK - 1, audit_entries)
                cur.execute(
                    "INSERT INTO auditlog_logentry (object_pk, object_id, object_repr, action,"
                    " changes, timestamp, actor_id, content_type_id, additional_data,"
                    " changes_text)"
                    f" SELECT ({cbase} + j)::text, {cbase} + j,"
                    " 'conversation B' || lpad(to_hex(j), 11, '0'),"
                    " CASE WHEN j % 10 < 7 THEN 3 ELSE 1 END,"
                    " CASE WHEN j % 10 < 7 THEN NULL"
                    ' ELSE \'{"status": ["bot", "closed"]}\'::jsonb END,'
                    f" now() - ({audit_entries} - j) * interval '{audit_step} seconds',"
                    f" CASE WHEN j % 10 = 0 THEN {admin.pk} END, {conversation_ct},"
                    " jsonb_build_object('company_id', b.company_id, 'event',"
                    " CASE WHEN j % 10 < 7 THEN 'conversation.open' ELSE '' END,"
                    f" 'conversation_id', {cbase} + j), ''"
                    f" FROM (SELECT j, {company_of('j')} AS cidx"
                    f" FROM generate_series({lo}, {hi}) AS j) s"
                    " JOIN bench_inbox b ON b.company_idx = s.cidx AND b.slot = 0"
                )
                bar.update(hi - lo + 1)
        for table in (
            "conversations_visitor",
            "conversations_conversation",
            "conversations_message",
        ):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            )
        cur.execute("SET session_replication_role = origin")
        for table in (
            "conversations_visitor",
            "conversations_conversation",
            "conversations_message",
            "auditlog_logentry",
        ):
            cur.execute(f"VACUUM ANALYZE {table}")
    seconds = time.perf_counter() - started
    print(f"seed: done in {seconds:.0f} s", file=sys.stderr)
    return {"reused": False, "seconds": round(seconds, 1)}


def _timed(client, url: str, *, repeats: int, warmup: int = 5) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    queries = len(ctx.captured_queries)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
        "queries": queries,
    }


def measure(*, repeats: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Membership
    from accounts.selectors import encode_cursor
    from conversations.models import Conversation
    from conversations.rights import VIEW, inbox_ids
    from conversations.selectors.console import conversations_visible

    operator = Membership.objects.select_related("user", "company").get(
        user__username="bench-operator"
    )
    admin = Membership.objects.select_related("user").get(user__username="bench-admin")
    visible = conversations_visible(membership=operator)
    total_company = Conversation.objects.filter(company_id=operator.company_id).count()
    total_visible = visible.count()
    deep = visible.order_by("-last_message_at", "-id").values_list("last_message_at", "id")[
        min(DEEP_ROWS, total_visible - 1)
    ]
    sample = visible.order_by("-last_message_at", "-id").first()

    op_client, admin_client = Client(), Client()
    op_client.force_login(operator.user)
    admin_client.force_login(admin.user)
    list_url = reverse("conversations:list")
    results = {
        "conversations_total": Conversation.objects.count(),
        "conversations_company": total_company,
        "conversations_visible": total_visible,
        "visible_inboxes": len(inbox_ids(membership=operator, right=VIEW)),
        "audit_entries_total": _count("auditlog_logentry"),
        "list_first": _timed(op_client, list_url, repeats=repeats),
        "list_deep": _timed(
            op_client, f"{list_url}?cursor={encode_cursor(*deep)}", repeats=repeats
        ),
        "list_waiting": _timed(op_client, f"{list_url}?view=waiting", repeats=repeats),
        "list_mine": _timed(op_client, f"{list_url}?view=mine", repeats=repeats),
        "counts": _timed(op_client, reverse("conversations:counts"), repeats=repeats),
        "detail": _timed(
            op_client,
            reverse("conversations:detail", kwargs={"conversation_id": sample.pk}),
            repeats=repeats,
        ),
        "audit": _timed(admin_client, reverse("accounts:audit"), repeats=repeats),
    }
    connection.close()
    return results


def _count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {table}")
        return cur.fetchone()[0]


def child(args) -> None:
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    seeded = seed(
        conversations=args.conversations, companies=args.companies, audit_entries=args.audit
    )
    results = measure(repeats=args.requests)
    results["seed"] = seeded
    print("RESULT " + json.dumps(results))


# --------------------------------------------------------------------------- #
# parent: both databases, one table
# --------------------------------------------------------------------------- #


PAGES = ("list_first", "list_deep", "list_waiting", "list_mine", "counts", "detail", "audit")


def run_child(
    url: str, *, conversations: int, companies: int, audit: int, args, drop: bool
) -> dict:
    ensure_database(url, drop=drop)
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--conversations",
        str(conversations),
        "--companies",
        str(companies),
        "--audit",
        str(audit),
        "--requests",
        str(args.requests),
    ]
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000, help="conversations in the small DB")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--reseed", action="store_true", help="drop the databases and seed again")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measuring rounds")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    small_url = _with_db(url, urlparse(url).path.lstrip("/") + "_small")
    sizes = {
        "big": (url, args.conversations, args.companies, args.audit),
        "small": (small_url, args.small, 1, args.small),
    }
    # Rounds alternate between the two databases and each page keeps its best
    # round: the machine is shared, and the 1M/10k comparison should not hinge
    # on which of the two ran while something else was busy.
    best: dict[str, dict] = {}
    for round_no in range(args.rounds):
        for key, (db_url, conversations, companies, audit) in sizes.items():
            result = run_child(
                db_url,
                conversations=conversations,
                companies=companies,
                audit=audit,
                args=args,
                drop=args.reseed and round_no == 0,
            )
            if key not in best:
                best[key] = result
                continue
            for page in PAGES:
                if result[page]["p50_ms"] < best[key][page]["p50_ms"]:
                    best[key][page] = result[page]
    big, small = best["big"], best["small"]
    print()
    print(
        f"1M database: {big['conversations_total']:,} conversations, "
        f"{big['audit_entries_total']:,} audit entries; the measured company holds "
        f"{big['conversations_company']:,} conversations, the operator sees "
        f"{big['conversations_visible']:,} of them ({big['visible_inboxes']} of "
        f"{INBOXES_PER_COMPANY} inboxes)."
    )
    print(
        f"small database: {small['conversations_total']:,} conversations "
        f"(operator sees {small['conversations_visible']:,})."
    )
    if not big["seed"].get("reused"):
        print(f"seeding the 1M database took {big['seed']['seconds']} s")
    print()
    print(f"{'page':<34} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    rows = [
        ("list, first page (1M)", big["list_first"]),
        ("list, 5,000 rows deep (1M)", big["list_deep"]),
        ("list, waiting view (1M)", big["list_waiting"]),
        ("list, mine view (1M)", big["list_mine"]),
        ("nav counts.json (1M)", big["counts"]),
        ("conversation detail (1M)", big["detail"]),
        ("audit page, first page (1M)", big["audit"]),
        ("list, first page (10k)", small["list_first"]),
    ]
    for label, r in rows:
        print(f"{label:<34} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['queries']:>8}")
    ratio = big["list_first"]["p50_ms"] / small["list_first"]["p50_ms"]
    print()
    print(f"first page 1M / 10k (p50): {ratio:.2f}x (target <= 1.5x)")
    worst = max(r["p95_ms"] for _label, r in rows)
    print(f"worst p95: {worst:.2f} ms (target < 50 ms)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
