"""Data-subject requests (Art. 12(3) GDPR): filed, extended, answered or refused on time.

Invariants:
- a request is answered within one calendar month of receipt; an extension adds
  at most two further months in all, needs a written reason and is only
  possible while the request is open (retention/deadlines.py does the maths);
- every status change is a conditional write (UPDATE ... WHERE status IN the
  open ones) whose row count is checked: of two admins acting at once exactly
  one wins, the other gets SubjectRequestError "conflict", never a silent
  overwrite;
- answering an erasure request runs the erasure services; answering an access
  request runs the export service; both in the transaction that closes the
  request, so a request is done exactly when its erasure or export happened;
- no personal data is stored on the request or in its audit entries (see
  retention/services/request_records.py); only company admins act on requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from auditlog.models import LogEntry
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership
from chatbot_site.lib.audit import audit_event
from chatbot_site.lib.crypto import blind_index
from chatbot_site.lib.errors import NotAllowed, ServiceError
from conversations.models import Conversation, Visitor
from retention import selectors
from retention.deadlines import MAX_EXTENSION_MONTHS, due_date
from retention.models import SubjectRequest
from retention.services.erasure import erasure_execute, erasure_request_create
from retention.services.export import visitor_export
from retention.services.request_records import (
    TEXT_MAX_LENGTH,
    audit_data,
    redacted_text,
    subject_request_insert,
    subject_request_record_self_service,
)

Status = SubjectRequest.Status
OPEN = list(SubjectRequest.OPEN_STATUSES)


class SubjectRequestError(ServiceError):
    """The request cannot change as asked: closed, lost a race, bad identity, bad extension."""

    code = "conflict"
    status = 409


@dataclass(frozen=True)
class Fulfilment:
    request: SubjectRequest
    export: dict[str, Any] | None = None  # the access request's export document


def _require_admin(*, membership: Membership, company_id: int) -> None:
    if membership.role != Membership.Role.ADMIN or membership.company_id != company_id:
        raise NotAllowed(_("Only the company's admins handle data-subject requests."))


def _require_open(request: SubjectRequest) -> None:
    if not request.is_open:
        raise SubjectRequestError(
            _("This request is closed (%(status)s); nothing can change it any more.")
            % {"status": request.get_status_display()},
            code="closed",
        )


def _transition(
    *,
    request: SubjectRequest,
    membership: Membership | None,
    event: str,
    expect: dict[str, Any] | None = None,
    **changes: Any,
) -> SubjectRequest:
    """The conditional write: change the row only if it is still open (and as read), then audit.

    Call inside a transaction. The UPDATE waits for a concurrent one on the same
    row and then re-checks its WHERE, so the later of two writers finds 0 rows.
    """
    rows = SubjectRequest.objects.filter(
        pk=request.pk, company_id=request.company_id, status__in=OPEN, **(expect or {})
    ).update(**changes)
    if rows != 1:
        current = SubjectRequest.objects.filter(pk=request.pk).first()
        raise SubjectRequestError(
            _(
                "Someone else changed this request in the meantime (it is now %(status)s). "
                "Reload the page to see what they did."
            )
            % {"status": current.get_status_display() if current else _("gone")},
            code="conflict",
        )
    request.refresh_from_db()
    audit_event(
        company_id=request.company_id,
        actor=membership.user if membership else None,
        obj=request,
        action=LogEntry.Action.UPDATE,
        event=event,
        subject_request_id=request.pk,
        **audit_data(request),
    )
    return request


# --------------------------------------------------------------------------- #
# Filing
# --------------------------------------------------------------------------- #


def subject_identity(*, company_id: int, conversation_reference: str = "", email: str = "") -> dict:
    """What the request records about who it concerns: a known reference or a known e-mail's
    blind index (the address itself is dropped here). Exactly one of the two."""
    reference = (conversation_reference or "").strip().upper()
    email = (email or "").strip()
    if bool(reference) == bool(email):
        raise SubjectRequestError(
            _("Give either the conversation reference or the contact e-mail address."),
            code="identity_missing",
            status=400,
        )
    if reference:
        if not Conversation.objects.filter(company_id=company_id, reference=reference).exists():
            raise SubjectRequestError(
                _("No conversation of this company has that reference."),
                code="unknown_reference",
                status=400,
                field="conversation_reference",
            )
        return {"conversation_reference": reference}
    index = blind_index(email)
    # index visitor_company_email (company_id, email_index)
    if not Visitor.objects.filter(company_id=company_id, email_index=index).exists():
        raise SubjectRequestError(
            _("No visitor of this company left that e-mail address."),
            code="no_match",
            status=400,
            field="email",
        )
    return {"email_index": index}


def subject_request_create(
    *,
    membership: Membership,
    kind: str,
    channel: str,
    received_on: date,
    conversation_reference: str = "",
    email: str = "",
    now: datetime | None = None,
) -> SubjectRequest:
    """File a request received by e-mail, letter, phone, ...; due one month after receipt."""
    _require_admin(membership=membership, company_id=membership.company_id)
    if kind not in SubjectRequest.Kind.values or channel not in SubjectRequest.Channel.values:
        raise SubjectRequestError(_("Unknown kind or channel."), code="invalid", status=400)
    today = timezone.localdate(now or timezone.now())
    if received_on > today:
        raise SubjectRequestError(
            _("The date of receipt cannot be in the future."),
            code="invalid",
            status=400,
            field="received_on",
        )
    identity = subject_identity(
        company_id=membership.company_id,
        conversation_reference=conversation_reference,
        email=email,
    )
    with transaction.atomic():
        return subject_request_insert(
            company=membership.company,
            kind=kind,
            channel=channel,
            received_on=received_on,
            actor=membership.user,
            now=now,
            **identity,
        )


def _required_text(*, membership: Membership, text: str, field: str, message) -> str:
    """A reason or note as stored (redacted); refused with `message` when empty."""
    safe = redacted_text(company=membership.company, text=text)
    if not safe:
        raise SubjectRequestError(message, code=f"{field}_missing", status=400, field=field)
    return safe


# --------------------------------------------------------------------------- #
# While open
# --------------------------------------------------------------------------- #


@transaction.atomic
def subject_request_extend(
    *, membership: Membership, request: SubjectRequest, months: int, reason: str
) -> SubjectRequest:
    """Extend the deadline by `months` (at most two further months in all), with a reason."""
    _require_admin(membership=membership, company_id=request.company_id)
    _require_open(request)
    safe_reason = _required_text(
        membership=membership,
        text=reason,
        field="reason",
        message=_("Give the reason for the extension; the person must be told why."),
    )
    total = request.extension_months + int(months)
    if months < 1 or total > MAX_EXTENSION_MONTHS:
        raise SubjectRequestError(
            _(
                "A request can be extended by at most two further months in all "
                "(already extended by %(months)s)."
            )
            % {"months": request.extension_months},
            code="extension_too_long",
            status=400,
            field="months",
        )
    if request.extension_reason:
        safe_reason = f"{request.extension_reason} / {safe_reason}"[:TEXT_MAX_LENGTH]
    return _transition(
        request=request,
        membership=membership,
        event="subject_request.extend",
        # as read: two extensions at once cannot both add their months
        expect={"extension_months": request.extension_months},
        extension_months=total,
        extended_due_on=due_date(received_on=request.received_on, extension_months=total),
        extension_reason=safe_reason,
        handled_by=membership.user,
    )


@transaction.atomic
def subject_request_wait_identity(
    *, membership: Membership, request: SubjectRequest
) -> SubjectRequest:
    """Mark the request as waiting for the person to prove who they are (Art. 12(6))."""
    _require_admin(membership=membership, company_id=request.company_id)
    if request.status != Status.OPEN:
        _require_open(request)
        raise SubjectRequestError(
            _("This request already waits for the person's identity."), code="unchanged"
        )
    return _transition(
        request=request,
        membership=membership,
        event="subject_request.wait_identity",
        expect={"status": Status.OPEN},
        status=Status.WAITING_IDENTITY,
        handled_by=membership.user,
    )


# --------------------------------------------------------------------------- #
# Closing
# --------------------------------------------------------------------------- #


def _subject_visitor(request: SubjectRequest) -> Visitor:
    """The one visitor the request names, or SubjectRequestError (gone, or several)."""
    if request.conversation_reference:
        conversation = selectors.conversation_get_by_reference(
            company=request.company, reference=request.conversation_reference
        )
        visitors = [conversation.visitor] if conversation else []
    else:
        # index visitor_company_email (company_id, email_index)
        visitors = list(
            Visitor.objects.filter(
                company_id=request.company_id, email_index=request.email_index
            ).order_by("id")[:2]
        )
    if not visitors:
        raise SubjectRequestError(
            _(
                "The data this request names is gone (erased, or deleted by retention). "
                "Close the request with a note instead."
            ),
            code="gone",
        )
    if len(visitors) > 1:
        raise SubjectRequestError(
            _(
                "Several visitors left this e-mail address; file the request by "
                "conversation reference instead."
            ),
            code="ambiguous",
        )
    return visitors[0]


@transaction.atomic
def subject_request_fulfil(
    *, membership: Membership, request: SubjectRequest, note: str = ""
) -> Fulfilment:
    """Answer the request: erase (erasure), export (access) or record the correction made
    (rectification, note required). The request is closed first, conditionally; a lost
    race raises before anything is erased or exported, a failed erasure rolls it all back.
    """
    _require_admin(membership=membership, company_id=request.company_id)
    _require_open(request)
    user, now = membership.user, timezone.now()
    closing = {"status": Status.DONE, "handled_by": user, "closed_at": now}
    if request.kind == SubjectRequest.Kind.RECTIFICATION:
        safe_note = _required_text(
            membership=membership, text=note, field="note", message=_("Say what was corrected.")
        )
        done = _transition(
            request=request,
            membership=membership,
            event="subject_request.fulfil",
            note=safe_note,
            **closing,
        )
        return Fulfilment(request=done)
    visitor = _subject_visitor(request)
    safe_note = redacted_text(company=membership.company, text=note)
    if request.kind == SubjectRequest.Kind.ACCESS:
        done = _transition(
            request=request,
            membership=membership,
            event="subject_request.fulfil",
            note=safe_note,
            exported_at=now,
            **closing,
        )
        data = visitor_export(visitor=visitor, actor=user, output="json")
        return Fulfilment(request=done, export=data)
    # Erasure. The erased conversations' references and the e-mail's index must be
    # gone from every table: the linked ErasureRequest (receipt, pseudonym) stays.
    erasure = erasure_request_create(
        company=request.company, visitor=visitor, actor=user, membership=membership
    )
    done = _transition(
        request=request,
        membership=membership,
        event="subject_request.fulfil",
        note=safe_note,
        erasure=erasure,
        conversation_reference="",
        email_index="",
        **closing,
    )
    # Last: the erasure writes its ledger file line, after which only the commit may fail.
    erasure_execute(request=erasure, actor=user, membership=membership)
    return Fulfilment(request=done)


@transaction.atomic
def subject_request_refuse(
    *, membership: Membership, request: SubjectRequest, reason: str
) -> SubjectRequest:
    """Refuse the request (Art. 12(4), 12(5)): the reason is required and kept, redacted."""
    _require_admin(membership=membership, company_id=request.company_id)
    _require_open(request)
    safe_reason = _required_text(
        membership=membership,
        text=reason,
        field="reason",
        message=_("Give the reason for refusing; the person must be told why."),
    )
    return _transition(
        request=request,
        membership=membership,
        event="subject_request.refuse",
        status=Status.REFUSED,
        refusal_reason=safe_reason,
        handled_by=membership.user,
        closed_at=timezone.now(),
    )


# --------------------------------------------------------------------------- #
# Chat self-service (the visitor's token was checked by the API)
# --------------------------------------------------------------------------- #


def visitor_export_self_service(*, visitor: Visitor) -> dict[str, Any]:
    """The visitor downloads their own data: the export, and a done access request."""
    with transaction.atomic():
        data = visitor_export(visitor=visitor, actor=None, output="json")
        newest = max(data["conversations"], key=lambda c: c["started_at"] or "", default=None)
        subject_request_record_self_service(
            company=visitor.company,
            kind=SubjectRequest.Kind.ACCESS,
            conversation_reference=newest["reference"] if newest else "",
            exported_at=timezone.now(),
        )
    return data
