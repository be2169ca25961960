"""Retention runs: strip personal data and purge expired rows of one company, in batches.

Invariant: a run touches only rows of its own company whose window has passed
and that are not under legal hold. Every batch is one transaction (ids selected
with LIMIT, never OFFSET; the rows are locked while the batch runs), so a worker
killed in the middle leaves each batch fully done or untouched and the next run
finishes the job. Rows go with raw DELETEs and updates run with auditlog off: no
per-object signals, no per-row audit entries; the RetentionRun summary (itself
audited) is the record. Nothing here logs or returns message text or personal data.

Every batch that changed something is in a summary, also when its worker is
killed: the run's RetentionRun row is written (outcome RUNNING) before the first
batch, and each batch adds its counts to it inside its own transaction. The run
holds its company's lock (retention.services.lock: dies with its holder); a run
that takes the lock and finds a RUNNING row knows that row's run is dead and
closes it as FAILED "interrupted", keeping its counts. Each run gets exactly one
audit entry, written when its outcome is known (the entry auditlog writes for a
created summary, with the final counts).

What a run deletes, in this order:
1. conversations whose last message is older than conversation_days, with their
   messages and lifted legal-hold records (held conversations are skipped);
2. visitors with no conversation left and not seen for personal_data_days, with
   their consent records;
3. it strips personal data per message: every message created at or before the
   personal-data cutoff (now - personal_data_days) goes through the shared
   detector once, whoever wrote it and however new the rest of its conversation
   is. Conversation.personal_data_stripped_through is the high-water mark
   (every message created at or before it has been through the detector); a
   batch moves it to the cutoff only after reading every message up to there,
   so a value it cannot decrypt fails the batch and nothing is marked. The
   visitor's name, e-mail, phone and e-mail index are wiped and their resume
   token ended once no conversation of theirs is inside the window or held;
4. audit entries of the company older than audit_days.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from auditlog.context import disable_auditlog
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Least
from django.utils import timezone

from accounts.models import Company
from chatbot_site.lib.audit import audit_entries_for_company
from chatbot_site.lib.crypto import EncryptionKeyError, UndecryptableValue, encryption_keys_check
from chatbot_site.lib.pii import redact
from conversations.models import Conversation, Message, Visitor
from retention.models import RetentionPolicy, RetentionRun
from retention.services.lock import CompanyLock, LockLost, company_lock_acquire
from retention.services.policy import next_run_after, policy_get_or_create
from retention.services.rawdelete import NotCompilable, cascade_ctes, raw_delete

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000  # conversations (or visitors) deleted per transaction
STRIP_BATCH_SIZE = 200  # conversations stripped per transaction
MESSAGE_CHUNK = 1000  # message bodies decrypted, redacted and re-encrypted per round
AUDIT_BATCH_SIZE = 5000  # audit entries deleted per transaction
MAX_BATCHES = 200  # per task invocation, all steps together; then it re-enqueues itself
# Each invocation starts again at step 1 and every step spends at least one
# batch to learn it is done: with fewer batches than steps + 1 a run would never
# get past the first steps.
MIN_BATCHES = 5
FAILURE_BACKOFF = timedelta(hours=1)
INTERRUPTED = "interrupted"  # the error of a run whose holder died
# What a run counts, as RetentionRun fields; batches add to them as they commit.
RUN_COUNTERS = (
    "conversations_deleted",
    "messages_deleted",
    "visitors_deleted",
    "consent_records_deleted",
    "conversations_stripped",
    "messages_redacted",
    "audit_entries_deleted",
)


@dataclass(frozen=True)
class Cutoffs:
    conversation: datetime
    personal_data: datetime
    audit: datetime

    @classmethod
    def for_policy(
        cls,
        *,
        now: datetime,
        conversation_days: int,
        personal_data_days: int,
        audit_days: int,
    ) -> Cutoffs:
        return cls(
            conversation=now - timedelta(days=conversation_days),
            personal_data=now - timedelta(days=personal_data_days),
            audit=now - timedelta(days=audit_days),
        )


def cutoffs_for(*, policy: RetentionPolicy, now: datetime) -> Cutoffs:
    return Cutoffs.for_policy(
        now=now,
        conversation_days=policy.conversation_days,
        personal_data_days=policy.personal_data_days,
        audit_days=policy.audit_days,
    )


@dataclass
class Budget:
    """Batches left in this invocation, what they did, and the run row that records it.

    A batch calls record() inside its transaction (its counts reach the run's
    row in the same commit as its changes) and spend() after the commit (the
    in-memory totals, and the lock's renewal).
    """

    batches_left: int
    counts: Counter = field(default_factory=Counter)
    run_id: int | None = None
    lock: CompanyLock | None = None
    started: float = field(default_factory=time.monotonic)
    keys_checked: bool = False

    def record(self, delta: Counter) -> None:
        """Inside the batch's transaction: add its counts to the run's row (one UPDATE)."""
        changed = {name: delta[name] for name in RUN_COUNTERS if delta[name]}
        if self.run_id is None or not changed:
            return  # a batch that changed nothing needs no record before the summary
        RetentionRun.objects.filter(pk=self.run_id).update(
            batches=F("batches") + 1,
            duration_ms=int((time.monotonic() - self.started) * 1000),
            **{name: F(name) + n for name, n in changed.items()},
        )

    def spend(self, delta: Counter) -> None:
        """After the batch committed: count it, and make sure the run still holds its lock."""
        self.batches_left -= 1
        self.counts["batches"] += 1
        for name in (*RUN_COUNTERS, "legal_holds_deleted"):
            self.counts[name] += delta[name]
        if self.lock is not None:
            self.lock.renew()


def _batch(budget: Budget, work: Callable[[], Counter]) -> Counter:
    """One batch: `work` and its record in one transaction, then the budget."""
    with transaction.atomic():
        counts = work()
        budget.record(counts)
    budget.spend(counts)
    return counts


# --------------------------------------------------------------------------- #
# Querysets shared with the dry-run preview (retention.selectors)
# --------------------------------------------------------------------------- #


def expired_conversations(*, company_id: int, cutoffs: Cutoffs):
    # index conv_company_activity (company_id, last_message_at DESC, id DESC)
    return Conversation.objects.filter(
        company_id=company_id, legal_hold=False, last_message_at__lt=cutoffs.conversation
    )


def strippable_conversations(*, company_id: int, cutoffs: Cutoffs):
    """Unheld conversations that may hold messages at or before the personal-data cutoff
    that have not been through the detector (personal_data_stripped_through below them).

    Never stripped: the last message is that old, or the conversation started
    before the cutoff (a long-running one: its first messages are that old).
    Stripped through T before the cutoff: a message came after T.
    """
    # index conv_company_activity (company_id, last_message_at DESC, id DESC), filtered
    cutoff = cutoffs.personal_data
    never = Q(personal_data_stripped_through__isnull=True) & (
        Q(last_message_at__lte=cutoff) | Q(started_at__lte=cutoff)
    )
    behind = Q(
        personal_data_stripped_through__lt=cutoff,
        last_message_at__gt=F("personal_data_stripped_through"),
    )
    return Conversation.objects.filter(company_id=company_id, legal_hold=False).filter(
        never | behind
    )


def unstripped_messages(*, conversation_ids: list[int], cutoffs: Cutoffs):
    """The messages of these conversations created at or before the personal-data
    cutoff and after their conversation's high-water mark."""
    # index message_conversation_id (conversation_id, id)
    return Message.objects.filter(
        conversation_id__in=conversation_ids, created_at__lte=cutoffs.personal_data
    ).filter(
        Q(conversation__personal_data_stripped_through__isnull=True)
        | Q(created_at__gt=F("conversation__personal_data_stripped_through"))
    )


def expired_visitors(*, company_id: int, cutoffs: Cutoffs):
    has_conversation = Conversation.objects.filter(visitor_id=OuterRef("pk"))
    return Visitor.objects.filter(
        company_id=company_id, last_seen_at__lt=cutoffs.personal_data
    ).exclude(Exists(has_conversation))


def expired_audit_entries(*, company_id: int, cutoffs: Cutoffs):
    # index auditlog_company_time ((additional_data -> 'company_id'), timestamp DESC)
    return audit_entries_for_company(company_id).filter(timestamp__lt=cutoffs.audit)


# --------------------------------------------------------------------------- #
# One batch each: a transaction that selects its ids with LIMIT and acts on them
# --------------------------------------------------------------------------- #


def _relaxed_commit() -> None:
    """Inside a batch on PostgreSQL: do not wait for the WAL flush at commit, check FKs at once.

    Safe because every batch is idempotent: a crash can lose only the last
    batches committed, and the next run deletes those rows again. It saves one
    fsync per batch, which is most of a batch's cost on a busy disk.
    """
    if connection.vendor == "postgresql" and not connection.savepoint_ids:
        # Only when the batch is the outermost transaction: both settings last
        # until its end. Immediate constraints: raw_delete goes children first,
        # and checking each row as it goes is much cheaper than queueing a
        # million deferred checks for the commit.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF; SET CONSTRAINTS ALL IMMEDIATE")


def _delete_conversation_batch(*, company_id: int, cutoffs: Cutoffs, batch_size: int) -> Counter:
    """Inside the batch's transaction: a batch of expired conversations with what hangs on them."""
    deleted = _delete_expired_conversations(
        company_id=company_id, cutoffs=cutoffs, batch_size=batch_size
    )
    return Counter(
        selected=deleted["selected"],
        conversations_deleted=deleted[Conversation._meta.label],
        messages_deleted=deleted[Message._meta.label],
        legal_holds_deleted=deleted["retention.LegalHold"],
        visitors_deleted=deleted[Visitor._meta.label],
        consent_records_deleted=deleted["consent.ConsentRecord"],
    )


def _delete_expired_conversations(*, company_id: int, cutoffs: Cutoffs, batch_size: int) -> Counter:
    """Inside the batch's transaction: select, lock and delete up to batch_size conversations.

    Their messages, contact requests and legal-hold records go with them, and so
    do their visitors once nothing else is left of them. On PostgreSQL this is
    one statement (_conversation_batch_statement); elsewhere raw_delete.
    """
    statement = _conversation_batch_statement() if connection.vendor == "postgresql" else None
    if statement is not None:
        return _delete_rows_in_one_statement(
            statement=statement, company_id=company_id, cutoffs=cutoffs, batch_size=batch_size
        )
    rows = list(
        expired_conversations(company_id=company_id, cutoffs=cutoffs)
        .select_for_update(of=("self",))
        .order_by("last_message_at", "id")
        .values_list("id", "visitor_id")[:batch_size]
    )
    counts = Counter(selected=len(rows))
    if rows:
        _relaxed_commit()
        counts.update(raw_delete(Conversation, where={"id__in": [r[0] for r in rows]}))
        # Their visitors go in the same transaction once nothing else is left of them.
        visitor_ids = list(
            expired_visitors(company_id=company_id, cutoffs=cutoffs)
            .filter(id__in={r[1] for r in rows})
            .select_for_update(of=("self",))
            .values_list("id", flat=True)
        )
        if visitor_ids:
            # Locked and without conversations: none can appear before commit.
            counts.update(
                raw_delete(Visitor, where={"id__in": visitor_ids}, known_empty={Conversation})
            )
    return counts


@dataclass(frozen=True)
class BatchStatement:
    sql: str
    labels: tuple[str, ...]  # what the columns after the first (rows selected) count


@functools.cache
def _conversation_batch_statement() -> BatchStatement | None:
    """PostgreSQL: a whole conversation batch as ONE statement; None if the models need raw_delete.

    The same rows and locks as the portable path, in one round trip instead of a
    dozen: `doomed` selects and locks (FOR UPDATE: a hold placed meanwhile is
    re-checked and the row skipped) the oldest expired, unheld conversations of
    the company, LIMIT without OFFSET; the cascade CTEs delete their messages,
    contact requests and lifted legal-hold records; `gone` locks their visitors
    that are not seen within the personal-data window and have no conversation
    outside this batch, and those go with their consent records. The foreign
    keys are checked when the statement ends (see _relaxed_commit): a visitor
    who got a new conversation meanwhile makes the batch fail and roll back.
    """
    try:
        conversation = cascade_ctes(Conversation, source="doomed", prefix="c")
        visitor = cascade_ctes(
            Visitor, source="gone", prefix="v", known_empty=frozenset({Conversation})
        )
    except NotCompilable:
        return None
    qn = connection.ops.quote_name
    conversations = qn(Conversation._meta.db_table)
    visitors = qn(Visitor._meta.db_table)
    ctes = [
        f"doomed AS (SELECT id, visitor_id FROM {conversations} "
        "WHERE company_id = %(company_id)s AND NOT legal_hold "
        "AND last_message_at < %(conversation_cutoff)s "
        "ORDER BY last_message_at, id LIMIT %(limit)s FOR UPDATE)",
        *conversation.ctes,
        f"conversations AS (DELETE FROM {conversations} WHERE id IN (SELECT id FROM doomed) "
        "AND company_id = %(company_id)s AND NOT legal_hold RETURNING id)",
        f"gone AS (SELECT v.id FROM {visitors} v WHERE v.id IN (SELECT visitor_id FROM doomed) "
        "AND v.company_id = %(company_id)s AND v.last_seen_at < %(personal_data_cutoff)s "
        f"AND NOT EXISTS (SELECT 1 FROM {conversations} o WHERE o.visitor_id = v.id "
        "AND o.id NOT IN (SELECT id FROM doomed)) FOR UPDATE)",
        *visitor.ctes,
        f"visitors AS (DELETE FROM {visitors} WHERE id IN (SELECT id FROM gone) RETURNING id)",
    ]
    counted = {
        **conversation.counted,
        **visitor.counted,
        Conversation._meta.label: ("conversations",),
        Visitor._meta.label: ("visitors",),
    }
    if set(conversation.counted) & set(visitor.counted):
        return None  # one table reached from both sides: count it once, the portable way
    labels = tuple(counted)
    columns = ["(SELECT count(*) FROM doomed)"] + [
        "(" + " + ".join(f"(SELECT count(*) FROM {name})" for name in counted[label]) + ")"
        for label in labels
    ]
    sql = "WITH " + ",\n".join(ctes) + "\nSELECT " + ", ".join(columns)
    return BatchStatement(sql=sql, labels=labels)


def _delete_rows_in_one_statement(
    *, statement: BatchStatement, company_id: int, cutoffs: Cutoffs, batch_size: int
) -> Counter:
    _relaxed_commit()
    with connection.cursor() as cursor:
        cursor.execute(
            statement.sql,
            {
                "company_id": company_id,
                "conversation_cutoff": cutoffs.conversation,
                "personal_data_cutoff": cutoffs.personal_data,
                "limit": batch_size,
            },
        )
        selected, *numbers = cursor.fetchone()
    counts = Counter(selected=selected)
    counts.update({label: n for label, n in zip(statement.labels, numbers, strict=True) if n})
    return counts


def _delete_visitor_batch(
    *, company_id: int, cutoffs: Cutoffs, batch_size: int, after_id: int
) -> Counter:
    """Inside the batch's transaction: visitors left without conversations, after `after_id`."""
    ids = list(
        expired_visitors(company_id=company_id, cutoffs=cutoffs)
        .filter(id__gt=after_id)
        .select_for_update(of=("self",))
        .order_by("id")
        .values_list("id", flat=True)[:batch_size]
    )
    counts = Counter(selected=len(ids), last_id=ids[-1] if ids else after_id)
    if ids:
        _relaxed_commit()
        deleted = raw_delete(Visitor, where={"id__in": ids}, known_empty={Conversation})
        counts["visitors_deleted"] = deleted[Visitor._meta.label]
        counts["consent_records_deleted"] = deleted["consent.ConsentRecord"]
    return counts


def _save_bodies(messages: list[Message]) -> None:
    """Write re-encrypted bodies; bulk_update would encrypt its CASE expression, not the text."""
    body = Message._meta.get_field("body")
    table = connection.ops.quote_name(Message._meta.db_table)
    rows = [(body.get_db_prep_save(m.body, connection), m.redacted_count, m.pk) for m in messages]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET body = %s, redacted_count = %s WHERE id = %s", rows)


def _redact_messages(
    *,
    conversation_ids: list[int],
    cutoffs: Cutoffs,
    region: str,
    languages: dict,
    renew: Callable[[], None],
) -> int:
    """Redact personal data in the messages of these conversations not yet through the
    detector (unstripped_messages); returns the spans replaced.

    A body no configured key decrypts raises UndecryptableValue: the batch rolls
    back and nothing of it is marked stripped.
    """
    replaced = 0
    last_id = 0
    while True:
        chunk = list(
            unstripped_messages(conversation_ids=conversation_ids, cutoffs=cutoffs)
            .filter(id__gt=last_id)
            .order_by("id")
            .only("id", "conversation_id", "body", "redacted_count")[:MESSAGE_CHUNK]
        )
        changed = []
        for message in chunk:
            text, n = redact(
                message.body, region=region, language=languages[message.conversation_id]
            )
            if n:
                message.body = text
                message.redacted_count += n
                replaced += n
                changed.append(message)
        if changed:
            _save_bodies(changed)
        if len(chunk) < MESSAGE_CHUNK:
            return replaced
        last_id = chunk[-1].id
        renew()  # a strip batch can take a while: keep a lease alive between chunks


@disable_auditlog()  # the updates below are the run's work, recorded in its summary
def _strip_batch(
    *, company: Company, cutoffs: Cutoffs, now: datetime, batch_size: int, budget: Budget
) -> Counter:
    """Inside the batch's transaction: strip up to batch_size conversations through the cutoff."""
    rows = list(
        strippable_conversations(company_id=company.pk, cutoffs=cutoffs)
        .select_for_update(of=("self",))
        .order_by("last_message_at", "id")
        .values_list("id", "visitor_id", "inbox__language")[:batch_size]
    )
    counts = Counter(selected=len(rows))
    if not rows:
        return counts
    if not budget.keys_checked:
        # Before the first encrypted value this run reads: keys that do not fit
        # the data are an error, never "nothing to redact".
        encryption_keys_check()
        budget.keys_checked = True
    _relaxed_commit()
    ids = [row[0] for row in rows]
    counts["messages_redacted"] = _redact_messages(
        conversation_ids=ids,
        cutoffs=cutoffs,
        region=company.country,
        languages={row[0]: row[2] for row in rows},
        renew=budget.lock.renew if budget.lock is not None else lambda: None,
    )
    # A visitor keeps their details while a conversation of theirs is inside the
    # window (a message after the cutoff) or held; the last one to be stripped
    # wipes them.
    keeps = Conversation.objects.filter(visitor_id=OuterRef("pk")).filter(
        Q(last_message_at__gt=cutoffs.personal_data) | Q(legal_hold=True)
    )
    counts["visitors_stripped"] = (
        Visitor.objects.filter(company_id=company.pk, id__in={row[1] for row in rows})
        .exclude(Exists(keeps))
        .update(
            name="",
            email="",
            phone="",
            email_index="",
            token_expires_at=Least(F("token_expires_at"), now),
        )
    )
    # Every message up to the cutoff was read and redacted above: only now the mark.
    counts["conversations_stripped"] = Conversation.objects.filter(id__in=ids).update(
        personal_data_stripped_through=cutoffs.personal_data, personal_data_stripped_at=now
    )
    return counts


def _delete_audit_batch(*, company_id: int, cutoffs: Cutoffs, batch_size: int) -> Counter:
    """Inside the batch's transaction: the company's audit entries older than audit_days."""
    ids = list(
        expired_audit_entries(company_id=company_id, cutoffs=cutoffs)
        .order_by()
        .values_list("id", flat=True)[:batch_size]
    )
    counts = Counter(selected=len(ids))
    if ids:
        _relaxed_commit()
        counts["audit_entries_deleted"] = LogEntry.objects.filter(id__in=ids)._raw_delete("default")
    return counts


# --------------------------------------------------------------------------- #
# Steps: batches until a short one (done) or the budget is spent (not done)
# --------------------------------------------------------------------------- #


def purge_expired(
    *,
    company: Company,
    cutoffs: Cutoffs,
    budget: Budget,
    batch_size: int = BATCH_SIZE,
) -> bool:
    """Delete expired, unheld conversations (and what hangs on them), then orphaned visitors."""
    while budget.batches_left > 0:
        counts = _batch(
            budget,
            functools.partial(
                _delete_conversation_batch,
                company_id=company.pk,
                cutoffs=cutoffs,
                batch_size=batch_size,
            ),
        )
        if counts["selected"] < batch_size:
            break
    else:
        return False
    after_id = 0
    while budget.batches_left > 0:
        counts = _batch(
            budget,
            functools.partial(
                _delete_visitor_batch,
                company_id=company.pk,
                cutoffs=cutoffs,
                batch_size=batch_size,
                after_id=after_id,
            ),
        )
        after_id = counts["last_id"]
        if counts["selected"] < batch_size:
            return True
    return False


def strip_personal_data(
    *,
    company: Company,
    cutoffs: Cutoffs,
    now: datetime,
    budget: Budget,
    batch_size: int = STRIP_BATCH_SIZE,
) -> bool:
    """Redact personal data in every message past the personal-data window (per message,
    through each conversation's high-water mark) and wipe contact details of visitors
    with nothing left inside the window."""
    while budget.batches_left > 0:
        counts = _batch(
            budget,
            functools.partial(
                _strip_batch,
                company=company,
                cutoffs=cutoffs,
                now=now,
                batch_size=batch_size,
                budget=budget,
            ),
        )
        if counts["selected"] < batch_size:
            return True
    return False


def purge_audit_entries(
    *, company: Company, cutoffs: Cutoffs, budget: Budget, batch_size: int = AUDIT_BATCH_SIZE
) -> bool:
    """Delete the company's audit entries older than audit_days."""
    while budget.batches_left > 0:
        counts = _batch(
            budget,
            functools.partial(
                _delete_audit_batch, company_id=company.pk, cutoffs=cutoffs, batch_size=batch_size
            ),
        )
        if counts["selected"] < batch_size:
            return True
    return False


# --------------------------------------------------------------------------- #
# The run: lock, summary row, steps, outcome, next run time
# --------------------------------------------------------------------------- #


def _audit_summary(run: RetentionRun) -> None:
    """The run's one audit entry: what auditlog writes for a created summary, final counts."""
    LogEntry.objects.log_create(
        run,
        force_log=True,
        action=LogEntry.Action.CREATE,
        changes=model_instance_diff(
            None, run, use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES
        ),
    )


def _close_interrupted_runs(*, company_id: int) -> int:
    """Close the company's RUNNING runs as FAILED "interrupted", keeping their counts.

    Called with the company's lock held: a run is RUNNING only while its holder
    holds the lock, so every RUNNING row found here belongs to a dead holder.
    """
    closed = 0
    for run in RetentionRun.objects.filter(
        company_id=company_id, outcome=RetentionRun.Outcome.RUNNING
    ):
        run.outcome = RetentionRun.Outcome.FAILED
        run.error = INTERRUPTED
        run.finished_at = run.started_at + timedelta(milliseconds=run.duration_ms)
        with transaction.atomic():
            updated = RetentionRun.objects.filter(
                pk=run.pk, outcome=RetentionRun.Outcome.RUNNING
            ).update(outcome=run.outcome, error=run.error, finished_at=run.finished_at)
            if updated:
                _audit_summary(run)
        closed += updated
        logger.warning(
            "retention run %s of company %s was interrupted after %s batches: %s conversations "
            "and %s messages deleted, %s stripped",
            run.pk,
            company_id,
            run.batches,
            run.conversations_deleted,
            run.messages_deleted,
            run.conversations_stripped,
        )
    return closed


def retention_run(
    *,
    company_id: int,
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> RetentionRun | None:
    """One bounded run of a company's deletion window; None if another run holds the lock.

    Returns the RetentionRun summary: outcome DONE (next_run_at moves to the next
    run_hour), PARTIAL (budget spent; the window stays due, the caller continues)
    or FAILED (the failing batch rolled back; retried after FAILURE_BACKOFF).
    """
    lock = company_lock_acquire(company_id=company_id)
    if lock is None:
        # Debug only: the caller says it (the task's retry, the command's error line).
        logger.debug(
            "retention run of company %s not started: another run holds the lock", company_id
        )
        return None
    try:
        return _run_locked(
            company_id=company_id,
            lock=lock,
            now=now or timezone.now(),
            batch_size=batch_size,
            max_batches=max(MIN_BATCHES, MAX_BATCHES if max_batches is None else max_batches),
        )
    finally:
        lock.release()


def _error_label(exc: Exception) -> str:
    """What the summary says about a failure: the kind, never a value (max 100 characters)."""
    if isinstance(exc, UndecryptableValue):
        return f"UndecryptableValue: {exc.field} cannot be decrypted with the configured keys"[:100]
    if isinstance(exc, EncryptionKeyError):
        return "EncryptionKeyError: the encryption keys do not fit the data"
    if isinstance(exc, LockLost):
        return "LockLost: another run took the company's lock"
    return type(exc).__name__[:100]


def _run_locked(
    *, company_id: int, lock: CompanyLock, now: datetime, batch_size: int | None, max_batches: int
) -> RetentionRun:
    company = Company.objects.get(pk=company_id)
    policy = policy_get_or_create(company=company, now=now)
    cutoffs = cutoffs_for(policy=policy, now=now)
    _close_interrupted_runs(company_id=company.pk)
    run = RetentionRun(
        company=company,
        started_at=now,
        conversation_cutoff=cutoffs.conversation,
        personal_data_cutoff=cutoffs.personal_data,
        audit_cutoff=cutoffs.audit,
        outcome=RetentionRun.Outcome.RUNNING,
    )
    # Written before the first batch, so every batch can add its counts to it;
    # its audit entry comes with its outcome (_audit_summary), not now.
    with disable_auditlog():
        run.save()
    budget = Budget(batches_left=max_batches, run_id=run.pk, lock=lock)
    outcome, error, lock_lost = RetentionRun.Outcome.PARTIAL, "", False
    try:
        done = (
            purge_expired(
                company=company,
                cutoffs=cutoffs,
                budget=budget,
                batch_size=batch_size or BATCH_SIZE,
            )
            and strip_personal_data(
                company=company,
                cutoffs=cutoffs,
                now=now,
                budget=budget,
                batch_size=batch_size or STRIP_BATCH_SIZE,
            )
            and purge_audit_entries(
                company=company,
                cutoffs=cutoffs,
                budget=budget,
                batch_size=batch_size or AUDIT_BATCH_SIZE,
            )
        )
        if done:
            outcome = RetentionRun.Outcome.DONE
    except Exception as exc:  # the failing batch rolled back; record and retry later
        outcome, error = RetentionRun.Outcome.FAILED, _error_label(exc)
        lock_lost = isinstance(exc, LockLost)
        logger.warning(
            "retention run of company %s failed after %s batches: %s",
            company_id,
            budget.counts["batches"],
            error,
        )
    duration = time.monotonic() - budget.started
    counts = budget.counts
    for name in RUN_COUNTERS:
        setattr(run, name, counts[name])
    run.batches = counts["batches"]
    run.duration_ms = int(duration * 1000)
    run.finished_at = now + timedelta(seconds=duration)
    run.outcome = outcome
    run.error = error
    if outcome == RetentionRun.Outcome.DONE:
        next_run = next_run_after(now=now, run_hour=policy.run_hour, tz_name=company.timezone)
    elif outcome == RetentionRun.Outcome.FAILED and not lock_lost:
        next_run = now + FAILURE_BACKOFF
    else:
        # PARTIAL: still due, the task re-enqueues itself (beat catches it otherwise).
        # Lock lost: the run that took it sets the next run time.
        next_run = None
    with transaction.atomic():
        # Conditional: after a lost lease the run that took over may have closed
        # this row as interrupted already (with its entry); that stands.
        if RetentionRun.objects.filter(pk=run.pk, outcome=RetentionRun.Outcome.RUNNING).update(
            **{name: getattr(run, name) for name in RUN_COUNTERS},
            batches=run.batches,
            duration_ms=run.duration_ms,
            finished_at=run.finished_at,
            outcome=run.outcome,
            error=run.error,
        ):
            _audit_summary(run)
        if next_run is not None:
            RetentionPolicy.objects.filter(pk=policy.pk).update(next_run_at=next_run)
    logger.info(
        "retention run %s of company %s: %s, %s batches, %s conversations and %s messages "
        "deleted, %s stripped (%s spans redacted), %s audit entries deleted, %d ms",
        run.pk,
        company_id,
        outcome,
        run.batches,
        run.conversations_deleted,
        run.messages_deleted,
        run.conversations_stripped,
        run.messages_redacted,
        run.audit_entries_deleted,
        run.duration_ms,
    )
    return run
