"""The two sockets: the console's (/ws/console/) and the visitor chat's (/ws/chat/<key>/).

Invariants:
- A console socket hears only about inboxes its membership may SEE
  (conversations.rights.inbox_ids, the function the console list uses): it
  joins ``inbox.<id>`` for those alone, and every event is checked against
  them again before it is sent on; the rights are read again at most every
  RIGHTS_TTL_SECONDS, and a membership deactivated (or a session ended)
  meanwhile closes the socket (4401).
- Watching a conversation (its typing events) needs SEE on its inbox; relaying
  the operator's typing needs REPLY; anything not allowed is silently ignored.
- A visitor socket authenticates with the chat API's bearer token in its first
  message (never in the URL: URLs end up in logs), through the same lookup as
  the API (conversations.api_auth); invalid, expired or erased: close 4401.
- Frames carry ids and status only, never text (conversations/events.py);
  typing events carry no text. A client frame above MAX_FRAME_BYTES closes the
  socket (1009); malformed JSON or an unknown type is ignored; typing is
  relayed at most once per TYPING_INTERVAL_SECONDS per connection.
- Nothing here logs a token, a text or an address.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.middleware import SESSION_KEY
from accounts.models import Membership
from accounts.selectors import membership_get
from chatbot_site.lib.errors import ServiceError
from conversations import rights
from conversations.api_auth import inbox_or_404
from conversations.events import EVENT_TYPE, inbox_group, staff_group, visitor_group
from conversations.models import Conversation
from conversations.selectors.chat import conversation_current_for_visitor
from conversations.selectors.visitors import visitor_get_by_token

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 1024
TYPING_INTERVAL_SECONDS = 1.0
RIGHTS_TTL_SECONDS = 30.0
AUTH_TIMEOUT_SECONDS = 10.0
MAX_TOKEN_LENGTH = 200

CLOSE_UNAUTHORISED = 4401
CLOSE_TOO_BIG = 1009

_STAFF_FIELDS = ("conversation", "inbox", "status", "assigned_to", "what", "message", "sender")
_VISITOR_FIELDS = ("what", "message", "status", "sender")
_VISITOR_WHAT = frozenset({"message", "status", "assignment"})
TYPING_RELAY = "typing.relay"  # the group message type; handler: typing_relay


def _frame(text_data: str | None, bytes_data: bytes | None) -> dict | None:
    """The client's JSON object, or None when it is not one (ignored)."""
    if text_data is None:
        return None
    try:
        data = json.loads(text_data)
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("type"), str) else None


def _int_id(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        return None
    return value


class _Base(AsyncWebsocketConsumer):
    """Frame-size guard, JSON parsing and the typing throttle, shared by both sockets."""

    groups_joined: set[str]
    _typing_at = 0.0

    async def websocket_connect(self, message):
        self.groups_joined = set()
        await super().websocket_connect(message)

    async def join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    async def leave(self, group: str) -> None:
        if group in self.groups_joined:
            self.groups_joined.discard(group)
            await self.channel_layer.group_discard(group, self.channel_name)

    async def disconnect(self, code):
        for group in list(getattr(self, "groups_joined", ())):
            await self.leave(group)

    async def receive(self, text_data=None, bytes_data=None):
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        data = _frame(text_data, bytes_data)
        if data is not None:
            await self.handle(data)

    async def handle(self, data: dict) -> None:
        raise NotImplementedError

    def typing_allowed(self) -> bool:
        """At most one typing event per TYPING_INTERVAL_SECONDS per connection."""
        now = time.monotonic()
        if now - self._typing_at < TYPING_INTERVAL_SECONDS:
            return False
        self._typing_at = now
        return True


# --- the console --------------------------------------------------------------


def _membership_for(scope) -> Membership | None:
    """The session's current membership (as accounts.middleware picks it), if active."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return None
    membership = membership_get(user=user, company_id=scope["session"].get(SESSION_KEY))
    if membership is None or membership.deactivated_at is not None:
        return None
    return membership


def _console_state(scope) -> tuple[Membership | None, frozenset[int]]:
    membership = _membership_for(scope)
    if membership is None:
        return None, frozenset()
    return membership, rights.inbox_ids(membership=membership, right=rights.VIEW)


def _membership_reload(membership: Membership) -> tuple[Membership | None, frozenset[int]]:
    """The membership read again (deactivated or gone: None) and what it may see now."""
    fresh = (
        Membership.objects.select_related("company")
        .filter(pk=membership.pk, deactivated_at__isnull=True)
        .first()
    )
    if fresh is None:
        return None, frozenset()
    return fresh, rights.inbox_ids(membership=fresh, right=rights.VIEW)


def _conversation_inbox(membership: Membership, conversation_id: int) -> int | None:
    """The inbox id of one of the company's conversations, or None (not there / not ours)."""
    return (
        Conversation.objects.filter(company_id=membership.company_id, pk=conversation_id)
        .values_list("inbox_id", flat=True)
        .first()
    )


class ConsoleConsumer(_Base):
    """Staff: events for the inboxes they may see; typing of the watched conversation."""

    membership: Membership | None = None
    inbox_ids: frozenset[int] = frozenset()
    watched: int | None = None

    async def connect(self):
        await self.accept()
        self.membership, self.inbox_ids = await database_sync_to_async(_console_state)(self.scope)
        if self.membership is None:
            await self.close(code=CLOSE_UNAUTHORISED)
            return
        self._rights_at = time.monotonic()
        self._inboxes: dict[int, int] = {}  # conversation id -> inbox id (this connection)
        for inbox_id in sorted(self.inbox_ids):
            await self.join(inbox_group(inbox_id))

    async def rights_refresh(self) -> bool:
        """Read membership and rights again when stale; False (and closed) when they are gone."""
        if time.monotonic() - self._rights_at < RIGHTS_TTL_SECONDS:
            return True
        self._rights_at = time.monotonic()
        membership, inbox_ids = await database_sync_to_async(_membership_reload)(self.membership)
        user = self.scope.get("user")
        if membership is None or user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHORISED)
            return False
        for gone in self.inbox_ids - inbox_ids:
            await self.leave(inbox_group(gone))
        for new in inbox_ids - self.inbox_ids:
            await self.join(inbox_group(new))
        self.membership, self.inbox_ids = membership, inbox_ids
        if self.watched is not None and self._inboxes.get(self.watched) not in inbox_ids:
            await self.leave(staff_group(self.watched))
            self.watched = None
        return True

    async def inbox_of(self, conversation_id: int) -> int | None:
        if conversation_id not in self._inboxes:
            if len(self._inboxes) > 200:
                self._inboxes.clear()
            self._inboxes[conversation_id] = await database_sync_to_async(_conversation_inbox)(
                self.membership, conversation_id
            )
        return self._inboxes[conversation_id]

    async def handle(self, data: dict) -> None:
        if self.membership is None or not await self.rights_refresh():
            return
        conversation_id = _int_id(data.get("conversation"))
        if conversation_id is None:
            return
        if data["type"] == "watch":
            inbox_id = await self.inbox_of(conversation_id)
            if inbox_id is None or inbox_id not in self.inbox_ids:
                return
            if self.watched is not None and self.watched != conversation_id:
                await self.leave(staff_group(self.watched))
            self.watched = conversation_id
            await self.join(staff_group(conversation_id))
        elif data["type"] == "typing":
            if not self.typing_allowed():
                return
            inbox_id = await self.inbox_of(conversation_id)
            if inbox_id is None or not rights.has_right(
                membership=self.membership, inbox_id=inbox_id, right=rights.REPLY
            ):
                return
            await self.channel_layer.group_send(
                visitor_group(conversation_id), {"type": TYPING_RELAY, "who": "operator"}
            )

    async def conversation_changed(self, event: dict) -> None:
        if self.membership is None or not await self.rights_refresh():
            return
        if event.get("inbox") not in self.inbox_ids:
            return
        await self.send(text_data=json.dumps({k: event.get(k) for k in ("type", *_STAFF_FIELDS)}))

    async def typing_relay(self, event: dict) -> None:
        conversation_id = event.get("conversation")
        if event.get("who") != "visitor" or conversation_id != self.watched:
            return
        await self.send(
            text_data=json.dumps(
                {"type": "typing", "conversation": conversation_id, "who": "visitor"}
            )
        )


