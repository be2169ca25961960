"""The visitor side of a conversation: start or resume, post a message, ask for a person.

Invariants:
- A visitor has at most one open conversation; a closed one takes no messages.
- A visitor's text is stored only after consent.services.message_text_for_storage
  (reached through conversations/chat_consent.py, the hook consent installs:
  personal data is redacted without contact consent), and only encrypted
  (Message.body is an EncryptedTextField).
- Text is validated before anything is written; on any error nothing is stored.
- Every write is conditional on the status it read (_messages_write): a visitor
  message never sets a status it did not read, the bot answers only while the
  status is still "bot" when the message is written, and a closed conversation
  takes nothing (ConversationClosed). A lost race reads the status again and
  decides anew.
- A message posted with a client_key is stored at most once per conversation
  (unique index message_client_key); a repeat returns the stored message and
  the replies written with it, and writes nothing.
- A visitor erased while a request runs gets VisitorErased (the API's 410), never
  a database error.
- Nothing here logs or audits message text: logs carry ids, counts and durations.
  Visitor and bot messages are inserted without model signals (_messages_write),
  so django-auditlog writes no row per chat message (they are not staff actions;
  operators' replies are audited by the console's services).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from chatbot_site.lib.db import prepared_cursor
from chatbot_site.lib.errors import ServiceError
from conversations.bot import Decision, decide, entry_answer
from conversations.chat_consent import message_text_for_storage
from conversations.events import conversation_changed
from conversations.models import Conversation, Inbox, Message, Visitor
from conversations.search import tokens_for, tokens_write
from conversations.selectors.chat import (  # noqa: F401 (re-exported)
    conversation_current_for_visitor,
    conversation_state_get,
    faq_entry_list_cached,
    message_get_by_client_key,
    message_list_after,
    message_replies_written_with,
    visitor_exists,
    visitor_lock,
)
from conversations.services.bot import handover_text
from conversations.services.visitors import visitor_create, visitor_touch

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 4000
ALLOWED_CONTROL = {"\n", "\t", "\r"}
TOUCH_INTERVAL = timedelta(minutes=1)
# A status moves one way (bot -> waiting -> operator -> closed), so a write
# loses at most three races; past this the request gives up (409).
MAX_WRITE_ATTEMPTS = 5
OPEN_STATUSES = (
    Conversation.Status.BOT,
    Conversation.Status.WAITING,
    Conversation.Status.OPERATOR,
)


class ChatError(ServiceError):
    """A visitor request the chat refuses; `code` names it for the API."""

    code = "chat_error"


class InvalidText(ChatError):
    code = "invalid_text"


class ConversationClosed(ChatError):
    code = "conversation_closed"
    status = 409


class NoConversation(ChatError):
    code = "no_conversation"
    status = 409


class VisitorErased(ChatError):
    """The visitor was erased while the request ran (the token no longer works)."""

    code = "visitor_erased"
    status = 410


class InvalidLanguage(ChatError):
    code = "invalid_language"


class InvalidChoice(ChatError):
    code = "invalid_choice"


class ConversationBusy(ChatError):
    """The status kept changing under a write (MAX_WRITE_ATTEMPTS lost races)."""

    code = "conversation_busy"
    status = 409


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
    repeated: bool = False  # a repeated client_key: nothing was written


def _touch(visitor: Visitor) -> None:
    if timezone.now() - visitor.last_seen_at >= TOUCH_INTERVAL:
        visitor_touch(visitor=visitor)


def chat_languages() -> tuple[str, ...]:
    """The languages the chat speaks (its strings, system messages and bot texts)."""
    return tuple(code for code, _name in settings.LANGUAGES)


def chat_language_choose(*, inbox: Inbox, requested: list[str] | tuple[str, ...] = ()) -> str:
    """The first of `requested` (browser language tags, best first) the chat
    speaks, by primary subtag ("en-US" -> "en"); else the inbox's language."""
    for tag in requested:
        code = _primary_subtag(tag)
        if code in chat_languages():
            return code
    return inbox.language


def _primary_subtag(tag: str) -> str:
    return str(tag).strip().lower().replace("_", "-").split("-")[0]


def conversation_language(*, inbox: Inbox, conversation: Conversation | None) -> str:
    """The language the visitor reads: chosen in the chat, else the inbox's."""
    if conversation is not None and conversation.language in chat_languages():
        return conversation.language
    return inbox.language


