"""Reads for the visitor chat: the visitor's current conversation, new messages, FAQ.

Every query is scoped by the visitor's (or inbox's) company and uses an index
that leads with it or with the conversation.
"""

from __future__ import annotations

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
