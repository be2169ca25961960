"""The visitor chat API: /api/chat/{public_key}/...

- GET  /chat/{key}/config          public: name, greeting, language, notice, resume switch,
                                   the chat's strings (?language=de|en picks them)
- POST /chat/{key}/conversations   start (or, with a valid token, resume) a conversation
                                   (a new one speaks {"language"} when the chat offers it)
- POST /chat/{key}/messages        post a message, or {"choice": {"entry": id}} for a
                                   clicked quick reply; the bot answers in the same response
                                   (idempotent with a client_key; 409 closed, 410 erased)
- GET  /chat/{key}/messages        new messages since ?after=<id>, and the status
- POST /chat/{key}/handover        "talk to a person"
- POST /chat/{key}/language        switch the conversation's language (returns the strings)

Visitors authenticate with `Authorization: Bearer <token>` (the token returned by
POST /conversations; the server stores only its hash). Errors are JSON
{"error": code, "message": text}; nothing is stored when a request is refused.
Rate limits answer 429 with Retry-After. Nothing here reads or stores the
client's address, user agent or referrer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import Body, Field, Query, Router, Schema, Status
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer
from pydantic import model_validator

from chatbot_site.lib.crypto import hash_token
from chatbot_site.lib.errors import ServiceError
from chatbot_site.lib.ratelimit import Counter, client_ident, rate_limit_check
from conversations.api_auth import bearer_token, inbox_or_404, visitor_or_401, visitor_or_none
from conversations.chat_consent import notice_current, notice_require, notice_to_accept
from conversations.models import Conversation, Inbox, Message, Visitor
from conversations.selectors.chat import chat_auth_get, message_list_after
from conversations.services import chat as chat_services
from conversations.services.chat import MAX_TEXT_LENGTH

router = Router(tags=["chat"])


# --- rate limits ----------------------------------------------------------
# Per minute, from settings (read once from HAFEN_RATE_*; 0 switches one off).
# Counted most specific first; a refused request counts against nothing broader,
# so no client can use up the inbox-wide budget that everyone shares:
#   conversation (messages) / polls / self-service -> visitor -> client (public
#   calls, then all calls) -> inbox.
# The client is a keyed hash of its address with a daily salt, kept only as a
# cache key for a minute (chatbot_site/lib/ratelimit.py); nothing here stores
# or logs an address.


def rate_setting(name: str, default: int) -> int:
    """A per-minute limit from settings (HAFEN_RATE_*, see settings.py); 0 = off."""
    return int(getattr(settings, name, default))


def _counter(scope: str, ident: object, setting: str, default: int) -> Counter:
    return Counter(scope, str(ident), rate_setting(setting, default))


def _limit(*counters: Counter) -> None:
    retry_after = rate_limit_check(counters, window=60)
    if retry_after:
        raise ServiceError(
            _("Too many requests. Please wait %(seconds)d seconds and try again.")
            % {"seconds": retry_after},
            code="rate_limited",
            status=429,
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
        )


def _client_counters(request: HttpRequest, inbox: Inbox, *, public: bool) -> list[Counter]:
    client = client_ident(request)
    counters = []
    if public:
        counters.append(
            _counter("client-public", client, "HAFEN_RATE_CLIENT_PUBLIC_PER_MINUTE", 120)
        )
    counters.append(_counter("client", client, "HAFEN_RATE_CLIENT_PER_MINUTE", 1200))
    counters.append(_counter("inbox", inbox.pk, "HAFEN_RATE_INBOX_PER_MINUTE", 100_000))
    return counters


def _visitor_counter(visitor: Visitor) -> Counter:
    return _counter("visitor", visitor.pk, "HAFEN_RATE_VISITOR_PER_MINUTE", 240)


def limit_public(request: HttpRequest, inbox: Inbox) -> None:
    """A call that needs no visitor token (config, notice, start, accept, decline).

    Per client: HAFEN_RATE_CLIENT_PUBLIC_PER_MINUTE (120) and _CLIENT_ (1200); the inbox.
    """
    _limit(*_client_counters(request, inbox, public=True))


def limit_client(request: HttpRequest, inbox: Inbox) -> None:
    """A call that presents a visitor token, before the token is checked: client and inbox."""
    _limit(*_client_counters(request, inbox, public=False))


def limit_visitor(request: HttpRequest, visitor: Visitor) -> None:
    """A call of a known visitor: HAFEN_RATE_VISITOR_PER_MINUTE (240), then client and inbox."""
    _limit(_visitor_counter(visitor), *_client_counters(request, visitor.inbox, public=False))


def limit_visitor_only(visitor: Visitor) -> None:
    """The visitor's own budget, for a call already counted by limit_client()."""
    _limit(_visitor_counter(visitor))


