"""What operators do to a conversation: open, reveal, reply, take over, close, export.

Invariant: personal data leaves the server only masked (chatbot_site.lib.pii,
the one detector), unless the user holds *see personal data* on the inbox AND
gave a reason for this one view; every open, reveal and export is an audit
entry (LogEntry.Action.ACCESS) holding ids and the redacted reason, never
message text or personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.rights import PERSONAL_DATA, REPLY, VIEW, has_right
from chatbot_site.lib import pii
from chatbot_site.lib.audit import audit_access
from conversations.models import Conversation, Message, Visitor
from conversations.selectors.console import conversation_messages

REPLY_MAX_LENGTH = 4000
REASON_MAX_LENGTH = 500


class OperatorError(ValueError):
    """An action that cannot be done now; the message is shown to the operator."""


class NotAllowed(PermissionError):
    """The membership lacks the right for this action on this inbox."""


def _require(*, membership: Membership, conversation: Conversation, right: str) -> None:
    if not has_right(membership=membership, inbox_id=conversation.inbox_id, right=right):
        raise NotAllowed(right)


@dataclass(frozen=True)
class ShownMessage:
    id: int
    sender: str
    sender_label: str
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class ShownVisitor:
    id: int
    created_at: datetime
    last_seen_at: datetime
    name: str
    email: str
    phone: str
    has_contact_details: bool


@dataclass(frozen=True)
class ConversationView:
    """What the detail page shows: masked, or revealed for this one response."""

    conversation: Conversation
    messages: list[ShownMessage]
    visitor: ShownVisitor
    revealed: bool


def _show_visitor(visitor: Visitor, *, revealed: bool) -> ShownVisitor:
    show = (lambda v: v) if revealed else pii.mask_value
    return ShownVisitor(
        id=visitor.pk,
        created_at=visitor.created_at,
        last_seen_at=visitor.last_seen_at,
        name=show(visitor.name),
        email=show(visitor.email),
        phone=show(visitor.phone),
        has_contact_details=visitor.has_contact_details,
    )


def _build_view(*, conversation: Conversation, revealed: bool) -> ConversationView:
    region = conversation.company.country
    messages = []
    for message in conversation_messages(conversation=conversation):
        body = message.body if revealed else pii.mask(message.body, region=region)
        messages.append(
            ShownMessage(
                id=message.pk,
                sender=message.sender,
                sender_label=message.get_sender_display(),
                author=message.author.get_username() if message.author else "",
                text=body,
                created_at=message.created_at,
            )
        )
    return ConversationView(
        conversation=conversation,
        messages=messages,
        visitor=_show_visitor(conversation.visitor, revealed=revealed),
        revealed=revealed,
    )


def _audit_read(*, membership: Membership, conversation: Conversation, event: str, **data) -> None:
    """One access entry (open, reveal, export) naming the conversation and its inbox."""
    audit_access(
        company_id=conversation.company_id,
        actor=membership.user,
        obj=conversation,
        event=event,
        conversation_id=conversation.pk,
        inbox_id=conversation.inbox_id,
        **data,
    )


def conversation_open(*, membership: Membership, conversation: Conversation) -> ConversationView:
    """The masked view of a conversation; the open is audited as an access."""
    _require(membership=membership, conversation=conversation, right=VIEW)
    _audit_read(membership=membership, conversation=conversation, event="conversation.open")
    return _build_view(conversation=conversation, revealed=False)


def personal_data_reveal(
    *, membership: Membership, conversation: Conversation, reason: str
) -> ConversationView:
    """Break glass: the unmasked view, for this response only, with the reason logged.

    The reason goes through pii.redact first, so personal data typed into it
    never reaches the audit log.
    """
    _require(membership=membership, conversation=conversation, right=PERSONAL_DATA)
    reason = (reason or "").strip()
    if not reason:
        raise OperatorError(_("Give a reason for revealing personal data."))
    safe_reason, _count = pii.redact(
        reason[:REASON_MAX_LENGTH], region=conversation.company.country, language="en"
    )
    _audit_read(
        membership=membership,
        conversation=conversation,
        event="personal_data.reveal",
        reason=safe_reason,
    )
    return _build_view(conversation=conversation, revealed=True)


def _system_message(*, conversation: Conversation, text: str, now: datetime) -> Message:
    return Message.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        sender=Message.Sender.SYSTEM,
        body=text,
    )


@transaction.atomic
def conversation_reply(*, membership: Membership, conversation: Conversation, text: str) -> Message:
    """An operator's message to the visitor; the operator takes the conversation."""
    _require(membership=membership, conversation=conversation, right=REPLY)
    text = (text or "").strip()
    if not text:
        raise OperatorError(_("Write a reply first."))
    if len(text) > REPLY_MAX_LENGTH:
        raise OperatorError(
            _("A reply can be at most %(n)d characters long.") % {"n": REPLY_MAX_LENGTH}
        )
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.status == Conversation.Status.CLOSED:
        raise OperatorError(_("This conversation is closed; it cannot be answered any more."))
    now = timezone.now()
    message = Message.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        sender=Message.Sender.OPERATOR,
        author=membership.user,
        body=text,
    )
    _assign_to(conversation=conversation, user=membership.user, now=now)
    return message


