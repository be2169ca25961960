"""One retention batch each: a transaction that selects its rows with LIMIT, locks them, acts.

Invariant: a batch changes only rows of its own company that the selectors in
retention.selectors select (expired, unheld; strippable), locks them FOR UPDATE
before it changes them, and does all its work and its count on the run's
RetentionRun row in one transaction (run_batch): a worker killed in the middle
leaves the batch fully done or untouched, and every committed batch is counted.
Rows go through the statements written out in retention.services.statements;
updates run with auditlog off. Nothing here logs or returns message text or
personal data.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from auditlog.context import disable_auditlog
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Least

from accounts.models import Company
from chatbot_site.lib.crypto import encryption_keys_check
from chatbot_site.lib.pii import redact
from conversations.models import Conversation, Message, Visitor
from conversations.search import conversations_reindex
from retention.cutoffs import Cutoffs
from retention.models import RetentionRun
from retention.selectors import (
    expired_audit_entries,
    expired_conversations,
    expired_visitors,
    strippable_conversations,
    unstripped_messages,
)
from retention.services.lock import CompanyLock
from retention.services.statements import (
    audit_entries_delete,
    conversation_batch_run,
    conversations_delete,
    visitors_delete,
)

MESSAGE_CHUNK = 1000  # message bodies decrypted, redacted and re-encrypted per round
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


def run_batch(budget: Budget, work: Callable[[], Counter]) -> Counter:
    """One batch: `work` and its record in one transaction, then the budget."""
    with transaction.atomic():
        counts = work()
        budget.record(counts)
    budget.spend(counts)
    return counts


def relaxed_commit() -> None:
    """Inside a batch on PostgreSQL: do not wait for the WAL flush at commit, check FKs at once.

    Safe because every batch is idempotent: a crash can lose only the last
    batches committed, and the next run deletes those rows again. It saves one
    fsync per batch, which is most of a batch's cost on a busy disk.
    """
    if connection.vendor == "postgresql" and not connection.savepoint_ids:
        # Only when the batch is the outermost transaction: both settings last
        # until its end. Immediate constraints: the statements go children
        # first, and checking each row as it goes is much cheaper than queueing
        # a million deferred checks for the commit.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF; SET CONSTRAINTS ALL IMMEDIATE")


# --------------------------------------------------------------------------- #
# Deleting: conversations (with their visitors), visitors, audit entries
# --------------------------------------------------------------------------- #


def conversation_counts(deleted: Counter) -> Counter:
    """A conversation batch's rows deleted per model label, as the run counts them."""
    return Counter(
        selected=deleted["selected"],
        conversations_deleted=deleted["conversations.Conversation"],
        messages_deleted=deleted["conversations.Message"],
        legal_holds_deleted=deleted["retention.LegalHold"],
        visitors_deleted=deleted["conversations.Visitor"],
        consent_records_deleted=deleted["consent.ConsentRecord"],
    )


def conversations_delete_in_one_statement(
    *, company_id: int, cutoffs: Cutoffs, batch_size: int
) -> Counter:
    """PostgreSQL: up to batch_size expired conversations and their visitors, in one
    statement (statements.CONVERSATION_BATCH); rows deleted per model label."""
    relaxed_commit()
    return conversation_batch_run(
        company_id=company_id,
        conversation_cutoff=cutoffs.conversation,
        personal_data_cutoff=cutoffs.personal_data,
        limit=batch_size,
    )


def conversations_delete_statement_by_statement(
    *, company_id: int, cutoffs: Cutoffs, batch_size: int
) -> Counter:
    """Anywhere: the same rows and locks as the one statement, one statement per table."""
    rows = list(
        expired_conversations(company_id=company_id, cutoffs=cutoffs)
        .select_for_update(of=("self",))
        .order_by("last_message_at", "id")
        .values_list("id", "visitor_id")[:batch_size]
    )
    counts = Counter(selected=len(rows))
    if rows:
        relaxed_commit()
        counts.update(conversations_delete(conversation_ids=[r[0] for r in rows]))
        # Their visitors go in the same transaction once nothing else is left of them.
        visitor_ids = list(
            expired_visitors(company_id=company_id, cutoffs=cutoffs)
            .filter(id__in={r[1] for r in rows})
            .select_for_update(of=("self",))
            .values_list("id", flat=True)
        )
        # Locked and without conversations: none can appear before commit.
        counts.update(visitors_delete(visitor_ids=visitor_ids))
    return counts


def visitor_batch(*, company_id: int, cutoffs: Cutoffs, batch_size: int, after_id: int) -> Counter:
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
        relaxed_commit()
        deleted = visitors_delete(visitor_ids=ids)
        counts["visitors_deleted"] = deleted["conversations.Visitor"]
        counts["consent_records_deleted"] = deleted["consent.ConsentRecord"]
    return counts


def audit_batch(*, company_id: int, cutoffs: Cutoffs, batch_size: int) -> Counter:
    """Inside the batch's transaction: the company's audit entries older than audit_days."""
    ids = list(
        expired_audit_entries(company_id=company_id, cutoffs=cutoffs)
        .order_by()
        .values_list("id", flat=True)[:batch_size]
    )
    counts = Counter(selected=len(ids))
    if ids:
        relaxed_commit()
        counts["audit_entries_deleted"] = audit_entries_delete(entry_ids=ids)
    return counts


# --------------------------------------------------------------------------- #
# Stripping personal data
# --------------------------------------------------------------------------- #


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
    changed_conversations: set[int],
) -> int:
    """Redact personal data in the messages of these conversations not yet through the
    detector (unstripped_messages); returns the spans replaced and adds the ids of
    conversations with a changed message to `changed_conversations`.

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
            changed_conversations.update(m.conversation_id for m in changed)
        if len(chunk) < MESSAGE_CHUNK:
            return replaced
        last_id = chunk[-1].id
        renew()  # a strip batch can take a while: keep a lease alive between chunks


@disable_auditlog()  # the updates below are the run's work, recorded in its summary
def strip_batch(
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
    relaxed_commit()
    ids = [row[0] for row in rows]
    changed: set[int] = set()
    counts["messages_redacted"] = _redact_messages(
        conversation_ids=ids,
        cutoffs=cutoffs,
        region=company.country,
        languages={row[0]: row[2] for row in rows},
        renew=budget.lock.renew if budget.lock is not None else lambda: None,
        changed_conversations=changed,
    )
    # The keyed search index follows the stored text: a redacted word is no longer found.
    conversations_reindex(conversation_ids=changed)
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
