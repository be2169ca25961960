"""Reads for the visitor chat: the visitor's current conversation, new messages, FAQ.

Every query is scoped by the visitor's (or inbox's) company and uses an index
that leads with it or with the conversation.
"""

from __future__ import annotations

import time

from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from conversations.models import Conversation, FaqEntry, Inbox, Message, Visitor

MESSAGES_PAGE = 200


def conversation_current_for_visitor(*, visitor: Visitor) -> Conversation | None:
    """The visitor's newest conversation (open or closed), or None."""
    return (
        Conversation.objects.filter(company_id=visitor.company_id, visitor_id=visitor.pk)
        .order_by("-id")
        .first()
    )


def message_list_after(
    *, conversation: Conversation, after_id: int = 0, limit: int = MESSAGES_PAGE
) -> list[Message]:
    """Messages of one conversation with an id above `after_id`, oldest first.

    Uses the index message_conversation_id (conversation_id, id).
    """
    return list(
        Message.objects.filter(
            company_id=conversation.company_id, conversation_id=conversation.pk, id__gt=after_id
        )
        .select_related("author")
        .order_by("id")[:limit]
    )


def faq_entry_list_for_inbox(*, inbox: Inbox) -> list[FaqEntry]:
    """The inbox's FAQ entries (index faq_company_inbox)."""
    return list(
        FaqEntry.objects.filter(company_id=inbox.company_id, inbox_id=inbox.pk).only(
            "id", "questions", "answer", "asks_for_contact"
        )
    )


def visitor_get_for_chat(*, public_key: str, token_hash: str, now) -> Visitor | None:
    """The unexpired visitor with this token hash in the inbox with this key: ONE query.

    Loads the inbox and its company with it (the chat API needs all three on
    every request). The join condition company_id = inbox.company_id lets
    PostgreSQL use the index visitor_company_token (company_id, token_hash)
    after finding the inbox by its unique public key.
    """
    return (
        Visitor.objects.select_related("inbox__company")
        .filter(
            inbox__public_key=public_key,
            company_id=F("inbox__company_id"),
            token_hash=token_hash,
            token_expires_at__gt=now,
        )
        .first()
    )


def conversation_current_get_for_chat(
    *, public_key: str, token_hash: str, now
) -> Conversation | None:
    """The newest conversation of the visitor with this token in this inbox: ONE query.

    Loads the visitor, the inbox and its company with it. None when the token is
    unknown or expired, or when the visitor has no conversation yet. Plan: the
    inbox by its unique key, the visitor by visitor_company_token (company_id,
    token_hash), its conversations by their visitor_id index.
    """
    return (
        Conversation.objects.select_related("visitor", "inbox__company")
        .filter(
            inbox__public_key=public_key,
            company_id=F("inbox__company_id"),
            visitor__company_id=F("inbox__company_id"),
            visitor__token_hash=token_hash,
            visitor__token_expires_at__gt=now,
        )
        .order_by("-id")
        .first()
    )


# FAQ entries change rarely and are read on every bot message: each process
# keeps them for FAQ_CACHE_SECONDS. A save or delete of an entry in this
# process drops its inbox's copy at once (signal receivers below); other
# processes see the change within FAQ_CACHE_SECONDS.
FAQ_CACHE_SECONDS = 10.0
_faq_cache: dict[tuple, tuple[float, list[FaqEntry]]] = {}


def _faq_key(inbox: Inbox) -> tuple:
    # created_at too: a recreated inbox may reuse an id (SQLite), never the pair.
    return (inbox.pk, inbox.created_at)


def faq_entry_list_cached(*, inbox: Inbox) -> list[FaqEntry]:
    """faq_entry_list_for_inbox, remembered per process for up to FAQ_CACHE_SECONDS."""
    now = time.monotonic()
    key = _faq_key(inbox)
    hit = _faq_cache.get(key)
    if hit is not None and now - hit[0] < FAQ_CACHE_SECONDS:
        return hit[1]
    entries = faq_entry_list_for_inbox(inbox=inbox)
    _faq_cache[key] = (now, entries)
    return entries


def faq_cache_clear(*, inbox_id: int | None = None) -> None:
    for key in list(_faq_cache):
        if inbox_id is None or key[0] == inbox_id:
            _faq_cache.pop(key, None)


@receiver(post_save, sender=FaqEntry, dispatch_uid="chat_faq_cache_saved")
@receiver(post_delete, sender=FaqEntry, dispatch_uid="chat_faq_cache_deleted")
def _faq_changed(sender, instance: FaqEntry, **kwargs) -> None:
    faq_cache_clear(inbox_id=instance.inbox_id)