def conversation_start(
    *,
    inbox: Inbox,
    visitor: Visitor | None,
    start_new: bool = False,
    language: str | None = None,
) -> ChatStart:
    """Resume the visitor's current conversation, or start one (and a visitor if needed).

    A known visitor gets their open conversation back; a closed one is returned
    as it is (so the page can show it) unless `start_new` asks for a fresh one.
    A new conversation speaks `language` (the browser's, as the page or the
    client sent it) when the chat offers it, else the inbox's language; a
    resumed one keeps the language the visitor chose.
    A visitor erased while this runs gets VisitorErased, not a database error.
    """
    chosen = chat_language_choose(inbox=inbox, requested=[language] if language else [])
    try:
        return _conversation_start(
            inbox=inbox, visitor=visitor, start_new=start_new, language=chosen
        )
    except IntegrityError:
        # A foreign key checked at commit: the visitor went between lock and commit.
        if visitor is not None and not visitor_exists(visitor=visitor):
            raise _erased() from None
        raise


@transaction.atomic
def _conversation_start(
    *, inbox: Inbox, visitor: Visitor | None, start_new: bool, language: str
) -> ChatStart:
    token = None
    if visitor is None:
        visitor, token = visitor_create(inbox=inbox)
    else:
        # Locks the visitor (an erasure running now finishes first, then this
        # finds nothing): no conversation is started for an erased visitor.
        if not visitor_lock(visitor=visitor):
            raise _erased()
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
        language=language,
    )
    logger.info("chat.conversation_started conversation=%s inbox=%s", conversation.pk, inbox.pk)
    conversation_changed(conversation=conversation, what="status")
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


def _state_refresh(*, visitor: Visitor | None, conversation: Conversation) -> None:
    """Load the conversation's current status (after a lost conditional write).

    Raises VisitorErased when the visitor is gone (an erasure ran meanwhile),
    NoConversation when only the conversation is (retention deleted it).
    """
    current = conversation_state_get(conversation=conversation)
    if current is None:
        if visitor is None or not visitor_exists(visitor=visitor):
            raise _erased()
        raise NoConversation(_("Start a conversation first."))
    for name in _STATE_FIELDS:
        setattr(conversation, name, getattr(current, name))


# What a lost conditional write reads again (the bot's state included).
_STATE_FIELDS = (
    "status",
    "assigned_to_id",
    "last_message_at",
    "closed_at",
    "bot_misses",
    "language",
)


def _erased() -> VisitorErased:
    return VisitorErased(
        _("Your data has been erased. Please reload the page to start a new chat.")
    )


def _closed() -> ConversationClosed:
    return ConversationClosed(
        _("This conversation has been closed. Please start a new conversation.")
    )


# At most this many "did you mean" quick replies (plus "talk to a person").
MAX_SUGGESTIONS = 3


def _bot_message(
    conversation: Conversation, text: str, now, *, choices: list[dict] | None = None
) -> Message:
    return Message(
        company_id=conversation.company_id,
        conversation=conversation,
        sender=Message.Sender.BOT,
        body=text,
        created_at=now,
        choices=choices,
    )


def _handover_choice(language: str) -> dict:
    with translation.override(language):
        return {"action": "handover", "label": _("Talk to a person")}


def choice_label(*, inbox: Inbox, entry_id: int) -> str:
    """The text stored as the visitor's message when they click a quick reply:
    the entry's first question variant (FAQ text, never visitor text).

    InvalidChoice when the inbox has no such entry (nothing is stored).
    """
    for entry in faq_entry_list_cached(inbox=inbox):
        if entry.pk == entry_id and entry.question_list:
            return entry.question_list[0]
    raise InvalidChoice(_("This suggestion is no longer available. Please type your question."))


def _bot_decision(
    *, inbox: Inbox, conversation: Conversation, text: str, choice: int | None
) -> Decision:
    language = conversation_language(inbox=inbox, conversation=conversation)
    if inbox.handover_immediately:
        return Decision(kind="handover", language=language)
    if choice is not None:
        return entry_answer(inbox=inbox, entry_id=choice, language=language)
    # The bot reads the text as typed, in memory; only the stored text is written.
    return decide(inbox=inbox, text=text, language=language)