def limit_conversation(conversation: Conversation) -> None:
    """Messages per conversation: HAFEN_RATE_CONVERSATION_PER_MINUTE (default 20)."""
    _limit(
        _counter("conversation", conversation.reference, "HAFEN_RATE_CONVERSATION_PER_MINUTE", 20)
    )


def limit_polls(visitor: Visitor) -> None:
    """Polls per visitor: HAFEN_RATE_POLLS_PER_MINUTE (default 120, the page polls every 2 s)."""
    _limit(_counter("poll", visitor.pk, "HAFEN_RATE_POLLS_PER_MINUTE", 120))


def limit_self_service(visitor: Visitor) -> None:
    """Erase and export per visitor: HAFEN_RATE_SELF_SERVICE_PER_MINUTE (default 5)."""
    _limit(_counter("self-service", visitor.pk, "HAFEN_RATE_SELF_SERVICE_PER_MINUTE", 5))


# --- authentication -------------------------------------------------------


class VisitorToken(HttpBearer):
    """Bearer token of a visitor of the inbox in the path: 404 unknown inbox, 401 bad token."""

    def __call__(self, request: HttpRequest) -> Visitor:
        public_key = request.resolver_match.kwargs.get("public_key", "")
        token = bearer_token(request)
        # The hot path: one query finds the visitor with its inbox, company,
        # newest conversation and consent state; a refusal takes a second one
        # (an unknown inbox is 404, a bad token 401).
        auth = (
            chat_auth_get(public_key=public_key, token_hash=hash_token(token), now=timezone.now())
            if token
            else None
        )
        if auth is None:
            inbox = inbox_or_404(public_key)
            limit_client(request, inbox)
            visitor_or_401(request, inbox=inbox)  # raises
        visitor = auth.visitor
        limit_visitor(request, visitor)
        request.chat_inbox = visitor.inbox
        request.chat_conversation = auth.conversation
        request.chat_notice_settled = auth.notice_settled
        return visitor

    def authenticate(self, request: HttpRequest, token: str) -> Visitor | None:  # pragma: no cover
        return None  # __call__ does the work; required by the abstract base


visitor_auth = VisitorToken()


def _notice_gate(inbox: Inbox, visitor: Visitor | None, *, settled: bool = False) -> None:
    """403 notice_required while the visitor owes the inbox's privacy notice.

    `settled`: the visitor_auth lookup already found nothing owed (no query).
    """
    if not settled:
        notice_require(inbox=inbox, visitor=visitor)


# --- schemas --------------------------------------------------------------


# Component names are global in the OpenAPI document: every Schema class of the
# API modules (conversations, consent, retention) has a name of its own.


class ErrorOut(Schema):
    error: str = Field(description="A machine-readable code, e.g. invalid_text.")
    message: str = Field(description="A human-readable explanation.")


class NoticeRequiredOut(ErrorOut):
    notice_version: int = Field(description="The version of the notice to accept.")


class RateLimitedOut(ErrorOut):
    error: Literal["rate_limited"]
    retry_after: int = Field(ge=1, description="Seconds to wait (also in the Retry-After header).")


class ChatNoticeOut(Schema):
    version: int
    title: str
    text: str


class ConfigOut(Schema):
    name: str
    greeting: str
    language: str = Field(
        description=(
            "The language of `strings`: ?language= when the chat offers it, else the inbox's."
        )
    )
    languages: list[str] = Field(description="The languages the chat offers, e.g. de, en.")
    strings: dict[str, str] = Field(description="The chat page's texts in `language`.")
    resume_enabled: bool
    token_ttl_days: int
    notice_required: bool = Field(
        description="True when a visitor must accept `notice` before chatting."
    )
    notice: ChatNoticeOut | None = Field(
        description="The current published privacy notice, if any."
    )
    transparency_url: str


