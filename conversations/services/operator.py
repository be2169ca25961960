"""What operators do to a conversation: open, reveal, reply, take over, close, export.

Invariants:
- Every status or assignment change is a conditional write (UPDATE ... WHERE
  status = <read> AND assigned_to = <read>, its row count checked; a lost race
  reads again and decides anew): of two simultaneous take-overs exactly one
  wins and writes the join message, the other is told who has it; a closed
  conversation stays closed. Each change is one audit entry (ids and statuses).
- Personal data leaves the server only masked (chatbot_site.lib.pii,
the one detector), unless the user holds *see personal data* on the inbox AND
gave a reason for this one view; every open, reveal and export is an audit
entry (LogEntry.Action.ACCESS) holding ids and the redacted reason, never
message text or personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from auditlog.models import LogEntry
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership
from chatbot_site.lib import pii
from chatbot_site.lib.audit import audit_access, audit_event
from chatbot_site.lib.errors import ServiceError
from conversations.events import conversation_changed
from conversations.models import Conversation, Message, Visitor
from conversations.rights import PERSONAL_DATA, REPLY, VIEW, require_right
from conversations.search import message_index
from conversations.selectors.console import conversation_messages

REPLY_MAX_LENGTH = 4000
REASON_MAX_LENGTH = 500


class OperatorError(ServiceError):
    """An action that cannot be done now; the message is shown to the operator."""

    code = "action_refused"
    status = 409


def _require(*, membership: Membership, conversation: Conversation, right: str) -> None:
    """Raise conversations.rights.NotAllowed unless the membership holds `right` here."""
    require_right(membership=membership, inbox_id=conversation.inbox_id, right=right)


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


def _build_view(
    *, conversation: Conversation, revealed: bool, after_id: int = 0, limit: int | None = None
) -> ConversationView:
    region = conversation.company.country
    messages = []
    rows = conversation_messages(conversation=conversation)
    if after_id:
        rows = rows.filter(pk__gt=after_id)
    if limit is not None:
        rows = rows[:limit]
    for message in rows:
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
    view = _build_view(conversation=conversation, revealed=False)
    if view.messages:
        conversation_read_advance(
            membership=membership, conversation=conversation, message_id=view.messages[-1].id
        )
    return view


def conversation_read_advance(
    *, membership: Membership, conversation: Conversation, message_id: int
) -> bool:
    """The assignee has seen the conversation up to `message_id`: their unread
    count (the queue) drops to what came after it.

    A conditional write: only while the membership's user is the assignee, and
    only forwards (two tabs reporting out of order never move it back; a
    take-over racing it resets the mark for the new assignee and this matches
    nothing). Others' reads change nothing. Returns whether it moved.
    """
    me = membership.user_id
    if conversation.assigned_to_id != me:
        return False
    matched = Conversation.objects.filter(
        Q(assignee_read_message_id__isnull=True) | Q(assignee_read_message_id__lt=message_id),
        company_id=conversation.company_id,
        pk=conversation.pk,
        assigned_to_id=me,
    ).update(assignee_read_message_id=message_id)
    if matched:
        conversation.assignee_read_message_id = message_id
    return bool(matched)


def conversation_follow(
    *, membership: Membership, conversation: Conversation, after_id: int, limit: int
) -> ConversationView:
    """The masked messages after `after_id` (at most `limit`): the live updates of an open page.

    Not audited: these fetches belong to the page view that conversation_open
    logged, and a per-fetch entry would bury the log. The rights are checked on
    every fetch all the same, so a membership that lost the right stops seeing.
    """
    _require(membership=membership, conversation=conversation, right=VIEW)
    view = _build_view(conversation=conversation, revealed=False, after_id=after_id, limit=limit)
    if view.messages:  # the assignee sees them on the open page: no longer unread
        conversation_read_advance(
            membership=membership, conversation=conversation, message_id=view.messages[-1].id
        )
    return view


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


def conversation_open_revealed(
    *, membership: Membership, conversation: Conversation
) -> ConversationView:
    """The unmasked view shown once after a reveal (the POST logged its reason and
    redirected here): the right is checked again, as it may have been revoked
    since, and the open is audited as an access like any other."""
    _require(membership=membership, conversation=conversation, right=PERSONAL_DATA)
    _audit_read(
        membership=membership, conversation=conversation, event="conversation.open", revealed=True
    )
    return _build_view(conversation=conversation, revealed=True)


def _system_message(*, conversation: Conversation, text: str) -> Message:
    with translation.override(conversation.inbox.language):
        return Message.objects.create(
            company_id=conversation.company_id,
            conversation=conversation,
            sender=Message.Sender.SYSTEM,
            body=str(text),
        )


# A status moves one way and an assignment changes only by a take-over; a
# conditional write that loses this many races in a row gives up.
MAX_WRITE_ATTEMPTS = 5
OPEN_STATUSES = (
    Conversation.Status.BOT,
    Conversation.Status.WAITING,
    Conversation.Status.OPERATOR,
)


def _current(conversation: Conversation) -> Conversation:
    """The conversation's status and assignee as they are now (after a lost write)."""
    current = (
        Conversation.objects.filter(company_id=conversation.company_id, pk=conversation.pk)
        .select_related("assigned_to")
        .first()
    )
    if current is None:
        raise OperatorError(_("This conversation no longer exists (it was erased or deleted)."))
    return current


