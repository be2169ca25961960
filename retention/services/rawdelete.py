"""raw_delete(model, where={"id__in": ids}): the erasure's entry to the written-out deletes.

Invariant: no SQL is generated here; conversations and visitors go through the
statements in retention.services.statements (children first, on_delete rules
written out per table), without loading rows, per-object signals or per-row
audit entries. Any other model is refused.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import models

from conversations.models import Conversation, Visitor
from retention.services.statements import conversations_delete, visitors_delete


def raw_delete(model: type[models.Model], *, where: dict[str, Any]) -> Counter:
    """Delete the `model` rows with these ids and what hangs on them; rows per model label.

    A visitor's conversations go with them (as Django's CASCADE would). Call
    inside a transaction.
    """
    if set(where) != {"id__in"}:
        raise ValueError(f"raw_delete takes where={{'id__in': ids}}, not {sorted(where)}")
    ids = list(where["id__in"])
    if model is Conversation:
        return conversations_delete(conversation_ids=ids)
    if model is Visitor:
        return visitors_delete(visitor_ids=ids, with_conversations=True)
    raise ValueError(f"no written-out delete for {model._meta.label}")
