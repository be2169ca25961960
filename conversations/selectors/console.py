"""Reads for the operator console: the conversation list and one conversation.

Invariant: every query here is scoped to the membership's company AND to the
inbox ids conversations.rights answers for it; a conversation outside them is a 404
exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Membership
from chatbot_site.lib.pagination import keyset_page
from conversations.models import Conversation, Inbox, Message
from conversations.rights import VIEW, inbox_ids

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class ConversationFilters:
    inbox_id: int | None = None
    status: str | None = None
    waiting_only: bool = False
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[Conversation]
    next_cursor: str | None
    is_first: bool


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def console_inboxes(*, membership: Membership) -> QuerySet[Inbox]:
    """The inboxes this membership may see (for the filter select)."""
    return Inbox.objects.filter(
        company_id=membership.company_id, id__in=inbox_ids(membership=membership, right=VIEW)
    ).order_by("name", "id")


def conversations_visible(*, membership: Membership) -> QuerySet[Conversation]:
    """Every conversation this membership may see: company AND permitted inboxes."""
    ids = sorted(inbox_ids(membership=membership, right=VIEW))
    return Conversation.objects.filter(company_id=membership.company_id, inbox_id__in=ids)


def _page_keys(
    qs: QuerySet[Conversation], *, inbox_ids: list[int], limit: int
) -> list[tuple[datetime, int]]:
    """(last_message_at, id) of the page's rows, newest first.

    On PostgreSQL one LIMITed range scan per inbox on conv_company_inbox_activity
    (company, inbox, -last_message_at, -id), merged by UNION ALL: each inbox
    reads at most `limit` index entries, however many conversations the others
    hold. Elsewhere (SQLite, the embedded run) the plain IN filter.
    """
    order = ("-last_message_at", "-id")
    keys = qs.order_by(*order).values_list("last_message_at", "id")
    if len(inbox_ids) > 1 and connection.features.supports_slicing_ordering_in_compound:
        # inbox_id = i alone, never also IN (...): with an array condition on
        # the index PostgreSQL 15 no longer reads it in order and sorts instead.
        parts = [keys.filter(inbox_id=i)[:limit] for i in inbox_ids]
        keys = parts[0].union(*parts[1:], all=True).order_by(*order)
    else:
        keys = keys.filter(inbox_id__in=inbox_ids)
    return list(keys[:limit])


def conversation_list(
    *,
    membership: Membership,
    filters: ConversationFilters,
    cursor: str | None = None,
    page_size: int = PAGE_SIZE,
) -> ConversationPage:
    """Newest activity first, keyset-paginated on (last_message_at, id): no OFFSET
    (chatbot_site.lib.pagination).

    Two queries whatever the page size: the page's keys (see _page_keys), then
    its rows with inbox and assignee joined.
    """
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    permitted = sorted(inbox_ids(membership=membership, right=VIEW))
    if filters.inbox_id is not None:
        permitted = [i for i in permitted if i == filters.inbox_id]
    # the inbox filter is applied by _page_keys (per inbox or IN), never dropped
    qs = Conversation.objects.filter(company_id=membership.company_id)
    if filters.waiting_only:
        qs = qs.filter(status=Conversation.Status.WAITING)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.date_from:
        qs = qs.filter(last_message_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(last_message_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    page = keyset_page(
        qs,
        field="last_message_at",
        cursor=cursor,
        page_size=page_size,
        fetch=lambda ordered, limit: (
            _page_keys(ordered, inbox_ids=permitted, limit=limit) if permitted else []
        ),
        position_of=lambda key: key,
    )
    keys = page.rows
    by_id = (
        Conversation.objects.filter(
            company_id=membership.company_id, pk__in=[pk for _at, pk in keys]
        )
        .select_related("inbox", "assigned_to")
        .in_bulk()
    )
    rows = [by_id[pk] for _at, pk in keys if pk in by_id]
    return ConversationPage(
        conversations=rows, next_cursor=page.next_cursor, is_first=page.is_first
    )


WAITING_COUNT_CAP = 100


def waiting_count(*, membership: Membership) -> int:
    """How many visible conversations wait for a human, counted up to WAITING_COUNT_CAP.

    The count is bounded (COUNT over a LIMITed subquery on conv_company_status),
    so a company with thousands of waiting conversations costs what one with a
    hundred does; the badge shows "99+" beyond that.
    """
    return (
        conversations_visible(membership=membership)
        .filter(status=Conversation.Status.WAITING)[:WAITING_COUNT_CAP]
        .count()
    )


def waiting_label(count: int) -> str:
    """The badge text: the count, or "99+" once it reaches the cap."""
    return f"{WAITING_COUNT_CAP - 1}+" if count >= WAITING_COUNT_CAP else str(count)


def conversations_waiting(*, membership: Membership, limit: int = 10) -> list[Conversation]:
    """Waiting conversations, the longest-waiting first (operators' home)."""
    return list(
        conversations_visible(membership=membership)
        .filter(status=Conversation.Status.WAITING)
        .select_related("inbox", "assigned_to")
        .order_by("last_message_at", "id")[:limit]
    )


def conversation_get_for_console(*, membership: Membership, conversation_id: int) -> Conversation:
    """One conversation this membership may see; otherwise 404 ("not yours" = "missing")."""
    try:
        return (
            conversations_visible(membership=membership)
            .select_related("inbox", "visitor", "assigned_to", "company")
            .get(pk=conversation_id)
        )
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such conversation.") from None


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    """Messages in order (index message_conversation_id)."""
    return (
        Message.objects.filter(company_id=conversation.company_id, conversation=conversation)
        .select_related("author")
        .order_by("id")
    )
