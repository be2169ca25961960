"""Reads for retention, legal holds, erasure and access requests; always scoped to a company.

The retention querysets (expired_*, strippable_*, unstripped_messages) are what a
run acts on and what its dry-run preview counts: the run's batches lock and
delete exactly the rows these select (retention.services.batches).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import Company, Membership
from chatbot_site.lib.audit import audit_entries_for_company
from chatbot_site.lib.crypto import blind_index, hash_token
from chatbot_site.lib.tenancy import get_for_company_or_404
from consent.models import ConsentRecord, ContactRequest
from conversations.models import Conversation, Message, Visitor
from conversations.rights import ERASE, has_right
from retention.cutoffs import Cutoffs
from retention.models import (
    ErasureRequest,
    LegalHold,
    RetentionPolicy,
    RetentionRun,
    SubjectRequest,
)

# --------------------------------------------------------------------------- #
# What a retention run acts on (and its preview counts)
# --------------------------------------------------------------------------- #


def expired_conversations(*, company_id: int, cutoffs: Cutoffs) -> QuerySet[Conversation]:
    # index conv_company_activity (company_id, last_message_at DESC, id DESC)
    return Conversation.objects.filter(
        company_id=company_id, legal_hold=False, last_message_at__lt=cutoffs.conversation
    )


def strippable_conversations(*, company_id: int, cutoffs: Cutoffs) -> QuerySet[Conversation]:
    """Unheld conversations that may hold messages at or before the personal-data cutoff
    that have not been through the detector (personal_data_stripped_through below them).

    Never stripped: the last message is that old, or the conversation started
    before the cutoff (a long-running one: its first messages are that old).
    Stripped through T before the cutoff: a message came after T.
    """
    # index conv_company_activity (company_id, last_message_at DESC, id DESC), filtered
    cutoff = cutoffs.personal_data
    never = Q(personal_data_stripped_through__isnull=True) & (
        Q(last_message_at__lte=cutoff) | Q(started_at__lte=cutoff)
    )
    behind = Q(
        personal_data_stripped_through__lt=cutoff,
        last_message_at__gt=F("personal_data_stripped_through"),
    )
    return Conversation.objects.filter(company_id=company_id, legal_hold=False).filter(
        never | behind
    )


def unstripped_messages(*, conversation_ids: list[int], cutoffs: Cutoffs) -> QuerySet[Message]:
    """The messages of these conversations created at or before the personal-data
    cutoff and after their conversation's high-water mark."""
    # index message_conversation_id (conversation_id, id)
    return Message.objects.filter(
        conversation_id__in=conversation_ids, created_at__lte=cutoffs.personal_data
    ).filter(
        Q(conversation__personal_data_stripped_through__isnull=True)
        | Q(created_at__gt=F("conversation__personal_data_stripped_through"))
    )


def expired_visitors(*, company_id: int, cutoffs: Cutoffs) -> QuerySet[Visitor]:
    has_conversation = Conversation.objects.filter(visitor_id=OuterRef("pk"))
    return Visitor.objects.filter(
        company_id=company_id, last_seen_at__lt=cutoffs.personal_data
    ).exclude(Exists(has_conversation))


def expired_audit_entries(*, company_id: int, cutoffs: Cutoffs) -> QuerySet[LogEntry]:
    # index auditlog_company_time ((additional_data -> 'company_id'), timestamp DESC)
    return audit_entries_for_company(company_id).filter(timestamp__lt=cutoffs.audit)