def _bot_reply(
    rows: list[Message], *, decision: Decision, inbox: Inbox, conversation: Conversation, now
) -> tuple[str, int, bool]:
    """Append the bot's reply to `rows` (never none: the bot is never silent) and
    mark the visitor's message (rows[0]) with what the bot did.

    Returns the status, the misses in a row and whether to offer the contact
    form, all worked out from the state read (conversation.bot_misses): the
    write is conditional on that state, so a lost race decides this anew.
    """
    language = conversation_language(inbox=inbox, conversation=conversation)
    outcome = Message.BotOutcome
    bot, waiting = Conversation.Status.BOT, Conversation.Status.WAITING
    if decision.kind in ("answer", "smalltalk") and decision.answer:
        rows[0].bot_outcome = outcome.ANSWERED
        rows.append(_bot_message(conversation, decision.answer, now))
        return bot, 0, decision.offer_contact_form
    if decision.kind == "handover":
        rows.append(_system_message(conversation, handover_text(language=language), now))
        return waiting, 0, False
    if decision.kind == "suggest" and decision.suggestions:
        rows[0].bot_outcome = outcome.SUGGESTED
        choices = [
            {"entry": s.entry_id, "label": s.label} for s in decision.suggestions[:MAX_SUGGESTIONS]
        ]
        with translation.override(language):
            text = _("Did you mean one of these?")
        choices.append(_handover_choice(language))
        rows.append(_bot_message(conversation, text, now, choices=choices))
        return bot, conversation.bot_misses, False
    # Not understood: one more miss in a row; the inbox's limit (0: none) hands over.
    rows[0].bot_outcome = outcome.NOT_UNDERSTOOD
    misses = conversation.bot_misses + 1
    if inbox.bot_miss_limit and misses >= inbox.bot_miss_limit:
        rows.append(_system_message(conversation, handover_text(language=language), now))
        return waiting, 0, False
    with translation.override(language):
        text = _("Sorry, I did not understand. Could you rephrase it? Or talk to a person.")
    rows.append(_bot_message(conversation, text, now, choices=[_handover_choice(language)]))
    return bot, misses, False


def message_post(
    *,
    inbox: Inbox,
    visitor: Visitor,
    conversation: Conversation,
    text: str,
    client_key: str | None = None,
    choice: int | None = None,
) -> MessagePosted:
    """Store a visitor's message (redacted as consent requires); let the bot answer.

    `text` must have passed chat_text_clean(). The write is conditional on the
    status read with the conversation (_messages_write): if it changed
    meanwhile, the status is read again and the message decided anew (with an
    operator or waiting: stored without a bot answer; closed: ConversationClosed,
    nothing stored). The bot answers only if the status is still "bot" when the
    message is written.

    `client_key` makes the post idempotent: if a message with this key is
    already stored in the conversation, it is returned with the replies
    written with it (`repeated=True`) and nothing is written.

    While the status is "bot" the bot always replies (_bot_reply): an answer,
    "did you mean" quick replies, "not understood" (a miss in a row; the
    inbox's bot_miss_limit hands over) or the handover. `choice`: the FAQ
    entry of a clicked quick reply (`text` is then choice_label()): the bot
    answers that entry.
    """
    stored, redacted_count = message_text_for_storage(visitor=visitor, text=text)
    # The keyed search tokens of the stored text, written with the message (conversations.search).
    tokens = tokens_for(company_id=conversation.company_id, text=stored)
    decision = None
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        expected = conversation.status
        if expected == Conversation.Status.CLOSED:
            if client_key:
                repeated = message_posted_by_key(
                    inbox=inbox, conversation=conversation, client_key=client_key
                )
                if repeated is not None:
                    return repeated
            raise _closed()
        now = timezone.now()
        rows = [
            Message(
                company_id=conversation.company_id,
                conversation=conversation,
                sender=Message.Sender.VISITOR,
                body=stored,
                redacted_count=redacted_count,
                created_at=now,
                client_key=client_key,
            )
        ]
        status = expected
        misses = conversation.bot_misses
        offer_contact_form = False
        if expected == Conversation.Status.BOT:
            if decision is None:
                decision = _bot_decision(
                    inbox=inbox, conversation=conversation, text=text, choice=choice
                )
            status, misses, offer_contact_form = _bot_reply(
                rows, decision=decision, inbox=inbox, conversation=conversation, now=now
            )
        if _messages_write(
            rows=rows,
            conversation=conversation,
            expected=expected,
            status=status,
            now=now,
            tokens=tokens,
            misses=(conversation.bot_misses, misses),
        ):
            _touch(visitor)
            conversation_changed(conversation=conversation, what="message", message=rows[0])
            return MessagePosted(
                conversation=conversation,
                message=rows[0],
                replies=rows[1:],
                offer_contact_form=offer_contact_form,
            )
        # Lost: the key was used already, or the status changed since it was read.
        if client_key:
            repeated = message_posted_by_key(
                inbox=inbox, conversation=conversation, client_key=client_key
            )
            if repeated is not None:
                return repeated
        _state_refresh(visitor=visitor, conversation=conversation)
        logger.info(
            "chat.message_post_retry conversation=%s status=%s",
            conversation.pk,
            conversation.status,
        )
    raise ConversationBusy(
        _("The conversation changed while your message was sent. Please send it again.")
    )


