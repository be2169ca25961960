"""Small builders shared by the console tests."""

from datetime import timedelta

from django.utils import timezone

from tests.factories import ConversationFactory, MessageFactory


def conversation_in(inbox, *, status="bot", minutes_ago=0, body=None, **kwargs):
    """A conversation of `inbox` whose last activity was `minutes_ago` minutes ago."""
    conversation = ConversationFactory(
        inbox=inbox,
        status=status,
        last_message_at=timezone.now() - timedelta(minutes=minutes_ago),
        **kwargs,
    )
    if body is not None:
        MessageFactory(conversation=conversation, body=body)
    return conversation
