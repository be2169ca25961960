"""Reads for the unanswered-questions page: visitor messages the bot did not understand.

Scoped like the console: the company AND the inboxes the membership may see
(conversations.rights, VIEW). The rows are messages, so they go when retention
or an erasure deletes their conversation. Uses the partial index
message_unanswered (company_id, -id) WHERE bot_outcome = 'not_understood';
pages are keyset on the id (``before``), newest first, no OFFSET.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Membership
from conversations.models import FaqEntry, Inbox, Message
from conversations.rights import VIEW, inbox_ids

PAGE_SIZE = 50


@dataclass(frozen=True)
class UnansweredPage:
    messages: list[Message]
    next_before: int | None


def unanswered_messages(*, membership: Membership) -> QuerySet[Message]:
    """Not-understood visitor messages in the inboxes this membership may see."""
    return Message.objects.filter(
        company_id=membership.company_id,
        bot_outcome=Message.BotOutcome.NOT_UNDERSTOOD,
        sender=Message.Sender.VISITOR,
        conversation__inbox_id__in=inbox_ids(membership=membership, right=VIEW),
    )


def unanswered_page(
    *,
    membership: Membership,
    inbox_id: int | None = None,
    before: int | None = None,
    page_size: int | None = None,
) -> UnansweredPage:
    """One page, newest first; `before` is the last id of the previous page."""
    page_size = page_size or PAGE_SIZE
    qs = unanswered_messages(membership=membership)
    if inbox_id is not None:
        qs = qs.filter(conversation__inbox_id=inbox_id)
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs.select_related("conversation__inbox").order_by("-id")[: page_size + 1])
    next_before = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_before = rows[-1].pk
    return UnansweredPage(messages=rows, next_before=next_before)


def unanswered_message_get(*, membership: Membership, message_id: int) -> Message:
    """One not-understood (or meanwhile resolved) visitor message this membership
    may see, else 404; the caller's conditional write tells the two apart."""
    message = (
        Message.objects.filter(
            company_id=membership.company_id,
            bot_outcome__in=[Message.BotOutcome.NOT_UNDERSTOOD, Message.BotOutcome.RESOLVED],
            sender=Message.Sender.VISITOR,
            conversation__inbox_id__in=inbox_ids(membership=membership, right=VIEW),
        )
        .select_related("conversation__inbox", "company")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        raise Http404("No such question.")
    return message


def faq_entries_by_inbox(*, membership: Membership, inboxes: list[Inbox]) -> dict[int, list]:
    """{inbox id: [(entry id, first question), ...]} for the "add as variant" selects."""
    by_inbox: dict[int, list] = {inbox.pk: [] for inbox in inboxes}
    rows = FaqEntry.objects.filter(
        company_id=membership.company_id, inbox_id__in=list(by_inbox)
    ).order_by("position", "id")
    for entry in rows:
        questions = entry.question_list
        by_inbox[entry.inbox_id].append((entry.pk, questions[0] if questions else f"#{entry.pk}"))
    return by_inbox