def message_posted_by_key(
    *, inbox: Inbox, conversation: Conversation, client_key: str
) -> MessagePosted | None:
    """The answer to a repeated post: the message stored with `client_key` in
    this conversation and the replies written with it, or None if there is none.

    The conversation is read again, so its status is the current one.
    offer_contact_form is worked out again from the bot's reply (the FAQ entry
    whose answer it is).
    """
    message = message_get_by_client_key(conversation=conversation, client_key=client_key)
    if message is None:
        return None
    replies = message_replies_written_with(message=message)
    current = conversation_state_get(conversation=conversation)
    if current is not None:
        for name in _STATE_FIELDS:
            setattr(conversation, name, getattr(current, name))
    bot_answers = {r.body for r in replies if r.sender == Message.Sender.BOT}
    offer = bool(bot_answers) and any(
        entry.asks_for_contact and entry.answer in bot_answers
        for entry in faq_entry_list_cached(inbox=inbox)
    )
    logger.info(
        "chat.message_post_repeated conversation=%s message=%s", conversation.pk, message.pk
    )
    return MessagePosted(
        conversation=conversation,
        message=message,
        replies=replies,
        offer_contact_form=offer,
        repeated=True,
    )


def _messages_write(
    *,
    rows: list[Message],
    conversation: Conversation,
    expected: str,
    status: str,
    now: datetime,
    tokens: list[str] | None = None,
    misses: tuple[int, int] | None = None,
) -> bool:
    """Insert `rows` and set the conversation's status and last_message_at, all or
    nothing (in the database and on `conversation`), if and only if the
    conversation's status is still `expected` and no message of it already has
    rows[0].client_key. Returns whether it wrote. `tokens`: rows[0]'s search
    tokens (conversations.search), inserted with it (those the conversation
    has already are skipped). `misses` (read, new): the bot's misses in a row
    must still be `read` and become `new` (two messages at once never skip
    or double a handover after the inbox's bot_miss_limit).

    On PostgreSQL one statement does it (a data-modifying WITH; a statement is
    atomic on its own, so no BEGIN/COMMIT: one round trip instead of four).
    Like bulk_create, it sends no signals, so auditlog writes no row for chat
    messages (see the module docstring). Elsewhere: a conditional UPDATE, its
    row count checked, and one INSERT, in one transaction.
    """
    connection = connections[Message.objects.db]
    # The visitor starts waiting for a person: the queue's clock starts in the
    # same conditional write (and is kept when an operator takes over).
    starts_waiting = status == Conversation.Status.WAITING and expected != status
    if connection.vendor == "postgresql":
        written = _messages_write_in_one_statement(
            connection,
            rows=rows,
            conversation=conversation,
            expected=expected,
            status=status,
            now=now,
            tokens=tokens or [],
            starts_waiting=starts_waiting,
            misses=misses,
        )
    else:
        written = _messages_write_in_a_transaction(
            connection.alias,
            rows=rows,
            conversation=conversation,
            expected=expected,
            status=status,
            now=now,
            tokens=tokens or [],
            starts_waiting=starts_waiting,
            misses=misses,
        )
    if written:
        conversation.last_message_at, conversation.status = now, status
        if misses is not None:
            conversation.bot_misses = misses[1]
        if starts_waiting:
            conversation.waiting_since = now
    return written


class _KeyTaken(Exception):
    pass