class ConversationOut(Schema):
    reference: str
    status: Conversation.Status
    language: str = Field(
        description="The language the bot and the system messages use for the visitor."
    )
    started_at: datetime
    last_message_at: datetime
    closed_at: datetime | None


class ChoiceOut(Schema):
    entry: int | None = Field(
        None, description='A FAQ entry: send {"choice": {"entry": <id>}} to get its answer.'
    )
    action: Literal["handover"] | None = Field(
        None, description="handover: ask for a person (POST /handover)."
    )
    label: str = Field(description="The button's text (FAQ text, never visitor text).")


class MessageOut(Schema):
    id: int
    sender: Message.Sender
    author_name: str | None = Field(
        description="An operator's first name (never a username or address), else null."
    )
    body: str
    redacted_count: int = Field(
        description="How many pieces of personal data were removed before storing."
    )
    created_at: datetime
    choices: list[ChoiceOut] | None = Field(
        description=(
            'Quick replies a bot message offers ("did you mean", "talk to a person"), else null.'
        )
    )


LANGUAGE_DESCRIPTION = (
    "A browser language tag (e.g. en-US, de); its primary subtag picks one of the chat's "
    "languages (de, en)."
)


class StartIn(Schema):
    new: bool = Field(False, description="Start a new conversation when the current one is closed.")
    language: str | None = Field(
        None,
        max_length=35,
        description=(
            f"{LANGUAGE_DESCRIPTION} A new conversation speaks it when the chat offers it, "
            "else the inbox's language; a resumed one keeps its language."
        ),
    )


class StartOut(Schema):
    token: str = Field(description="The visitor's bearer token; keep it to resume.")
    resumed: bool
    conversation: ConversationOut
    messages: list[MessageOut]


CLIENT_KEY_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"

# What chat_text_clean() accepts, for the document only (the service checks it
# and answers 400 invalid_text, not the 422 a schema check would give): after
# trimming surrounding whitespace 1 to 4000 characters, first and last not
# whitespace, no control character but \n, \t, \r, no lone surrogate.
_NOT_ALLOWED = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
TEXT_PATTERN = (
    rf"^\s*[^\s{_NOT_ALLOWED}](?:[^{_NOT_ALLOWED}]{{0,{MAX_TEXT_LENGTH - 2}}}"
    rf"[^\s{_NOT_ALLOWED}])?\s*$"
)


class ChoiceIn(Schema):
    entry: int = Field(description="The `entry` of a quick reply the bot offered.")


class MessageIn(Schema):
    text: str | None = Field(
        None,
        description=(
            "1 to 4000 characters once surrounding whitespace is trimmed; no control "
            "characters but \\n, \\t, \\r. Refused with 400 invalid_text. Required "
            "unless `choice` is sent."
        ),
        json_schema_extra={"minLength": 1, "pattern": TEXT_PATTERN},
    )
    choice: ChoiceIn | None = Field(
        None,
        description=(
            "A clicked quick reply: the bot answers this FAQ entry, and the entry's "
            "question (not `text`) is stored as the visitor's message. 400 invalid_choice "
            "when the inbox has no such entry."
        ),
    )
    client_key: str | None = Field(
        None,
        pattern=CLIENT_KEY_PATTERN,
        description=(
            "Idempotency key, chosen by the client for each new message (e.g. a random "
            "UUID) and sent again unchanged when the same message is retried. A repeat "
            "in the same conversation writes nothing and returns the stored message "
            "with the replies written with it (200, the same body as the first answer; "
            "the text sent with the repeat is ignored), also once the conversation "
            "has been closed."
        ),
    )

    @model_validator(mode="after")
    def _text_or_choice(self):
        if self.text is None and self.choice is None:
            raise ValueError("Send `text`, or `choice` for a quick reply.")
        return self


class MessagePostOut(Schema):
    conversation: ConversationOut
    message: MessageOut
    replies: list[MessageOut] = Field(description="The bot's answer or a system message.")
    redacted_count: int
    offer_contact_form: bool = Field(
        description="The bot's answer invites the visitor to leave contact details."
    )


class MessagesOut(Schema):
    conversation: ConversationOut
    messages: list[MessageOut]