def _assign_to(*, conversation: Conversation, user, now) -> None:
    """The conversation is with this operator now (reply and take-over share it)."""
    conversation.status = Conversation.Status.OPERATOR
    conversation.assigned_to = user
    conversation.last_message_at = now
    conversation.save(update_fields=["status", "assigned_to", "last_message_at"])


@transaction.atomic
def conversation_take_over(*, membership: Membership, conversation: Conversation) -> Conversation:
    """An operator takes a conversation from the bot or the waiting queue."""
    _require(membership=membership, conversation=conversation, right=REPLY)
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.status == Conversation.Status.CLOSED:
        raise OperatorError(_("This conversation is closed."))
    if (
        locked.status == Conversation.Status.OPERATOR
        and locked.assigned_to_id == membership.user_id
    ):
        return conversation
    now = timezone.now()
    with translation.override(conversation.inbox.language):
        _system_message(
            conversation=conversation, text=_("An operator has joined the conversation."), now=now
        )
    _assign_to(conversation=conversation, user=membership.user, now=now)
    return conversation


@transaction.atomic
def conversation_close(*, membership: Membership, conversation: Conversation) -> Conversation:
    _require(membership=membership, conversation=conversation, right=REPLY)
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.status == Conversation.Status.CLOSED:
        return conversation
    now = timezone.now()
    with translation.override(conversation.inbox.language):
        _system_message(conversation=conversation, text=_("The conversation was closed."), now=now)
    conversation.status = Conversation.Status.CLOSED
    conversation.closed_at = now
    conversation.last_message_at = now
    conversation.save(update_fields=["status", "closed_at", "last_message_at"])
    return conversation


def conversation_export(*, membership: Membership, conversation: Conversation) -> dict:
    """The conversation as JSON-ready data, masked like the default view; audited.

    Unmasked exports of a visitor's data are the access-request flow (retention),
    not this button.
    """
    _require(membership=membership, conversation=conversation, right=VIEW)
    _audit_read(membership=membership, conversation=conversation, event="conversation.export")
    view = _build_view(conversation=conversation, revealed=False)
    return {
        "conversation": {
            "reference": conversation.reference,
            "inbox": conversation.inbox.name,
            "status": conversation.status,
            "started_at": conversation.started_at.isoformat(),
            "last_message_at": conversation.last_message_at.isoformat(),
            "closed_at": conversation.closed_at.isoformat() if conversation.closed_at else None,
        },
        "visitor": {
            "id": view.visitor.id,
            "created_at": view.visitor.created_at.isoformat(),
            "last_seen_at": view.visitor.last_seen_at.isoformat(),
            "name": view.visitor.name,
            "email": view.visitor.email,
            "phone": view.visitor.phone,
        },
        "messages": [
            {
                "id": m.id,
                "sender": m.sender,
                "author": m.author,
                "text": m.text,
                "created_at": m.created_at.isoformat(),
            }
            for m in view.messages
        ],
        "masked": True,
    }