def _messages_write_in_a_transaction(
    alias: str,
    *,
    rows: list[Message],
    conversation: Conversation,
    expected: str,
    status: str,
    now: datetime,
    tokens: list[str],
    starts_waiting: bool = False,
    misses: tuple[int, int] | None = None,
) -> bool:
    try:
        with transaction.atomic(using=alias):
            # The UPDATE comes first: it holds the row (SQLite: the database)
            # until the messages are in, so the status cannot change between.
            waiting = {"waiting_since": now} if starts_waiting else {}
            read_misses, set_misses = {}, {}
            if misses is not None:
                read_misses, set_misses = {"bot_misses": misses[0]}, {"bot_misses": misses[1]}
            matched = Conversation.objects.filter(
                pk=conversation.pk, status=expected, **read_misses
            ).update(last_message_at=now, status=status, **waiting, **set_misses)
            if not matched:
                return False
            try:
                _insert_as_given(rows, alias=alias)
            except IntegrityError as exc:
                if rows[0].client_key is None:
                    raise
                raise _KeyTaken from exc  # rolls the UPDATE back too
            tokens_write(
                company_id=conversation.company_id,
                conversation_id=conversation.pk,
                tokens=tokens,
            )
    except _KeyTaken:
        for row in rows:
            row.pk = None
        return False
    return True


def _insert_as_given(rows: list[Message], *, alias: str) -> None:
    """bulk_create, but created_at as given (one `now` for the whole write, as
    on PostgreSQL; message_replies_written_with relies on it): bulk_create
    would stamp each row anew (auto_now_add). One INSERT, ids returned.
    """
    meta = Message._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    returned = Message.objects._insert(
        rows, fields=fields, returning_fields=meta.db_returning_fields, raw=True, using=alias
    )
    for row, (pk,) in zip(rows, returned, strict=True):
        row.pk = pk
        row._state.adding, row._state.db = False, alias


_MESSAGE_COLUMNS = (
    "company_id",
    "conversation_id",
    "sender",
    "author_id",
    "body",
    "redacted_count",
    "created_at",
    "client_key",
    "bot_outcome",
    "choices",
)
_statements: dict[tuple[int, bool, bool], str] = {}


def _one_statement_sql(
    connection, replies: int, with_tokens: bool = False, with_misses: bool = False
) -> str:
    """The statement for one message and `replies` more (PostgreSQL).

    c:       the conversation, locked, if its status (with_misses: and its
             bot_misses) is still the one read
             (FOR UPDATE waits for a concurrent writer and then checks the
             status of the row as that writer left it);
    first:   the first message, only if c found the row; a repeated
             client_key inserts nothing (ON CONFLICT on message_client_key);
    rest:    the replies, only if the first message was inserted;
    words:   (with_tokens) the first message's search tokens, likewise; one
             array parameter, tokens the conversation has already skipped;
    updated: the conversation's status and last_message_at (and waiting_since
             when it starts waiting; with_misses: bot_misses), likewise.
    Returns the new ids, first message first. No row: nothing was written.
    """
    key = (replies, with_tokens, with_misses)
    if key not in _statements:
        fields = [Message._meta.get_field(name) for name in _MESSAGE_COLUMNS]
        columns = ", ".join(field.column for field in fields)
        typed = {field.attname: f"%s::{field.cast_db_type(connection)}" for field in fields}
        first = ", ".join(
            "c.id" if name == "conversation_id" else typed[name] for name in _MESSAGE_COLUMNS
        )
        rest_names = [name for name in _MESSAGE_COLUMNS if name != "conversation_id"]
        row = "(" + ", ".join(typed[name] for name in rest_names) + ")"
        rest_select = ", ".join(
            "first.conversation_id" if name == "conversation_id" else f"v.{name}"
            for name in _MESSAGE_COLUMNS
        )
        sql = (
            "WITH c AS ("
            " SELECT id FROM conversations_conversation WHERE id = %s AND status = %s"
            f"{' AND bot_misses = %s' if with_misses else ''} FOR UPDATE"
            "), first AS ("
            f" INSERT INTO conversations_message ({columns})"
            f" SELECT {first} FROM c"
            " ON CONFLICT (conversation_id, client_key) WHERE client_key IS NOT NULL DO NOTHING"
            " RETURNING id, conversation_id"
            ")"
        )
        if replies:
            sql += (
                ", rest AS ("
                f" INSERT INTO conversations_message ({columns})"
                f" SELECT {rest_select} FROM first"
                f" CROSS JOIN (VALUES {', '.join([row] * replies)}) AS v({', '.join(rest_names)})"
                " RETURNING id"
                ")"
            )
        if with_tokens:
            sql += (
                ", words AS ("
                " INSERT INTO conversations_searchtoken (company_id, conversation_id, token)"
                " SELECT %s::bigint, first.conversation_id, w"
                " FROM first CROSS JOIN unnest(%s::varchar[]) AS w"
                " ON CONFLICT (conversation_id, token) DO NOTHING"
                ")"
            )
        sql += (
            ", updated AS ("
            " UPDATE conversations_conversation SET last_message_at = %s, status = %s,"
            f"{' bot_misses = %s,' if with_misses else ''}"
            " waiting_since = CASE WHEN %s THEN %s ELSE waiting_since END"
            " WHERE id IN (SELECT conversation_id FROM first)"
            ") SELECT id FROM first"
        )
        if replies:
            sql += " UNION ALL SELECT id FROM rest"
        _statements[key] = sql + " ORDER BY 1"
    return _statements[key]