class HandoverOut(Schema):
    conversation: ConversationOut
    messages: list[MessageOut]


class LanguageIn(Schema):
    language: str = Field(max_length=35, description=LANGUAGE_DESCRIPTION)


class LanguageOut(Schema):
    conversation: ConversationOut
    strings: dict[str, str] = Field(description="The chat page's texts in the new language.")


def message_out(message: Message) -> dict:
    author = message.author if message.author_id else None
    return {
        "id": message.pk,
        "sender": message.sender,
        "author_name": (author.first_name or None) if author is not None else None,
        "body": message.body,
        "redacted_count": message.redacted_count,
        "created_at": message.created_at,
        "choices": message.choices or None,
    }


def conversation_out(conversation: Conversation) -> dict:
    return {
        "reference": conversation.reference,
        "status": conversation.status,
        # Set on every conversation started since issue 14 (no query for the inbox then).
        "language": conversation.language
        if conversation.language in chat_services.chat_languages()
        else conversation.inbox.language,
        "started_at": conversation.started_at,
        "last_message_at": conversation.last_message_at,
        "closed_at": conversation.closed_at,
    }


def posted_out(posted: chat_services.MessagePosted) -> dict:
    """The body of a posted message; a repeated client_key gets the same shape."""
    return {
        "conversation": conversation_out(posted.conversation),
        "message": message_out(posted.message),
        "replies": [message_out(m) for m in posted.replies],
        "redacted_count": posted.message.redacted_count,
        "offer_contact_form": posted.offer_contact_form,
    }


_JSON = JSONRenderer()  # what ninja renders responses with (NinjaAPI's default renderer)


def ok_response(request: HttpRequest, body: dict) -> HttpResponse:
    """A 200 with `body` as JSON, rendered as ninja renders a validated response.

    For the hot endpoints (post a message, poll): their bodies are built here
    from model fields by conversation_out() and message_out(), so ninja's
    validation of them against the response schema on every call (about
    0.07 ms) is skipped; the schemas still document them, and
    test_chat_api checks the bodies against the schemas.
    """
    return HttpResponse(
        _JSON.render(request, body, response_status=200),
        content_type=f"{_JSON.media_type}; charset={_JSON.charset}",
    )


def transparency_url(inbox: Inbox) -> str:
    return f"/privacy/{inbox.company.slug}/"


def chat_strings(*, language: str) -> dict[str, str]:
    """The chat page's texts for chat.js, in `language` (the page renders with
    them and swaps them in place when the visitor switches the language)."""
    with translation.override(language):
        return {
            "you": _("You"),
            "bot": _("Bot"),
            "operator": _("Operator"),
            "system": _("Notice"),
            "send": _("Send"),
            "sending": _("Sending…"),
            "talkToPerson": _("Talk to a person"),
            "handedOver": _("A person will take over this conversation."),
            "closed": _("This conversation has been closed."),
            "startNew": _("Start a new conversation"),
            "redacted": _(
                "We removed personal data from your message because you have not "
                "consented to store it."
            ),
            "error": _("Something went wrong. Please try again."),
            "offline": _("The connection was lost. Retrying…"),
            "noticeRequired": _("Please read and accept the privacy notice before chatting."),
            "tooLong": _("The message is too long: at most 4000 characters."),
            "empty": _("Please type a message."),
            "close": _("Close chat"),
            "operatorTyping": _("An operator is typing…"),
            "chat": _("Chat"),
            "privacy": _("Privacy"),
            "conversation": _("Conversation"),
            "yourMessage": _("Your message"),
            "hint": _("Press Enter to send, Shift+Enter for a new line."),
            "reference": _(
                "Your conversation reference (quote it when you ask us about your data):"
            ),
            "language": _("Chat language"),
            "suggestions": _("Suggested answers"),
        }


