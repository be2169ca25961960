"""The row of a data-subject request and its audit entry, for every path that files one.

Invariant: a SubjectRequest never holds personal data. Who it is about is a
conversation reference or the blind index of a contact e-mail (never the
address); notes and reasons pass through the PII redactor before they are
stored; its audit entries carry ids, kinds and labels only.

Kept apart from retention/services/requests.py (the console's workflow), which
imports the erasure and export services: those record their self-service
requests here, without an import cycle.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from auditlog.models import LogEntry
from django.utils import timezone

from accounts.models import Company
from chatbot_site.lib import pii
from chatbot_site.lib.audit import save_audited
from retention.deadlines import due_date
from retention.models import ErasureRequest, SubjectRequest

TEXT_MAX_LENGTH = 500


def redacted_text(*, company: Company, text: str) -> str:
    """A note or reason as stored: stripped, cut to length, personal data replaced."""
    text = (text or "").strip()[:TEXT_MAX_LENGTH]
    if not text:
        return ""
    safe, _count = pii.redact(text, region=company.country or "DE", language=company.language)
    return safe[:TEXT_MAX_LENGTH]


def audit_data(request: SubjectRequest) -> dict[str, Any]:
    """What every audit entry of a request says about it: ids and labels, nothing personal."""
    return {
        "kind": request.kind,
        "channel": request.channel,
        "status": request.status,
    }


def subject_request_insert(
    *,
    company: Company,
    kind: str,
    channel: str,
    received_on: date,
    actor: Any,
    conversation_reference: str = "",
    email_index: str = "",
    identity_verified: bool = False,
    status: str = SubjectRequest.Status.OPEN,
    erasure: ErasureRequest | None = None,
    exported_at: datetime | None = None,
    now: datetime | None = None,
) -> SubjectRequest:
    """Insert one request with its deadline and write ONE audit entry "subject_request.create"."""
    closed = status not in SubjectRequest.OPEN_STATUSES
    request = SubjectRequest(
        company=company,
        kind=kind,
        channel=channel,
        status=status,
        received_on=received_on,
        due_on=due_date(received_on=received_on),
        conversation_reference=conversation_reference,
        email_index=email_index,
        identity_verified=identity_verified,
        erasure=erasure,
        exported_at=exported_at,
        handled_by=actor if getattr(actor, "is_authenticated", False) else None,
        closed_at=(now or timezone.now()) if closed else None,
    )
    return save_audited(
        request,
        actor=actor,
        action=LogEntry.Action.CREATE,
        event="subject_request.create",
        pk_as="subject_request_id",
        **audit_data(request),
        erasure_request_id=erasure.pk if erasure else None,
    )


def subject_request_record_self_service(
    *,
    company: Company,
    kind: str,
    conversation_reference: str = "",
    erasure: ErasureRequest | None = None,
    exported_at: datetime | None = None,
    now: datetime | None = None,
) -> SubjectRequest:
    """A request the visitor filed and got answered at once from the chat page (done).

    Their bearer token was checked by the API, so the identity is verified. Call
    inside the transaction that erased or exported, so both or neither exist.
    An erasure's request keeps no conversation reference: the erased
    conversations' references must be gone from every table; the linked
    ErasureRequest (its receipt and subject pseudonym) is the record.
    """
    now = now or timezone.now()
    return subject_request_insert(
        company=company,
        kind=kind,
        channel=SubjectRequest.Channel.CHAT,
        received_on=timezone.localdate(now),
        actor=None,
        conversation_reference=conversation_reference,
        identity_verified=True,
        status=SubjectRequest.Status.DONE,
        erasure=erasure,
        exported_at=exported_at,
        now=now,
    )
