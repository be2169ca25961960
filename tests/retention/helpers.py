"""Building conversations of a given age for retention, erasure and export tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from conversations.models import Conversation, Inbox, Message, Visitor
from tests.factories import ConversationFactory, MessageFactory, VisitorFactory


def make_conversation(
    *,
    inbox: Inbox,
    now: datetime,
    age_days: float,
    messages: int = 2,
    visitor: Visitor | None = None,
    bodies: tuple[str, ...] = (),
    **visitor_fields,
) -> Conversation:
    """A conversation whose last message is `age_days` old, with its visitor last seen then."""
    when = now - timedelta(days=age_days)
    if visitor is None:
        visitor = VisitorFactory(inbox=inbox, **visitor_fields)
        Visitor.objects.filter(pk=visitor.pk).update(last_seen_at=when, created_at=when)
    conversation = ConversationFactory(inbox=inbox, visitor=visitor, last_message_at=when)
    texts = list(bodies) + [f"plain message {i}" for i in range(messages - len(bodies))]
    for text in texts:
        MessageFactory(conversation=conversation, body=text)
    Message.objects.filter(conversation=conversation).update(created_at=when)
    return conversation


def exists(model, pk: int) -> bool:
    return model.objects.filter(pk=pk).exists()
