"""Reads for the visitor chat: the visitor's current conversation, new messages, FAQ.

Every query is scoped by the visitor's (or inbox's) company and uses an index
that leads with it or with the conversation.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Company
from chatbot_site.lib.db import prepared_cursor
from conversations.chat_consent import (
    CONTACT_ACTION_ATTR,
    current_notice_id_sql,
    latest_consent_sql,
)
from conversations.models import Conversation, FaqEntry, Inbox, Message, Visitor

MESSAGES_PAGE = 200
MAX_REPLIES = 5  # a visitor message gets at most one bot or system reply today


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


def conversation_state_get(*, conversation: Conversation) -> Conversation | None:
    """The conversation as it is now in the database (after a lost conditional
    write), or None if it is gone (erased, or deleted by retention)."""
    return (
        Conversation.objects.filter(company_id=conversation.company_id, pk=conversation.pk)
        .select_related("assigned_to")
        .first()
    )


def visitor_exists(*, visitor: Visitor) -> bool:
    """False once the visitor has been erased (or deleted by retention)."""
    return Visitor.objects.filter(company_id=visitor.company_id, pk=visitor.pk).exists()


def visitor_lock(*, visitor: Visitor) -> bool:
    """Lock the visitor's row for this transaction (SELECT ... FOR UPDATE);
    False if it is gone. Waits for an erasure that holds it."""
    return (
        Visitor.objects.select_for_update()
        .filter(company_id=visitor.company_id, pk=visitor.pk)
        .values_list("pk", flat=True)
        .first()
        is not None
    )


def message_get_by_client_key(*, conversation: Conversation, client_key: str) -> Message | None:
    """The visitor message posted with this idempotency key in this conversation, if any.

    Uses the unique index message_client_key (conversation_id, client_key).
    """
    return (
        Message.objects.filter(
            company_id=conversation.company_id,
            conversation_id=conversation.pk,
            client_key=client_key,
        )
        .select_related("author")
        .first()
    )


def message_replies_written_with(*, message: Message) -> list[Message]:
    """The bot's or system's replies written in the same statement as `message`.

    They carry its created_at exactly (one `now` for the whole write) and come
    right after it (index message_conversation_id); an operator's messages and
    later visitor messages are never among them.
    """
    return list(
        Message.objects.filter(
            company_id=message.company_id,
            conversation_id=message.conversation_id,
            id__gt=message.pk,
            created_at=message.created_at,
            sender__in=[Message.Sender.BOT, Message.Sender.SYSTEM],
            author__isnull=True,
        ).order_by("id")[:MAX_REPLIES]
    )


def faq_entry_list_for_inbox(*, inbox: Inbox) -> list[FaqEntry]:
    """The inbox's FAQ entries (index faq_company_inbox)."""
    return list(
        FaqEntry.objects.filter(company_id=inbox.company_id, inbox_id=inbox.pk).only(
            "id", "questions", "answer", "asks_for_contact"
        )
    )


@dataclass
class ChatAuth:
    """What every authenticated chat call needs, from one query (chat_auth_get)."""

    visitor: Visitor  # with .inbox and .company (and .inbox.company) set
    conversation: Conversation | None  # the newest one, open or closed; None if none yet
    # notice_to_accept() would answer "nothing owed" (so the chat skips it);
    # False means it may be owed and the caller asks notice_to_accept().
    notice_settled: bool


# Visitor columns the chat never reads: the encrypted contact details (left
# deferred, so they are not decrypted on every message; reading one queries).
_VISITOR_DEFERRED = frozenset({"name", "email", "phone"})

_AUTH_PARTS = [
    # (model, SQL alias, fields loaded, their attnames)
    (model, alias, fields, [f.attname for f in fields])
    for model, alias, fields in [
        (Conversation, "c", Conversation._meta.concrete_fields),
        (
            Visitor,
            "v",
            [f for f in Visitor._meta.concrete_fields if f.name not in _VISITOR_DEFERRED],
        ),
        (Inbox, "i", Inbox._meta.concrete_fields),
        (Company, "co", Company._meta.concrete_fields),
    ]
]