def _name(user) -> str:
    if user is None:
        return _("Someone")
    return user.get_full_name() or user.get_username()


def _taken_by(user) -> OperatorError:
    return OperatorError(
        _("%(name)s has already taken over this conversation.") % {"name": _name(user)}
    )


def _closed() -> OperatorError:
    return OperatorError(_("This conversation is closed; it cannot be answered any more."))


def _assignee_filter(assigned_to_id: int | None) -> dict:
    if assigned_to_id is None:
        return {"assigned_to__isnull": True}
    return {"assigned_to_id": assigned_to_id}


def _claim(
    *,
    membership: Membership,
    conversation: Conversation,
    expected_assignee_id: int | None,
    event: str,
) -> bool:
    """Assign the conversation to the operator (status "operator") by a
    compare-and-set on the status and assignee read; inside the caller's
    transaction, which then holds the row until it commits.

    Allowed while the conversation is assigned to nobody (or to whom the
    operator saw, `expected_assignee_id`: taking it from a colleague on
    purpose) or to the operator already; refused naming who has it otherwise.
    Returns False when it was the operator's already (nothing written).
    """
    me = membership.user_id
    current = conversation
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        if current.status == Conversation.Status.CLOSED:
            raise _closed()
        if current.status == Conversation.Status.OPERATOR and current.assigned_to_id == me:
            return False
        if current.assigned_to_id not in (None, me, expected_assignee_id):
            raise _taken_by(current.assigned_to)
        now = timezone.now()
        # A new assignee has read nothing yet: the read mark is reset in the same write.
        reset = {} if current.assigned_to_id == me else {"assignee_read_message_id": None}
        matched = Conversation.objects.filter(
            pk=conversation.pk, status=current.status, **_assignee_filter(current.assigned_to_id)
        ).update(
            status=Conversation.Status.OPERATOR, assigned_to_id=me, last_message_at=now, **reset
        )
        if matched:
            audit_event(
                company_id=conversation.company_id,
                actor=membership.user,
                obj=conversation,
                action=LogEntry.Action.UPDATE,
                event=event,
                conversation_id=conversation.pk,
                inbox_id=conversation.inbox_id,
                status_from=current.status,
                status_to=Conversation.Status.OPERATOR,
                assigned_from=current.assigned_to_id,
                assigned_to=me,
            )
            conversation.status = Conversation.Status.OPERATOR
            conversation.assigned_to = membership.user
            conversation.last_message_at = now
            if reset:
                conversation.assignee_read_message_id = None
            return True
        current = _current(conversation)
    raise OperatorError(_("The conversation changed meanwhile. Please try again."))