def companies_due(*, now: datetime) -> list[int]:
    """Ids of the companies whose deletion window is due, in ONE query.

    Due: no policy yet (the defaults apply), never scheduled, or next_run_at
    passed (index retention_next_run).
    """
    return list(
        Company.objects.filter(
            Q(retention__isnull=True)
            | Q(retention__next_run_at__isnull=True)
            | Q(retention__next_run_at__lte=now)
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


@dataclass(frozen=True)
class RetentionPreview:
    conversations_to_delete: int
    messages_to_delete: int
    conversations_to_strip: int
    visitors_to_delete: int
    audit_entries_to_delete: int
    held_conversations: int


def retention_preview(
    *,
    company: Company,
    conversation_days: int,
    personal_data_days: int,
    audit_days: int,
    now: datetime,
) -> RetentionPreview:
    """What a run with these windows would do now: the purge's own querysets, counted."""
    cutoffs = Cutoffs.for_policy(
        now=now,
        conversation_days=conversation_days,
        personal_data_days=personal_data_days,
        audit_days=audit_days,
    )
    expired = expired_conversations(company_id=company.pk, cutoffs=cutoffs)
    surviving = Q(last_message_at__gte=cutoffs.conversation)
    return RetentionPreview(
        conversations_to_delete=expired.count(),
        messages_to_delete=Message.objects.filter(
            company_id=company.pk, conversation__in=expired.values("pk")
        ).count(),
        conversations_to_strip=strippable_conversations(company_id=company.pk, cutoffs=cutoffs)
        .filter(surviving)
        .count(),
        # visitors whose only conversations expire are counted after the delete
        visitors_to_delete=expired_visitors(company_id=company.pk, cutoffs=cutoffs).count(),
        audit_entries_to_delete=expired_audit_entries(
            company_id=company.pk, cutoffs=cutoffs
        ).count(),
        held_conversations=Conversation.objects.filter(
            company_id=company.pk, legal_hold=True, last_message_at__lt=cutoffs.personal_data
        ).count(),
    )


def run_list(*, company: Company, limit: int = 10) -> list[RetentionRun]:
    return list(RetentionRun.objects.filter(company=company).order_by("-started_at", "-id")[:limit])


def policy_get(*, company: Company) -> RetentionPolicy | None:
    return RetentionPolicy.objects.filter(company=company).first()


def legal_hold_list_active(*, company: Company) -> QuerySet[LegalHold]:
    return (
        LegalHold.objects.filter(company=company, lifted_at__isnull=True)
        .select_related("conversation", "placed_by")
        .order_by("-placed_at", "-id")
    )


def conversation_get_by_reference(*, company: Company, reference: str) -> Conversation | None:
    reference = (reference or "").strip().upper()
    if not reference:
        return None
    return Conversation.objects.filter(company=company, reference=reference).first()


# --------------------------------------------------------------------------- #
# Data subjects (erasure and access requests)
# --------------------------------------------------------------------------- #


def visitors_find(*, company: Company, kind: str, value: str) -> list[Visitor]:
    """The visitors a request names: by conversation reference, e-mail (blind index) or token."""
    value = (value or "").strip()
    if not value:
        return []
    visitors = Visitor.objects.filter(company=company).select_related("inbox")
    if kind == "reference":
        conversation = conversation_get_by_reference(company=company, reference=value)
        return [conversation.visitor] if conversation else []
    if kind == "email":
        # index visitor_company_email (company_id, email_index)
        return list(visitors.filter(email_index=blind_index(value)).order_by("id"))
    if kind == "token":
        # index visitor_company_token (company_id, token_hash)
        return list(visitors.filter(token_hash=hash_token(value)).order_by("id"))
    return []


def visitor_get(*, company: Company, visitor_id: int) -> Visitor | None:
    return Visitor.objects.filter(company=company, pk=visitor_id).select_related("inbox").first()


@dataclass(frozen=True)
class ErasurePreview:
    conversations: int
    messages: int
    consent_records: int
    contact_details: int
    access_records: int  # audit entries about them: kept, pseudonymised
    held_conversations: int
    conversation_references: tuple[str, ...]

    @property
    def blocked(self) -> bool:
        return self.held_conversations > 0


def _subject_ids(visitor: Visitor) -> dict[str, list[int]]:
    conversation_ids = list(
        Conversation.objects.filter(company_id=visitor.company_id, visitor=visitor).values_list(
            "id", flat=True
        )
    )
    return {
        "conversations": conversation_ids,
        "consent_records": list(
            ConsentRecord.objects.filter(
                company_id=visitor.company_id, visitor=visitor
            ).values_list("id", flat=True)
        ),
        "legal_holds": list(
            LegalHold.objects.filter(
                company_id=visitor.company_id, conversation_id__in=conversation_ids
            ).values_list("id", flat=True)
        ),
    }


def subject_audit_entries(*, visitor: Visitor) -> QuerySet[LogEntry]:
    """Audit entries about the subject's rows: the visitor, their conversations,
    messages, consent records, contact requests and legal holds (by content type
    and object id), and the company's entries that name the visitor or one of
    their conversations in additional_data (contact requests, ...).

    Erasure pseudonymises these (retention.services.pseudonymise); it does not
    delete them: they are the record of who accessed the subject's data.
    """
    ids = _subject_ids(visitor)
    types = ContentType.objects.get_for_models(
        Visitor, Conversation, Message, ConsentRecord, ContactRequest, LegalHold
    )
    message_ids = Message.objects.filter(conversation_id__in=ids["conversations"]).values("id")
    contact_request_ids = ContactRequest.objects.filter(
        conversation_id__in=ids["conversations"]
    ).values("id")
    # index auditlog_company_time ((additional_data -> 'company_id'), timestamp DESC)
    return audit_entries_for_company(visitor.company_id).filter(
        Q(content_type=types[Visitor], object_id=visitor.pk)
        | Q(content_type=types[Conversation], object_id__in=ids["conversations"])
        | Q(content_type=types[Message], object_id__in=message_ids)
        | Q(content_type=types[ConsentRecord], object_id__in=ids["consent_records"])
        | Q(content_type=types[ContactRequest], object_id__in=contact_request_ids)
        | Q(content_type=types[LegalHold], object_id__in=ids["legal_holds"])
        | Q(additional_data__visitor_id=visitor.pk)
        | Q(additional_data__conversation_id__in=ids["conversations"])
    )


def erasure_preview(*, visitor: Visitor) -> ErasurePreview:
    conversations = Conversation.objects.filter(company_id=visitor.company_id, visitor=visitor)
    return ErasurePreview(
        conversations=conversations.count(),
        messages=Message.objects.filter(
            company_id=visitor.company_id, conversation__visitor=visitor
        ).count(),
        consent_records=ConsentRecord.objects.filter(
            company_id=visitor.company_id, visitor=visitor
        ).count(),
        contact_details=sum(1 for v in (visitor.name, visitor.email, visitor.phone) if v),
        access_records=subject_audit_entries(visitor=visitor).count(),
        held_conversations=conversations.filter(legal_hold=True).count(),
        conversation_references=tuple(
            conversations.order_by("-last_message_at").values_list("reference", flat=True)[:20]
        ),
    )


def erasure_request_list(*, company: Company, limit: int = 50) -> list[ErasureRequest]:
    return list(
        ErasureRequest.objects.filter(company=company)
        .select_related("requested_by")
        .order_by("-created_at", "-id")[:limit]
    )


def erasure_request_visible(*, membership: Membership) -> QuerySet[ErasureRequest]:
    """Admins see every request of their company; others only the ones they opened."""
    qs = ErasureRequest.objects.filter(company_id=membership.company_id)
    if membership.role != Membership.Role.ADMIN:
        qs = qs.filter(requested_by_id=membership.user_id)
    return qs


def erasure_request_get_for_staff(*, membership: Membership, request_id: int) -> ErasureRequest:
    """A request this member may see and act on, else Http404 (alike for "not yours"
    and "does not exist"): visible to them, and their teams may erase on the
    visitor's inbox (a request whose visitor is gone stays visible)."""
    erasure = get_for_company_or_404(
        erasure_request_visible(membership=membership).select_related("visitor"),
        company_id=membership.company_id,
        pk=request_id,
    )
    if erasure.visitor_id and not has_right(
        membership=membership, inbox_id=erasure.visitor.inbox_id, right=ERASE
    ):
        raise Http404("No such page.")
    return erasure


def conversation_get_for_erasure(*, membership: Membership, conversation_id: int) -> Conversation:
    """A conversation of the member's company on whose inbox their teams may erase,
    else Http404 (the erasure page of a conversation they may not erase does not exist)."""
    conversation = get_for_company_or_404(
        Conversation.objects.select_related("visitor"),
        company_id=membership.company_id,
        pk=conversation_id,
    )
    if not has_right(membership=membership, inbox_id=conversation.inbox_id, right=ERASE):
        raise Http404("No such page.")
    return conversation


# --------------------------------------------------------------------------- #
# Data-subject requests and their deadlines (Art. 12(3))
# --------------------------------------------------------------------------- #

DUE_SOON_DAYS = 7
SUBJECT_REQUEST_FILTERS = ("open", "due", "closed", "all")


def _with_deadline(qs: QuerySet[SubjectRequest], *, today: date) -> list[SubjectRequest]:
    """The rows, each with `days_left` (negative: overdue) computed for display."""
    rows = list(qs)
    for row in rows:
        row.days_left = (row.deadline - today).days
    return rows


def subject_requests_open(*, company: Company) -> QuerySet[SubjectRequest]:
    # index subject_request_due (company_id, status, due_on)
    return SubjectRequest.objects.filter(
        company=company, status__in=SubjectRequest.OPEN_STATUSES
    ).annotate(deadline_on=Coalesce("extended_due_on", "due_on"))


def subject_request_list(
    *, company: Company, show: str, today: date, limit: int = 200
) -> list[SubjectRequest]:
    """open: every open request, soonest deadline first; due: open and due within
    DUE_SOON_DAYS days (or overdue); closed: the newest closed; all: newest first."""
    if show in ("open", "due"):
        qs = subject_requests_open(company=company)
        if show == "due":
            qs = qs.filter(deadline_on__lte=today + timedelta(days=DUE_SOON_DAYS))
        qs = qs.order_by("deadline_on", "id")
    else:
        # index subject_request_company (company_id, received_on DESC)
        qs = SubjectRequest.objects.filter(company=company).order_by("-received_on", "-id")
        if show == "closed":
            qs = qs.exclude(status__in=SubjectRequest.OPEN_STATUSES)
    return _with_deadline(qs.select_related("handled_by")[:limit], today=today)


def subject_request_get(*, company: Company, request_id: int, today: date) -> SubjectRequest:
    """One request of this company, else Http404 (alike for "not yours" and "does not exist")."""
    request = get_for_company_or_404(
        SubjectRequest.objects.select_related("handled_by", "erasure", "company"),
        company_id=company.pk,
        pk=request_id,
    )
    request.days_left = (request.deadline - today).days
    return request


@dataclass(frozen=True)
class RequestsDue:
    open_count: int
    due_soon: list[SubjectRequest]


def subject_requests_due(*, company: Company, today: date, limit: int = 10) -> RequestsDue:
    """For the console home: how many requests are open, and those due within a week."""
    return RequestsDue(
        open_count=subject_requests_open(company=company).count(),
        due_soon=subject_request_list(company=company, show="due", today=today, limit=limit),
    )
