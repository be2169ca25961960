"""Reads for the operator console: the conversation list and one conversation.

Invariant: every query here is scoped to the membership's company AND to the
inbox ids conversations.rights answers for it; a conversation outside them is a 404
exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import BigIntegerField, Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.models import Membership
from chatbot_site.lib import pii
from chatbot_site.lib.pagination import decode_cursor, encode_cursor, keyset_page
from conversations.models import Conversation, Inbox, Message
from conversations.rights import VIEW, inbox_ids

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# A row's preview: the last message's first characters, masked (pii.mask, the
# detector the detail page uses) before it is cut, so a cut never halves an
# e-mail address into something the detector no longer recognises.
PREVIEW_LENGTH = 80

# The queue's views (the tabs above the list).
MINE = "mine"
UNASSIGNED = "unassigned"
WAITING = "waiting"
WITH_BOT = "bot"
CLOSED = "closed"
VIEWS = (MINE, UNASSIGNED, WAITING, WITH_BOT, CLOSED)
# Needs a human and nobody has it: waiting, or with an operator whose user was deleted.
UNASSIGNED_STATUSES = (Conversation.Status.WAITING, Conversation.Status.OPERATOR)


@dataclass(frozen=True)
class ConversationFilters:
    inbox_id: int | None = None
    status: str | None = None
    waiting_only: bool = False
    date_from: date | None = None
    date_to: date | None = None
    view: str | None = None

    @property
    def longest_waiting_first(self) -> bool:
        """Only waiting conversations are listed: they are sorted by how long they wait."""
        return (
            self.view == WAITING
            or self.waiting_only
            or (self.view is None and self.status == Conversation.Status.WAITING)
        )


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


def _view_filter(view: str | None, *, user_id: int) -> Q:
    """The conditions of one of the queue's views (VIEWS); none for "all"."""
    if view == MINE:
        return Q(assigned_to_id=user_id) & ~Q(status=Conversation.Status.CLOSED)
    if view == UNASSIGNED:
        return Q(assigned_to__isnull=True, status__in=UNASSIGNED_STATUSES)
    if view == WAITING:
        return Q(status=Conversation.Status.WAITING)
    if view == WITH_BOT:
        return Q(status=Conversation.Status.BOT)
    if view == CLOSED:
        return Q(status=Conversation.Status.CLOSED)
    return Q()


def _waiting_keys(
    qs: QuerySet[Conversation], *, inbox_ids: list[int], cursor: str | None, limit: int
) -> tuple[list[tuple[datetime, int]], bool]:
    """(waited since, id) of the page's rows, the longest-waiting first, and
    whether this is the first page: keyset ascending on that pair, no OFFSET.

    "Waited since" is waiting_since, or started_at for a conversation that
    began waiting before that column was written (never NULL, so the keyset
    has a total order). Reads the waiting conversations of the permitted
    inboxes through conv_company_status (company, status) and sorts them: the
    waiting set is small next to the company's conversations.
    """
    waited = Coalesce("waiting_since", "started_at")
    qs = qs.filter(inbox_id__in=inbox_ids).annotate(waited=waited)
    position = decode_cursor(cursor)
    if position is not None:
        at, pk = position
        qs = qs.filter(Q(waited__gt=at) | Q(waited=at, id__gt=pk))
    keys = list(qs.order_by("waited", "id").values_list("waited", "id")[:limit])
    return keys, position is None