@transaction.atomic
def conversation_reply(
    *,
    membership: Membership,
    conversation: Conversation,
    text: str,
    expected_assignee_id: int | None = None,
) -> Message:
    """An operator's message to the visitor; the operator takes the conversation.

    `expected_assignee_id`: whom the operator saw the conversation assigned to
    (None: nobody). If someone else has taken it since, OperatorError names
    them and nothing is written. A closed conversation takes no reply.
    """
    _require(membership=membership, conversation=conversation, right=REPLY)
    text = (text or "").strip()
    if not text:
        raise OperatorError(_("Write a reply first."))
    if len(text) > REPLY_MAX_LENGTH:
        raise OperatorError(
            _("A reply can be at most %(n)d characters long.") % {"n": REPLY_MAX_LENGTH}
        )
    claimed = _claim(
        membership=membership,
        conversation=conversation,
        expected_assignee_id=expected_assignee_id,
        event="conversation.reply",
    )
    if not claimed:
        # Already the operator's: still a conditional write (a close may race it).
        now = timezone.now()
        matched = Conversation.objects.filter(
            pk=conversation.pk,
            status=Conversation.Status.OPERATOR,
            assigned_to_id=membership.user_id,
        ).update(last_message_at=now)
        if not matched:
            current = _current(conversation)
            if current.status == Conversation.Status.CLOSED:
                raise _closed()
            raise _taken_by(current.assigned_to)
        conversation.last_message_at = now
    message = Message.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        sender=Message.Sender.OPERATOR,
        author=membership.user,
        body=text,
    )
    message_index(message=message)  # same transaction: never a reply without its tokens
    conversation_changed(conversation=conversation, what="message", message=message)
    return message


@transaction.atomic
def conversation_take_over(
    *,
    membership: Membership,
    conversation: Conversation,
    expected_assignee_id: int | None = None,
) -> Conversation:
    """An operator takes a conversation from the bot, the waiting queue, or (on
    purpose: `expected_assignee_id` names them) from a colleague.

    A compare-and-set on status and assignee: of two simultaneous take-overs
    exactly one wins and writes the join message; the other gets an
    OperatorError naming who has it. A closed conversation stays closed.
    """
    _require(membership=membership, conversation=conversation, right=REPLY)
    if _claim(
        membership=membership,
        conversation=conversation,
        expected_assignee_id=expected_assignee_id,
        event="conversation.take_over",
    ):
        joined = _system_message(
            conversation=conversation, text=gettext_lazy("An operator has joined the conversation.")
        )
        conversation_changed(conversation=conversation, what="assignment", message=joined)
    return conversation


@transaction.atomic
def conversation_close(*, membership: Membership, conversation: Conversation) -> Conversation:
    """Close the conversation (from any open status); idempotent. Conditional on
    it being open, so a concurrent close writes one system message, and a
    visitor's message racing it is refused (the chat's conditional write)."""
    _require(membership=membership, conversation=conversation, right=REPLY)
    now = timezone.now()
    matched = Conversation.objects.filter(pk=conversation.pk, status__in=OPEN_STATUSES).update(
        status=Conversation.Status.CLOSED, closed_at=now, last_message_at=now
    )
    if not matched:
        current = _current(conversation)  # raises if it is gone
        conversation.status, conversation.closed_at = current.status, current.closed_at
        return conversation
    audit_event(
        company_id=conversation.company_id,
        actor=membership.user,
        obj=conversation,
        action=LogEntry.Action.UPDATE,
        event="conversation.close",
        conversation_id=conversation.pk,
        inbox_id=conversation.inbox_id,
        status_to=Conversation.Status.CLOSED,
    )
    closed = _system_message(
        conversation=conversation, text=gettext_lazy("The conversation was closed.")
    )
    conversation.status = Conversation.Status.CLOSED
    conversation.closed_at = now
    conversation.last_message_at = now
    conversation_changed(conversation=conversation, what="status", message=closed)
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
            "started_at": conversation.started_at.isoformat(timespec="seconds"),
            "last_message_at": conversation.last_message_at.isoformat(timespec="seconds"),
            "closed_at": conversation.closed_at.isoformat(timespec="seconds")
            if conversation.closed_at
            else None,
        },
        "visitor": {
            "id": view.visitor.id,
            "created_at": view.visitor.created_at.isoformat(timespec="seconds"),
            "last_seen_at": view.visitor.last_seen_at.isoformat(timespec="seconds"),
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
                "created_at": m.created_at.isoformat(timespec="seconds"),
            }
            for m in view.messages
        ],
        "masked": True,
    }