# --- the visitor chat -----------------------------------------------------------


def _visitor_conversation(public_key: str, token: str) -> int | None:
    """The id of the token's visitor's current conversation; 0 for none yet; None: refused."""
    try:
        inbox = inbox_or_404(public_key)
    except ServiceError:  # an unknown inbox is refused like a bad token
        return None
    visitor = visitor_get_by_token(inbox=inbox, token=token)
    if visitor is None:
        return None
    conversation = conversation_current_for_visitor(visitor=visitor)
    return conversation.pk if conversation is not None else 0


class VisitorConsumer(_Base):
    """A visitor's chat page: its conversation's changes and the operator's typing."""

    conversation_id: int | None = None  # None until authenticated; 0: no conversation yet
    _deadline: asyncio.TimerHandle | None = None

    async def connect(self):
        await self.accept()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(
            AUTH_TIMEOUT_SECONDS, lambda: loop.create_task(self._auth_timeout())
        )

    async def _auth_timeout(self) -> None:
        if self.conversation_id is None:
            await self.close(code=CLOSE_UNAUTHORISED)

    async def disconnect(self, code):
        if self._deadline is not None:
            self._deadline.cancel()
        await super().disconnect(code)

    async def handle(self, data: dict) -> None:
        if data["type"] == "auth":
            # Sent first, and again after the page started a new conversation.
            await self.authenticate(data.get("token"))
        elif data["type"] == "typing" and self.conversation_id:
            if self.typing_allowed():
                await self.channel_layer.group_send(
                    staff_group(self.conversation_id),
                    {"type": TYPING_RELAY, "conversation": self.conversation_id, "who": "visitor"},
                )

    async def authenticate(self, token) -> None:
        public_key = self.scope["url_route"]["kwargs"]["public_key"]
        found = None
        if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH:
            found = await database_sync_to_async(_visitor_conversation)(public_key, token)
        if found is None:
            await self.close(code=CLOSE_UNAUTHORISED)
            return
        if self._deadline is not None:
            self._deadline.cancel()
        if self.conversation_id and self.conversation_id != found:
            await self.leave(visitor_group(self.conversation_id))
        self.conversation_id = found
        if found:
            await self.join(visitor_group(found))
        await self.send(text_data=json.dumps({"type": "ready"}))

    async def conversation_changed(self, event: dict) -> None:
        if event.get("conversation") != self.conversation_id:
            return
        if event.get("what") not in _VISITOR_WHAT:
            return
        await self.send(
            text_data=json.dumps({"type": EVENT_TYPE, **{k: event.get(k) for k in _VISITOR_FIELDS}})
        )

    async def typing_relay(self, event: dict) -> None:
        if event.get("who") == "operator":
            await self.send(text_data=json.dumps({"type": "typing", "who": "operator"}))