def chat_config(*, inbox: Inbox, language: str | None = None) -> dict:
    """The public configuration of an inbox (also embedded in the chat page),
    its strings in `language` if the chat offers it, else in the inbox's."""
    language = chat_services.chat_language_choose(
        inbox=inbox, requested=[language] if language else []
    )
    owed = notice_to_accept(inbox=inbox, visitor=None)
    notice = owed or notice_current(company_id=inbox.company_id)
    return {
        "name": inbox.name,
        "greeting": inbox.greeting,
        "language": language,
        "languages": list(chat_services.chat_languages()),
        "strings": chat_strings(language=language),
        "resume_enabled": inbox.resume_enabled,
        "token_ttl_days": inbox.token_ttl_days,
        "notice_required": owed is not None,
        "notice": (
            {"version": notice.version, "title": notice.title, "text": notice.text}
            if notice is not None
            else None
        ),
        "transparency_url": transparency_url(inbox),
    }


# Every endpoint may also answer 413 (body over HAFEN_API_MAX_BODY_BYTES) and 503
# with Retry-After (the database is unavailable), in the same shape; 404 is an
# unknown inbox, 429 a rate limit (with Retry-After). An endpoint that reads a
# body or a query answers 422 invalid_request when it does not fit its schema,
# and one that reads a body 400 bad_request when the body is not JSON.
# tests/test_openapi_contract.py checks every status answered is declared here.
FAULTS = {413: ErrorOut, 503: ErrorOut}
ERRORS = {404: ErrorOut, 429: RateLimitedOut, **FAULTS}
AUTH_ERRORS = {401: ErrorOut, **ERRORS}
INVALID = {422: ErrorOut}


# --- endpoints ------------------------------------------------------------


@router.get(
    "/chat/{public_key}/config",
    response={200: ConfigOut, **ERRORS, **INVALID},
    summary="Public configuration of an inbox",
    operation_id="chat_config",
)
def get_config(
    request: HttpRequest,
    public_key: str,
    language: str | None = Query(None, max_length=35, description=LANGUAGE_DESCRIPTION),
):
    inbox = inbox_or_404(public_key)
    limit_public(request, inbox)
    return chat_config(inbox=inbox, language=language)


@router.post(
    "/chat/{public_key}/conversations",
    response={
        200: StartOut,
        201: StartOut,
        400: ErrorOut,
        403: NoticeRequiredOut,
        409: ErrorOut,
        410: ErrorOut,
        **ERRORS,
        **INVALID,
    },
    summary="Start or resume a conversation",
    description=(
        "Without a token (or with one that is unknown or expired) a new anonymous visitor "
        "and conversation are created (201) and the new token is returned. With a valid "
        "`Authorization: Bearer <token>` the visitor's current conversation is returned "
        "(200), or a new one is started if there is none, or if it is closed and "
        '`{"new": true}` is sent. 403 notice_required until the privacy notice is accepted. '
        "A new conversation speaks `language` (the browser's) when the chat offers it, else "
        "the inbox's language."
    ),
    operation_id="chat_start",
)
def start_conversation(request: HttpRequest, public_key: str, payload: StartIn = Body(None)):  # noqa: B008
    inbox = inbox_or_404(public_key)
    limit_public(request, inbox)
    visitor = visitor_or_none(request, inbox=inbox)
    if visitor is not None:
        visitor.inbox, visitor.company = inbox, inbox.company
    _notice_gate(inbox, visitor)
    started = chat_services.conversation_start(
        inbox=inbox,
        visitor=visitor,
        start_new=bool(payload and payload.new),
        language=payload.language if payload else None,
    )
    body = {
        "token": started.token or bearer_token(request),
        "resumed": not started.created,
        "conversation": conversation_out(started.conversation),
        "messages": [message_out(m) for m in started.messages],
    }
    return Status(201 if started.created else 200, body)


