"""Every SQL statement with which retention deletes data, written out per table.

Invariant: a row goes only through one of the statements below, children before
parents, following each foreign key's on_delete rule: CASCADE becomes a DELETE of
the child rows, SET_NULL an UPDATE ... SET column = NULL. No per-object signals,
no per-row audit entries (the run's RetentionRun summary, or the erasure
receipt, is the record). Call inside a transaction.

What points at what (tests/retention/test_purge_statement.py compares this with
the models' metadata and fails when a foreign key to a conversation or a
visitor is not covered here):

    conversations_conversation  <- conversations_message.conversation_id   CASCADE
                                <- consent_contactrequest.conversation_id  CASCADE
                                <- retention_legalhold.conversation_id     CASCADE
                                <- conversations_searchtoken.conversation_id CASCADE
    conversations_message       <- consent_contactrequest.message_id       SET_NULL
    conversations_visitor       <- conversations_conversation.visitor_id   CASCADE (conversations go first)
                                <- consent_consentrecord.visitor_id        CASCADE
                                <- retention_erasurerequest.visitor_id     SET_NULL

Two forms of the same deletes:

- CONVERSATION_BATCH (PostgreSQL): one conversation batch of a retention run as
  ONE statement, one round trip instead of a dozen. `doomed` selects and locks
  (FOR UPDATE: a hold placed meanwhile is re-checked and the row skipped) the
  oldest expired, unheld conversations of the company, LIMIT without OFFSET;
  then their messages, contact requests and legal-hold records go, and the
  conversations (hold re-checked once more). `gone` locks their visitors that
  are not seen within the personal-data window and have no conversation outside
  this batch; those go with their consent records. All CTEs see one snapshot
  and the foreign keys are checked when the statement ends (with SET
  CONSTRAINTS ALL IMMEDIATE, see batches.relaxed_commit), so a visitor who got
  a new conversation meanwhile makes the batch fail and roll back. Two CTEs
  never modify one row: the SET NULL of contact requests skips the ones deleted.
- The portable statements (SQLite, and PostgreSQL when told to): the same
  tables in the same order, one statement each, for a list of ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.db import connection

# --------------------------------------------------------------------------- #
# PostgreSQL: a whole conversation batch in one statement
# --------------------------------------------------------------------------- #

CONVERSATION_BATCH = """WITH doomed AS (
    SELECT id, visitor_id FROM conversations_conversation
    WHERE company_id = %(company_id)s AND NOT legal_hold
        AND last_message_at < %(conversation_cutoff)s
    ORDER BY last_message_at, id LIMIT %(limit)s FOR UPDATE
),
messages AS (
    DELETE FROM conversations_message WHERE conversation_id IN (SELECT id FROM doomed)
    RETURNING id
),
contact_requests AS (
    DELETE FROM consent_contactrequest WHERE conversation_id IN (SELECT id FROM doomed)
    RETURNING id
),
legal_holds AS (
    DELETE FROM retention_legalhold WHERE conversation_id IN (SELECT id FROM doomed)
    RETURNING id
),
search_tokens AS (
    DELETE FROM conversations_searchtoken WHERE conversation_id IN (SELECT id FROM doomed)
    RETURNING id
),
contact_request_messages AS (
    UPDATE consent_contactrequest SET message_id = NULL
    WHERE message_id IN (SELECT id FROM messages)
        AND id NOT IN (SELECT id FROM contact_requests)
    RETURNING id
),
conversations AS (
    DELETE FROM conversations_conversation WHERE id IN (SELECT id FROM doomed)
        AND company_id = %(company_id)s AND NOT legal_hold
    RETURNING id
),
gone AS (
    SELECT v.id FROM conversations_visitor v
    WHERE v.id IN (SELECT visitor_id FROM doomed) AND v.company_id = %(company_id)s
        AND v.last_seen_at < %(personal_data_cutoff)s
        AND NOT EXISTS (
            SELECT 1 FROM conversations_conversation o
            WHERE o.visitor_id = v.id AND o.id NOT IN (SELECT id FROM doomed)
        )
    FOR UPDATE
),
consent_records AS (
    DELETE FROM consent_consentrecord WHERE visitor_id IN (SELECT id FROM gone)
    RETURNING id
),
erasure_requests AS (
    UPDATE retention_erasurerequest SET visitor_id = NULL
    WHERE visitor_id IN (SELECT id FROM gone)
    RETURNING id
),
visitors AS (
    DELETE FROM conversations_visitor WHERE id IN (SELECT id FROM gone)
    RETURNING id
)
SELECT
    (SELECT count(*) FROM doomed),
    (SELECT count(*) FROM conversations),
    (SELECT count(*) FROM messages),
    (SELECT count(*) FROM contact_requests),
    (SELECT count(*) FROM legal_holds),
    (SELECT count(*) FROM search_tokens),
    (SELECT count(*) FROM visitors),
    (SELECT count(*) FROM consent_records)"""

# What the columns of CONVERSATION_BATCH count, after the first (rows selected).
CONVERSATION_BATCH_COUNTS = (
    "conversations.Conversation",
    "conversations.Message",
    "consent.ContactRequest",
    "retention.LegalHold",
    "conversations.SearchToken",
    "conversations.Visitor",
    "consent.ConsentRecord",
)


def conversation_batch_run(
    *, company_id: int, conversation_cutoff: Any, personal_data_cutoff: Any, limit: int
) -> Counter:
    """PostgreSQL: run CONVERSATION_BATCH; rows deleted per model label, and `selected`."""
    with connection.cursor() as cursor:
        cursor.execute(
            CONVERSATION_BATCH,
            {
                "company_id": company_id,
                "conversation_cutoff": conversation_cutoff,
                "personal_data_cutoff": personal_data_cutoff,
                "limit": limit,
            },
        )
        selected, *numbers = cursor.fetchone()
    counts = Counter(selected=selected)
    counts.update(
        {label: n for label, n in zip(CONVERSATION_BATCH_COUNTS, numbers, strict=True) if n}
    )
    return counts


# --------------------------------------------------------------------------- #
# Portable: one statement per table for a list of ids, children first
# --------------------------------------------------------------------------- #

# (model label counted, or None for an update, SQL); {ids} is the id list's placeholders.
CONVERSATION_DELETES: tuple[tuple[str | None, str], ...] = (
    (
        None,
        "UPDATE consent_contactrequest SET message_id = NULL WHERE message_id IN "
        "(SELECT id FROM conversations_message WHERE conversation_id IN ({ids}))",
    ),
    (
        "conversations.Message",
        "DELETE FROM conversations_message WHERE conversation_id IN ({ids})",
    ),
    (
        "consent.ContactRequest",
        "DELETE FROM consent_contactrequest WHERE conversation_id IN ({ids})",
    ),
    ("retention.LegalHold", "DELETE FROM retention_legalhold WHERE conversation_id IN ({ids})"),
    (
        "conversations.SearchToken",
        "DELETE FROM conversations_searchtoken WHERE conversation_id IN ({ids})",
    ),
    ("conversations.Conversation", "DELETE FROM conversations_conversation WHERE id IN ({ids})"),
)

# Visitors without conversations (the caller deleted or proved away the conversations).
VISITOR_DELETES: tuple[tuple[str | None, str], ...] = (
    ("consent.ConsentRecord", "DELETE FROM consent_consentrecord WHERE visitor_id IN ({ids})"),
    (None, "UPDATE retention_erasurerequest SET visitor_id = NULL WHERE visitor_id IN ({ids})"),
    ("conversations.Visitor", "DELETE FROM conversations_visitor WHERE id IN ({ids})"),
)

VISITOR_CONVERSATIONS = "SELECT id FROM conversations_conversation WHERE visitor_id IN ({ids})"

AUDIT_ENTRIES_DELETE = "DELETE FROM auditlog_logentry WHERE id IN ({ids})"


def _execute(statements: tuple[tuple[str | None, str], ...], ids: Sequence[int]) -> Counter:
    counts: Counter = Counter()
    if not ids:
        return counts
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        for label, sql in statements:
            cursor.execute(sql.format(ids=placeholders), list(ids))
            if label is not None:
                counts[label] += cursor.rowcount
    return counts


def conversations_delete(*, conversation_ids: Sequence[int]) -> Counter:
    """Delete these conversations with their messages, contact requests and legal-hold
    records; rows deleted per model label."""
    return _execute(CONVERSATION_DELETES, conversation_ids)


def visitors_delete(*, visitor_ids: Sequence[int], with_conversations: bool = False) -> Counter:
    """Delete these visitors with their consent records (erasure requests keep their
    row, without the visitor); rows deleted per model label.

    with_conversations: first delete any conversation of theirs (conversations_delete);
    without it a visitor who still has one fails the foreign-key check.
    """
    counts: Counter = Counter()
    if with_conversations and visitor_ids:
        placeholders = ", ".join(["%s"] * len(visitor_ids))
        with connection.cursor() as cursor:
            cursor.execute(VISITOR_CONVERSATIONS.format(ids=placeholders), list(visitor_ids))
            conversation_ids = [row[0] for row in cursor.fetchall()]
        counts.update(conversations_delete(conversation_ids=conversation_ids))
    counts.update(_execute(VISITOR_DELETES, visitor_ids))
    return counts


def audit_entries_delete(*, entry_ids: Sequence[int]) -> int:
    """Delete these audit entries (nothing points at them); the number deleted."""
    return _execute((("auditlog.LogEntry", AUDIT_ENTRIES_DELETE),), entry_ids)["auditlog.LogEntry"]