def conversation_list(
    *,
    membership: Membership,
    filters: ConversationFilters,
    cursor: str | None = None,
    page_size: int = PAGE_SIZE,
) -> ConversationPage:
    """Newest activity first, keyset-paginated on (last_message_at, id): no OFFSET
    (chatbot_site.lib.pagination); waiting conversations alone are listed the
    longest-waiting first (see _waiting_keys).

    Two queries whatever the page size: the page's keys (see _page_keys), then
    its rows with inbox and assignee joined and, per row, the last message
    (masked here into `preview`) and the assignee's unread count (`unread`).
    """
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    permitted = sorted(inbox_ids(membership=membership, right=VIEW))
    if filters.inbox_id is not None:
        permitted = [i for i in permitted if i == filters.inbox_id]
    # the inbox filter is applied by _page_keys (per inbox or IN), never dropped
    qs = Conversation.objects.filter(company_id=membership.company_id)
    qs = qs.filter(_view_filter(filters.view, user_id=membership.user_id))
    if filters.waiting_only:
        qs = qs.filter(status=Conversation.Status.WAITING)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.date_from:
        qs = qs.filter(last_message_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(last_message_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    if filters.longest_waiting_first:
        keys, is_first = (
            _waiting_keys(qs, inbox_ids=permitted, cursor=cursor, limit=page_size + 1)
            if permitted
            else ([], decode_cursor(cursor) is None)
        )
        next_cursor = encode_cursor(*keys[page_size - 1]) if len(keys) > page_size else None
        keys = keys[:page_size]
    else:
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
        keys, next_cursor, is_first = page.rows, page.next_cursor, page.is_first
    by_id = (
        _with_queue_columns(
            Conversation.objects.filter(
                company_id=membership.company_id, pk__in=[pk for _at, pk in keys]
            )
        )
        .select_related("inbox", "assigned_to")
        .in_bulk()
    )
    rows = [by_id[pk] for _at, pk in keys if pk in by_id]
    region = membership.company.country
    for row in rows:
        row.preview = message_preview(text=row.last_body, region=region)
    return ConversationPage(conversations=rows, next_cursor=next_cursor, is_first=is_first)


def _with_queue_columns(qs: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Per row, in the same query: the last message that is not a system note
    (body, decrypted on read, and sender) and the assignee's unread count, the
    visitor messages after their read mark; both through message_conversation_id
    (conversation, id)."""
    last = Message.objects.filter(conversation_id=OuterRef("pk")).exclude(
        sender=Message.Sender.SYSTEM
    )
    last = last.order_by("-id")
    unread = (
        Message.objects.filter(
            conversation_id=OuterRef("pk"),
            sender=Message.Sender.VISITOR,
            id__gt=Coalesce(
                OuterRef("assignee_read_message_id"), Value(0), output_field=BigIntegerField()
            ),
        )
        .order_by()
        .values("conversation_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return qs.annotate(
        last_body=Subquery(last.values("body")[:1]),
        last_sender=Subquery(last.values("sender")[:1]),
        unread=Coalesce(Subquery(unread), Value(0)),
    )


def message_preview(*, text: str | None, region: str) -> str:
    """The first PREVIEW_LENGTH characters of a message, personal data masked
    first (pii.mask: the detector and masks of the detail page); "" for none."""
    if not text:
        return ""
    masked = " ".join(pii.mask(text, region=region).split())
    if len(masked) <= PREVIEW_LENGTH:
        return masked
    return masked[: PREVIEW_LENGTH - 1].rstrip() + "…"


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


def _capped_count(qs: QuerySet[Conversation]) -> int:
    return qs[:WAITING_COUNT_CAP].count()


def conversation_counts(*, membership: Membership) -> dict[str, int]:
    """The navigation's counters over the membership's visible inboxes: waiting,
    mine (open, assigned to the user) and unassigned (needs a human, nobody has
    it). Each counted up to WAITING_COUNT_CAP (see waiting_count): three bounded
    queries on conv_company_status, whatever the company's size."""
    visible = conversations_visible(membership=membership)
    return {
        view: _capped_count(visible.filter(_view_filter(view, user_id=membership.user_id)))
        for view in (WAITING, MINE, UNASSIGNED)
    }


def conversations_waiting(*, membership: Membership, limit: int = 10) -> list[Conversation]:
    """Waiting conversations, the longest-waiting first (operators' home)."""
    return list(
        conversations_visible(membership=membership)
        .filter(status=Conversation.Status.WAITING)
        .annotate(waited=Coalesce("waiting_since", "started_at"))
        .select_related("inbox", "assigned_to")
        .order_by("waited", "id")[:limit]
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