@router.post(
    "/chat/{public_key}/messages",
    auth=visitor_auth,
    response={
        200: MessagePostOut,
        400: ErrorOut,
        403: NoticeRequiredOut,
        409: ErrorOut,
        410: ErrorOut,
        **AUTH_ERRORS,
        **INVALID,
    },
    summary="Post a visitor message (the bot answers in the same response)",
    description=(
        "The bot answers in the same response while the conversation is with the bot; "
        "once a person has taken over (or it waits for one), the message is stored "
        "without a bot answer. 409 conversation_closed when the conversation is closed "
        "(nothing is stored; start a new one with POST /conversations and "
        '`{"new": true}`). 410 visitor_erased when the visitor\'s data was erased while '
        "the request ran. Send a `client_key` to make retries safe: a repeated key "
        "returns the stored message instead of writing a second one. While the bot has "
        'the conversation it always replies: an answer, "did you mean" quick replies '
        '(`choices` on the reply; send one back as `choice`), "not understood" (after '
        "the inbox's limit of misses in a row it hands over) or the handover."
    ),
    operation_id="chat_post_message",
)
def post_message(request: HttpRequest, public_key: str, payload: MessageIn):
    visitor: Visitor = request.auth
    inbox = request.chat_inbox
    choice = payload.choice.entry if payload.choice is not None else None
    try:
        if choice is not None:
            text = chat_services.choice_label(inbox=inbox, entry_id=choice)
        else:
            text = chat_services.chat_text_clean(payload.text)
        conversation = chat_services.conversation_require_open(
            conversation=request.chat_conversation
        )
    except chat_services.ConversationClosed:
        # A retry of a message stored before the conversation was closed.
        repeated = payload.client_key and chat_services.message_posted_by_key(
            inbox=inbox, conversation=request.chat_conversation, client_key=payload.client_key
        )
        if not repeated:
            raise
        return ok_response(request, posted_out(repeated))
    limit_conversation(conversation)
    _notice_gate(inbox, visitor, settled=request.chat_notice_settled)
    posted = chat_services.message_post(
        inbox=inbox,
        visitor=visitor,
        conversation=conversation,
        text=text,
        client_key=payload.client_key,
        choice=choice,
    )
    return ok_response(request, posted_out(posted))


@router.get(
    "/chat/{public_key}/messages",
    auth=visitor_auth,
    response={200: MessagesOut, 409: ErrorOut, **AUTH_ERRORS, **INVALID},
    summary="New messages of the visitor's current conversation",
    operation_id="chat_list_messages",
)
def list_messages(
    request: HttpRequest,
    public_key: str,
    after: int = Query(0, ge=0, description="Return messages with an id above this one."),
):
    visitor: Visitor = request.auth
    limit_polls(visitor)
    conversation = request.chat_conversation
    if conversation is None:
        raise chat_services.NoConversation(_("Start a conversation first."))
    messages = message_list_after(conversation=conversation, after_id=after)
    return ok_response(
        request,
        {
            "conversation": conversation_out(conversation),
            "messages": [message_out(m) for m in messages],
        },
    )


@router.post(
    "/chat/{public_key}/handover",
    auth=visitor_auth,
    response={
        200: HandoverOut,
        403: NoticeRequiredOut,
        409: ErrorOut,
        410: ErrorOut,
        **AUTH_ERRORS,
    },
    summary="Ask for a person: the conversation waits for an operator",
    operation_id="chat_handover",
)
def handover(request: HttpRequest, public_key: str):
    visitor: Visitor = request.auth
    inbox = request.chat_inbox
    conversation = chat_services.conversation_require_open(conversation=request.chat_conversation)
    _notice_gate(inbox, visitor, settled=request.chat_notice_settled)
    messages = chat_services.conversation_handover(
        inbox=inbox, conversation=conversation, visitor=visitor
    )
    return {
        "conversation": conversation_out(conversation),
        "messages": [message_out(m) for m in messages],
    }


@router.post(
    "/chat/{public_key}/language",
    auth=visitor_auth,
    response={
        200: LanguageOut,
        400: ErrorOut,
        409: ErrorOut,
        **AUTH_ERRORS,
        **INVALID,
    },
    summary="Switch the conversation's language",
    description=(
        "From now on the bot's answers (from FAQ entries in this language, else the "
        "inbox's) and the system messages use `language`; the response carries the "
        "chat page's texts in it. 400 invalid_language when the chat does not offer it; "
        "409 no_conversation before a conversation was started (GET /config?language= "
        "gives the texts then)."
    ),
    operation_id="chat_set_language",
)
def set_language(request: HttpRequest, public_key: str, payload: LanguageIn):
    inbox = request.chat_inbox
    if request.chat_conversation is None:
        raise chat_services.NoConversation(_("Start a conversation first."))
    conversation = chat_services.conversation_language_set(
        inbox=inbox, conversation=request.chat_conversation, language=payload.language
    )
    return {
        "conversation": conversation_out(conversation),
        "strings": chat_strings(language=conversation.language),
    }
