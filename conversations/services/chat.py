"""The visitor side of a conversation: start or resume, post a message, ask for a person.

Invariants:
- A visitor has at most one open conversation; a closed one takes no messages.
- A visitor's text is stored only after consent.services.message_text_for_storage
  (personal data is redacted without contact consent), and only encrypted
  (Message.body is an EncryptedTextField).
- Text is validated before anything is written; on any error nothing is stored.
- Nothing here logs or audits message text: logs carry ids, counts and durations.
  Visitor and bot messages are inserted with bulk_create, so django-auditlog
  writes no row per chat message (they are not staff actions; operators'
  replies are audited by the console's services).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chatbot_site.lib.db import prepared_cursor
from consent.services import message_text_for_storage
from conversations.models import Conversation, Inbox, Message, Visitor
from conversations.selectors.chat import (  # noqa: F401 (re-exported)
    conversation_current_for_visitor,
    faq_entry_list_cached,
    message_list_after,
)
from conversations.services.bot import bot_decide, handover_text
from conversations.services.visitors import visitor_create, visitor_touch

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 4000
ALLOWED_CONTROL = {"\n", "\t", "\r"}
TOUCH_INTERVAL = timedelta(minutes=1)
OPEN_STATUSES = (
    Conversation.Status.BOT,
    Conversation.Status.WAITING,
    Conversation.Status.OPERATOR,
)


class ChatError(Exception):
    """A visitor request the chat refuses; `code` names it for the API."""

    code = "chat_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidText(ChatError):
    code = "invalid_text"


class ConversationClosed(ChatError):
    code = "conversation_closed"


class NoConversation(ChatError):
    code = "no_conversation"


def chat_text_clean(text: str) -> str:
    """The text to store, trimmed; raises InvalidText with a message a visitor understands.

    Control characters (NUL included) are refused, not stripped: \\n, \\t and \\r
    are the only ones allowed. Lone surrogates (text that is not valid UTF-8) are
    refused as well.
    """
    if not isinstance(text, str):
        raise InvalidText(_("The message must be text."))
    stripped = text.strip()
    if not stripped:
        raise InvalidText(_("Please type a message."))
    if len(stripped) > MAX_TEXT_LENGTH:
        raise InvalidText(
            _("The message is too long: at most %(max)d characters.") % {"max": MAX_TEXT_LENGTH}
        )
    for char in stripped:
        category = unicodedata.category(char)
        if category == "Cc" and char not in ALLOWED_CONTROL:
            raise InvalidText(_("The message contains control characters that are not allowed."))
        if category == "Cs":
            raise InvalidText(_("The message is not valid UTF-8 text."))
    return stripped


@dataclass(frozen=True)
class ChatStart:
    visitor: Visitor
    conversation: Conversation
    token: str | None  # a new visitor's token (shown once); None for a known visitor
    created: bool
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class MessagePosted:
    conversation: Conversation
    message: Message
    replies: list[Message]
    offer_contact_form: bool


def _touch(visitor: Visitor) -> None:
    if timezone.now() - visitor.last_seen_at >= TOUCH_INTERVAL:
        visitor_touch(visitor=visitor)


@transaction.atomic
def conversation_start(
    *, inbox: Inbox, visitor: Visitor | None, start_new: bool = False
) -> ChatStart:
    """Resume the visitor's current conversation, or start one (and a visitor if needed).

    A known visitor gets their open conversation back; a closed one is returned
    as it is (so the page can show it) unless `start_new` asks for a fresh one.
    """
    token = None
    if visitor is None:
        visitor, token = visitor_create(inbox=inbox)
    else:
        _touch(visitor)
        current = conversation_current_for_visitor(visitor=visitor)
        if current is not None and (current.status in OPEN_STATUSES or not start_new):
            return ChatStart(
                visitor=visitor,
                conversation=current,
                token=None,
                created=False,
                messages=message_list_after(conversation=current),
            )
    conversation = Conversation.objects.create(
        company_id=inbox.company_id,
        inbox=inbox,
        visitor=visitor,
        status=Conversation.Status.BOT,
        last_message_at=timezone.now(),
    )
    logger.info("chat.conversation_started conversation=%s inbox=%s", conversation.pk, inbox.pk)
    return ChatStart(visitor=visitor, conversation=conversation, token=token, created=True)


def conversation_require_open(*, conversation: Conversation | None) -> Conversation:
    """The visitor's current conversation if it is open; ChatError if none or closed."""
    if conversation is None:
        raise NoConversation(_("Start a conversation first."))
    if conversation.status == Conversation.Status.CLOSED:
        raise ConversationClosed(
            _("This conversation has been closed. Please start a new conversation.")
        )
    return conversation