def _messages_write_in_one_statement(
    connection,
    *,
    rows: list[Message],
    conversation: Conversation,
    expected: str,
    status: str,
    now: datetime,
    tokens: list[str],
    starts_waiting: bool = False,
    misses: tuple[int, int] | None = None,
) -> bool:
    body = Message._meta.get_field("body")
    choices = Message._meta.get_field("choices")

    def values(row: Message, *, with_conversation: bool) -> list:
        return [
            row.company_id,
            *([row.conversation_id] if with_conversation else []),
            row.sender,
            row.author_id,
            body.get_db_prep_save(row.body, connection),  # encrypts
            row.redacted_count,
            row.created_at,
            row.client_key,
            row.bot_outcome,
            choices.get_db_prep_save(row.choices, connection),  # JSON, or NULL
        ]

    first = values(rows[0], with_conversation=False)
    params = [conversation.pk, expected, *([misses[0]] if misses else []), *first]
    for row in rows[1:]:
        params += values(row, with_conversation=False)
    if tokens:
        params += [conversation.company_id, tokens]
    params += [now, status, *([misses[1]] if misses else []), starts_waiting, now]
    with prepared_cursor(connection) as cursor:
        cursor.execute(
            _one_statement_sql(connection, len(rows) - 1, bool(tokens), misses is not None),
            params,
        )
        # One sequence, rows numbered in order: ids ascend with `rows`.
        ids = [pk for (pk,) in cursor.fetchall()]
    if not ids:
        return False
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
        row._state.adding, row._state.db = False, connection.alias
    return True


def conversation_handover(
    *, inbox: Inbox, conversation: Conversation, visitor: Visitor | None = None
) -> list[Message]:
    """The visitor asks for a person: status "waiting" and a system message.

    Conditional on the status "bot" (a concurrent take-over or close wins).
    Idempotent: a conversation already waiting or with an operator is left as
    it is; a closed one raises ConversationClosed.
    """
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        if conversation.status == Conversation.Status.CLOSED:
            raise _closed()
        if conversation.status != Conversation.Status.BOT:
            return []
        now = timezone.now()
        language = conversation_language(inbox=inbox, conversation=conversation)
        message = _system_message(conversation, handover_text(language=language), now)
        if _messages_write(
            rows=[message],
            conversation=conversation,
            expected=Conversation.Status.BOT,
            status=Conversation.Status.WAITING,
            now=now,
        ):
            logger.info("chat.handover conversation=%s", conversation.pk)
            conversation_changed(conversation=conversation, what="status", message=message)
            return [message]
        _state_refresh(visitor=visitor, conversation=conversation)
    raise ConversationBusy(_("The conversation changed meanwhile. Please try again."))


def conversation_language_set(
    *, inbox: Inbox, conversation: Conversation, language: str
) -> Conversation:
    """The visitor switched the chat's language: system messages and bot
    answers follow it from now on (earlier messages stay as they were).

    `language`: a language tag ("en-US" -> "en"). InvalidLanguage (nothing
    changed) for a language the chat does not speak.
    A preference, not a status: a plain UPDATE of this one row.
    """
    language = _primary_subtag(language)
    if language not in chat_languages():
        raise InvalidLanguage(
            _("This language is not available. Choose one of: %(languages)s.")
            % {"languages": ", ".join(chat_languages())}
        )
    updated = Conversation.objects.filter(
        company_id=inbox.company_id, inbox_id=inbox.pk, pk=conversation.pk
    ).update(language=language)
    if not updated:
        raise NoConversation(_("Start a conversation first."))
    conversation.language = language
    logger.info("chat.language_set conversation=%s language=%s", conversation.pk, language)
    return conversation
