"""Pseudonymising the audit entries about an erased visitor, in set-based UPDATEs.

Invariant: after an erasure the entries about the subject (opening, reveal,
export of their conversations, consent events, ...) stay, with actor, time,
action, event and the (redacted) reason, but nothing in them points at the
erased rows or holds personal data:

- object_repr and object_pk become the pseudonym ("erased-subject-<request id>"),
  object_id becomes NULL (the row it named is gone);
- changes keep the names of the changed fields, every value replaced by the
  mask; changes_text and serialized_data are emptied;
- additional_data loses the keys that name the subject's rows (SUBJECT_KEYS)
  and gains "subject": the pseudonym.

One UPDATE per erasure, whatever the number of entries (no per-row Python):
the JSON rewriting is written out per database below (PostgreSQL jsonb,
SQLite JSON1). The pseudonym names only the erasure request; once the visitor
row is gone nothing in the database links it back to them.
"""

from __future__ import annotations

from auditlog.models import LogEntry
from django.db.models import F, Func, JSONField, QuerySet, Value

from chatbot_site.lib.audit import mask_entirely

# Keys of additional_data that name one of the subject's rows (or the visitor's
# conversation reference); everything else is ids of staff, inboxes, counts, labels.
SUBJECT_KEYS = (
    "visitor_id",
    "conversation_id",
    "consent_record_id",
    "contact_request_id",
    "legal_hold_id",
    "message_id",
    "message_ids",
    "reference",
)
MASK = mask_entirely("")


def subject_pseudonym(*, request_id: int) -> str:
    """What the audit log and the receipt call an erased visitor."""
    return f"erased-subject-{request_id}"


class _PseudonymisedData(Func):
    """additional_data without SUBJECT_KEYS, with "subject": the pseudonym."""

    output_field = JSONField()

    def __init__(self, pseudonym: str) -> None:
        super().__init__(F("additional_data"), Value(pseudonym))

    def as_postgresql(self, compiler, connection, **extra):
        column, column_params = compiler.compile(self.source_expressions[0])
        value, value_params = compiler.compile(self.source_expressions[1])
        keys = ", ".join(f"'{key}'" for key in SUBJECT_KEYS)
        sql = (
            f"((COALESCE({column}, '{{}}'::jsonb) - ARRAY[{keys}]::text[]) "
            f"|| jsonb_build_object('subject', ({value})::text))"
        )
        return sql, (*column_params, *value_params)

    def as_sqlite(self, compiler, connection, **extra):
        column, column_params = compiler.compile(self.source_expressions[0])
        value, value_params = compiler.compile(self.source_expressions[1])
        paths = ", ".join(f"'$.\"{key}\"'" for key in SUBJECT_KEYS)
        sql = f"json_set(json_remove(COALESCE({column}, '{{}}'), {paths}), '$.subject', {value})"
        return sql, (*column_params, *value_params)


class _MaskedChanges(Func):
    """changes with each field name kept and its value replaced by the mask."""

    output_field = JSONField()

    def __init__(self) -> None:
        super().__init__(F("changes"))

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"(CASE WHEN jsonb_typeof({column}) = 'object' THEN "
            f"(SELECT COALESCE(jsonb_object_agg(k, to_jsonb(%s::text)), '{{}}'::jsonb) "
            f"FROM jsonb_object_keys({column}) AS k) ELSE NULL END)"
        )
        return sql, (*params, MASK, *params)

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"(CASE WHEN json_type({column}) = 'object' THEN "
            f"(SELECT COALESCE(json_group_object(key, %s), '{{}}') FROM json_each({column})) "
            f"ELSE NULL END)"
        )
        return sql, (*params, MASK, *params)


def audit_entries_pseudonymise(*, entries: QuerySet[LogEntry], pseudonym: str) -> int:
    """Rewrite these entries so they name `pseudonym` and hold no personal data;
    the number rewritten. One UPDATE statement; call inside the erasure's transaction."""
    return entries.order_by().update(
        object_repr=pseudonym,
        object_pk=pseudonym,
        object_id=None,
        changes=_MaskedChanges(),
        changes_text="",
        serialized_data=None,
        additional_data=_PseudonymisedData(pseudonym),
    )
