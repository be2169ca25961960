"""Access requests (Art. 15 / 20): everything held about one visitor, machine-readable.

Invariant: an export holds the data of exactly one visitor (their contact
details, conversations with decrypted messages, consent records, and which
teams opened their conversations and when) and nothing about anyone else: no
staff usernames, only team names or a role. Every export writes one audit entry
"visitor.export" with counts only.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from auditlog.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership, Team
from chatbot_site.lib.audit import audit_access
from consent.models import ConsentRecord
from conversations.models import Conversation, Message, Visitor

EXPORT_FORMAT = "hafen.visitor-export/1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _accesses(*, visitor: Visitor, references: dict[int, str]) -> list[dict[str, Any]]:
    """Reads of the visitor's conversations (and personal data) from the audit log."""
    types = ContentType.objects.get_for_models(Conversation, Visitor)
    entries = list(
        LogEntry.objects.filter(action=LogEntry.Action.ACCESS)
        .filter(
            Q(content_type=types[Conversation], object_id__in=list(references))
            | Q(content_type=types[Visitor], object_id=visitor.pk)
        )
        .order_by("timestamp", "id")
        .values("timestamp", "actor_id", "content_type_id", "object_id", "additional_data")
    )
    actor_ids = {e["actor_id"] for e in entries if e["actor_id"]}
    teams: dict[int, list[str]] = defaultdict(list)
    for user_id, name in Team.objects.filter(
        company_id=visitor.company_id, group__user__in=actor_ids
    ).values_list("group__user", "name"):
        teams[user_id].append(name)
    roles = dict(
        Membership.objects.filter(company_id=visitor.company_id, user_id__in=actor_ids).values_list(
            "user_id", "role"
        )
    )
    out = []
    for e in entries:
        actor = e["actor_id"]
        conversation = (
            references.get(e["object_id"])
            if e["content_type_id"] == types[Conversation].pk
            else None
        )
        out.append(
            {
                "at": _iso(e["timestamp"]),
                "event": (e["additional_data"] or {}).get("event", "access"),
                "conversation": conversation,
                "by": "visitor" if actor is None else "staff",
                "teams": sorted(teams.get(actor, [])),
                "role": roles.get(actor) if actor else None,
            }
        )
    return out


def visitor_export_data(*, visitor: Visitor) -> dict[str, Any]:
    """The export document (no audit entry: call visitor_export)."""
    conversations = list(
        Conversation.objects.filter(company_id=visitor.company_id, visitor=visitor)
        .select_related("inbox")
        .order_by("started_at", "id")
    )
    references = {c.pk: c.reference for c in conversations}
    messages: dict[int, list[dict[str, Any]]] = defaultdict(list)
    # index message_conversation_id (conversation_id, id)
    for m in (
        Message.objects.filter(company_id=visitor.company_id, conversation_id__in=list(references))
        .order_by("conversation_id", "id")
        .only("conversation_id", "sender", "body", "created_at", "redacted_count")
        .iterator(chunk_size=2000)
    ):
        messages[m.conversation_id].append(
            {
                "sender": m.sender,
                "text": m.body,
                "sent_at": _iso(m.created_at),
                "redactions": m.redacted_count,
            }
        )
    consents = ConsentRecord.objects.filter(
        company_id=visitor.company_id, visitor=visitor
    ).select_related("notice")
    company = visitor.company
    return {
        "format": EXPORT_FORMAT,
        "generated_at": _iso(timezone.now()),
        "controller": {
            "name": company.name,
            "privacy_contact": company.privacy_contact,
            "data_location": company.data_location,
        },
        "visitor": {
            "first_seen_at": _iso(visitor.created_at),
            "last_seen_at": _iso(visitor.last_seen_at),
            "resume_token_expires_at": _iso(visitor.token_expires_at),
            "contact_details": {
                "name": visitor.name,
                "email": visitor.email,
                "phone": visitor.phone,
            },
        },
        "conversations": [
            {
                "reference": c.reference,
                "inbox": c.inbox.name,
                "status": c.status,
                "started_at": _iso(c.started_at),
                "last_message_at": _iso(c.last_message_at),
                "closed_at": _iso(c.closed_at),
                "personal_data_stripped_at": _iso(c.personal_data_stripped_at),
                "under_legal_hold": c.legal_hold,
                "messages": messages.get(c.pk, []),
            }
            for c in conversations
        ],
        "consent_records": [
            {
                "purpose": r.purpose,
                "action": r.action,
                "notice_version": r.notice.version if r.notice else None,
                "purpose_text": r.purpose_text,
                "recorded_at": _iso(r.recorded_at),
            }
            for r in consents
        ],
        "accesses": _accesses(visitor=visitor, references=references),
    }


def export_counts(data: dict[str, Any]) -> dict[str, int]:
    return {
        "conversations": len(data["conversations"]),
        "messages": sum(len(c["messages"]) for c in data["conversations"]),
        "consent_records": len(data["consent_records"]),
        "accesses": len(data["accesses"]),
    }


def visitor_export(
    *, visitor: Visitor, actor: AbstractBaseUser | None, output: str = "json"
) -> dict[str, Any]:
    """Export and audit it ("visitor.export", counts only; origin admin or visitor)."""
    data = visitor_export_data(visitor=visitor)
    with transaction.atomic():
        audit_access(
            company_id=visitor.company_id,
            actor=actor,
            obj=visitor,
            event="visitor.export",
            origin="admin" if getattr(actor, "is_authenticated", False) else "visitor",
            output=output,
            **export_counts(data),
        )
    return data