def _system_message(conversation: Conversation, text: str, now) -> Message:
    return Message(
        company_id=conversation.company_id,
        conversation=conversation,
        sender=Message.Sender.SYSTEM,
        body=text,
        created_at=now,
    )


def message_post(
    *, inbox: Inbox, visitor: Visitor, conversation: Conversation, text: str
) -> MessagePosted:
    """Store a visitor's message (redacted as consent requires); let the bot answer.

    `text` must have passed chat_text_clean(). The visitor's message and the
    reply are written with the conversation's new status in one statement on
    PostgreSQL (_messages_write), else in one transaction.
    """
    stored, redacted_count = message_text_for_storage(visitor=visitor, text=text)
    now = timezone.now()
    rows = [
        Message(
            company_id=conversation.company_id,
            conversation=conversation,
            sender=Message.Sender.VISITOR,
            body=stored,
            redacted_count=redacted_count,
            created_at=now,
        )
    ]
    status = conversation.status
    offer_contact_form = False
    if status == Conversation.Status.BOT:
        # The bot reads the text as typed, in memory; only `stored` is written.
        decision = bot_decide(text=text, entries=faq_entry_list_cached(inbox=inbox))
        if decision.handover:
            status = Conversation.Status.WAITING
            rows.append(_system_message(conversation, handover_text(language=inbox.language), now))
        else:
            offer_contact_form = decision.offer_contact_form
            rows.append(
                Message(
                    company_id=conversation.company_id,
                    conversation=conversation,
                    sender=Message.Sender.BOT,
                    body=decision.answer,
                    created_at=now,
                )
            )
    _messages_write(rows=rows, conversation=conversation, status=status, now=now)
    _touch(visitor)
    return MessagePosted(
        conversation=conversation,
        message=rows[0],
        replies=rows[1:],
        offer_contact_form=offer_contact_form,
    )


def _messages_write(
    *, rows: list[Message], conversation: Conversation, status: str, now: datetime
) -> None:
    """Insert `rows` and set the conversation's status and last_message_at, all or nothing
    (in the database and on `conversation`).

    On PostgreSQL one statement does it (a data-modifying WITH; a statement is
    atomic on its own, so no BEGIN/COMMIT: one round trip instead of four).
    Like bulk_create, it sends no signals, so auditlog writes no row for chat
    messages (see the module docstring). Elsewhere: bulk_create and update()
    in one transaction.
    """
    connection = connections[Message.objects.db]
    if connection.vendor == "postgresql":
        _messages_write_in_one_statement(
            connection, rows=rows, conversation=conversation, status=status, now=now
        )
    else:
        with transaction.atomic(using=connection.alias):
            Message.objects.bulk_create(rows)
            Conversation.objects.filter(pk=conversation.pk).update(
                last_message_at=now, status=status
            )
    conversation.last_message_at, conversation.status = now, status


def _messages_write_in_one_statement(
    connection, *, rows: list[Message], conversation: Conversation, status: str, now: datetime
) -> None:
    body = Message._meta.get_field("body")
    values, params = [], []
    for row in rows:
        values.append("(%s, %s, %s, %s, %s, %s, %s)")
        params += [
            row.company_id,
            row.conversation_id,
            row.sender,
            row.author_id,
            body.get_db_prep_save(row.body, connection),  # encrypts
            row.redacted_count,
            row.created_at,
        ]
    with prepared_cursor(connection) as cursor:
        cursor.execute(
            "WITH updated AS ("
            " UPDATE conversations_conversation SET last_message_at = %s, status = %s"
            " WHERE id = %s"
            "), inserted AS ("
            " INSERT INTO conversations_message"
            " (company_id, conversation_id, sender, author_id, body, redacted_count, created_at)"
            f" VALUES {', '.join(values)} RETURNING id"
            ") SELECT id FROM inserted ORDER BY id",
            [now, status, conversation.pk, *params],
        )
        # One sequence, rows numbered in VALUES order: ids ascend with `rows`.
        ids = [pk for (pk,) in cursor.fetchall()]
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
        row._state.adding, row._state.db = False, connection.alias


def conversation_handover(*, inbox: Inbox, conversation: Conversation) -> list[Message]:
    """The visitor asks for a person: status "waiting" and a system message.

    Idempotent: a conversation already waiting or with an operator is left as it is.
    """
    if conversation.status != Conversation.Status.BOT:
        return []
    now = timezone.now()
    message = _system_message(conversation, handover_text(language=inbox.language), now)
    _messages_write(
        rows=[message], conversation=conversation, status=Conversation.Status.WAITING, now=now
    )
    logger.info("chat.handover conversation=%s", conversation.pk)
    return [message]
