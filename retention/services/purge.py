"""Retention runs: the steps and the run that strip personal data and purge expired rows.

Reads: retention.selectors (cutoffs: retention.cutoffs); batches: .batches; every
statement that deletes data, written out: .statements; the lock: .lock.

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
from datetime import datetime, timedelta

from auditlog.context import disable_auditlog
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Company
from chatbot_site.lib.crypto import EncryptionKeyError, UndecryptableValue
from retention.cutoffs import Cutoffs, cutoffs_for
from retention.models import RetentionPolicy, RetentionRun
from retention.services.batches import (
    RUN_COUNTERS,
    Budget,
    audit_batch,
    conversation_counts,
    conversations_delete_in_one_statement,
    conversations_delete_statement_by_statement,
    run_batch,
    strip_batch,
    visitor_batch,
)
from retention.services.lock import CompanyLock, LockLost, company_lock_acquire
from retention.services.policy import next_run_after, policy_get_or_create
from retention.services.statements import CONVERSATION_BATCH

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000  # conversations (or visitors) deleted per transaction
STRIP_BATCH_SIZE = 200  # conversations stripped per transaction
AUDIT_BATCH_SIZE = 5000  # audit entries deleted per transaction
MAX_BATCHES = 200  # per task invocation, all steps together; then it re-enqueues itself
# Each invocation starts again at step 1 and every step spends at least one
# batch to learn it is done: with fewer batches than steps + 1 a run would never
# get past the first steps.
MIN_BATCHES = 5
FAILURE_BACKOFF = timedelta(hours=1)
INTERRUPTED = "interrupted"  # the error of a run whose holder died


# A conversation batch: which form of the written-out deletes it takes.
def _conversation_batch_statement() -> str | None:
    """The one-statement form of a conversation batch where the database has it (PostgreSQL)."""
    return CONVERSATION_BATCH if connection.vendor == "postgresql" else None


def _delete_expired_conversations(*, company_id: int, cutoffs: Cutoffs, batch_size: int) -> Counter:
    """Inside the batch's transaction: select, lock and delete up to batch_size conversations.

    Their messages, contact requests and legal-hold records go with them, and so
    do their visitors once nothing else is left of them: one statement on
    PostgreSQL, one statement per table elsewhere (retention.services.statements).
    """
    if _conversation_batch_statement() is not None:
        return conversations_delete_in_one_statement(
            company_id=company_id, cutoffs=cutoffs, batch_size=batch_size
        )
    return conversations_delete_statement_by_statement(
        company_id=company_id, cutoffs=cutoffs, batch_size=batch_size
    )


def _delete_conversation_batch(*, company_id: int, cutoffs: Cutoffs, batch_size: int) -> Counter:
    """Inside the batch's transaction: a batch of expired conversations with what hangs on them."""
    return conversation_counts(
        _delete_expired_conversations(company_id=company_id, cutoffs=cutoffs, batch_size=batch_size)
    )


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
        counts = run_batch(
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
        counts = run_batch(
            budget,
            functools.partial(
                visitor_batch,
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
        counts = run_batch(
            budget,
            functools.partial(
                strip_batch,
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
        counts = run_batch(
            budget,
            functools.partial(
                audit_batch, company_id=company.pk, cutoffs=cutoffs, batch_size=batch_size
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