# Plan on PostgreSQL: the inbox by its unique public_key, the company by its
# pk, the visitor by visitor_company_token (company_id, token_hash), its
# conversations by their visitor_id index (newest first, LIMIT 1); the three
# scalar subqueries by consent_visitor (company_id, visitor_id, purpose) and
# notice_unique_version (company_id, version). The LEFT JOIN keeps a visitor
# who has no conversation yet (the conversation's columns are then NULL).
# The subqueries come from consent (hooks of conversations/chat_consent.py,
# installed in ConsentConfig.ready()), so the statement is built on first use.
@functools.cache
def _auth_sql() -> str:
    # The latest contact-consent action; the current notice's id; the id of the
    # notice the visitor's latest notice consent grants (NULL if it withdraws).
    contact_action = latest_consent_sql(purpose="contact", select="cr.action", visitor="v")
    notice_current_id = current_notice_id_sql(company_id="i.company_id")
    notice_accepted_id = latest_consent_sql(
        purpose="notice",
        select="CASE WHEN cr.action = 'granted' THEN cr.notice_id END",
        visitor="v",
    )
    columns = ", ".join(
        f"{alias}.{f.column}" for _m, alias, fields, _a in _AUTH_PARTS for f in fields
    )
    return f"""
SELECT {columns},
  {contact_action},
  CASE WHEN i.notice_required THEN {notice_current_id} END,
  CASE WHEN i.notice_required THEN {notice_accepted_id} END
FROM conversations_inbox i
JOIN accounts_company co ON co.id = i.company_id
JOIN conversations_visitor v
  ON v.company_id = i.company_id AND v.token_hash = %s AND v.inbox_id = i.id
  AND v.token_expires_at > %s
LEFT JOIN conversations_conversation c ON c.company_id = i.company_id AND c.visitor_id = v.id
WHERE i.public_key = %s
ORDER BY c.id DESC
LIMIT 1
"""


_converters: dict[str, list] = {}


def _row_converters(connection) -> list[tuple[int, list, object]]:
    """The columns that need converting, as Django's compiler would (SQLite's
    datetimes and booleans, for instance; none on PostgreSQL for these models):
    (index, converters, column expression)."""
    key = connection.vendor
    if key not in _converters:
        columns = [
            field.get_col(alias) for _model, alias, fields, _a in _AUTH_PARTS for field in fields
        ]
        _converters[key] = [
            (index, converters, col)
            for index, col in enumerate(columns)
            for converters in [
                connection.ops.get_db_converters(col) + col.field.get_db_converters(connection)
            ]
            if converters
        ]
    return _converters[key]


def chat_auth_get(*, public_key: str, token_hash: str, now) -> ChatAuth | None:
    """The unexpired visitor with this token hash in the inbox with this key: ONE query.

    With the visitor come its inbox, the company, its newest conversation (if
    any), its latest contact-consent action (for consent.selectors.
    visitor_has_contact_consent) and, when the inbox requires the privacy
    notice, whether the visitor has accepted the current one. None when the
    inbox or the token is unknown, or the token expired.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    with prepared_cursor(connection) as cursor:
        cursor.execute(_auth_sql(), [token_hash, now, public_key])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, converters, col in _row_converters(connection):
        for converter in converters:
            values[index] = converter(values[index], col, connection)
    objects = []
    offset = 0
    for model, _alias, _fields, attnames in _AUTH_PARTS:
        part = values[offset : offset + len(attnames)]
        offset += len(attnames)
        objects.append(
            None
            if part[0] is None  # no conversation yet
            else model.from_db(DEFAULT_DB_ALIAS, attnames, part)
        )
    conversation, visitor, inbox, company = objects
    contact_action, notice_id, notice_accepted_id = values[offset:]
    inbox.company = company
    visitor.inbox, visitor.company = inbox, company
    visitor.__dict__[CONTACT_ACTION_ATTR] = contact_action
    if conversation is not None:
        conversation.visitor, conversation.inbox, conversation.company = visitor, inbox, company
    notice_settled = (
        not inbox.notice_required
        or notice_id is None  # nothing published
        or notice_accepted_id == notice_id  # the latest notice consent grants this version
    )
    return ChatAuth(visitor=visitor, conversation=conversation, notice_settled=notice_settled)


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
