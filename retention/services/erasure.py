"""Erasure (Art. 17): delete everything held about one visitor, at once, with a signed receipt.

Invariant: after an erasure, no table holds the visitor's conversations,
messages, contact details or consent records, and no audit entry points at any
of them or holds personal data. The audit entries ABOUT them (who opened,
revealed, exported what, when and why) are kept, pseudonymised: the subject is
"erased-subject-<request id>" (retention/services/pseudonymise.py, one UPDATE),
so an admin or operator who erases cannot remove the trace of their own access
(Art. 5(2), Art. 17(3)(b) and (e) GDPR; docs/privacy.md). What remains besides
is the ErasureRequest with its receipt (counts per kind, the access records
kept and their pseudonym, when, by whom, HMAC-signed, no personal data) and ONE
audit entry "erasure.execute" with counts only. Everything happens in one
transaction.
The same transaction writes the erasure's ledger entry (pseudonymous, see
retention/services/ledger.py) as a row and as a line in the ledger file outside
the database; if that line cannot be written the erasure fails and rolls back,
because an erasure the ledger does not know could come back with a restore.
Conversations under legal hold block the erasure (Art. 17(3)(e)).

Consent records are deleted with the visitor, not kept anonymised: once the
data they justified is gone there is nothing left to prove consent for
(Art. 7(1)), and an anonymous record tied to nothing proves nothing. The
receipt keeps their count.
"""

from __future__ import annotations

import logging
from datetime import datetime

from auditlog.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Company, Membership
from chatbot_site.lib.audit import audit_access, save_audited
from chatbot_site.lib.errors import ServiceError
from conversations.models import Conversation, Visitor
from conversations.rights import ERASE, require_right
from retention.models import ErasureLedgerEntry, ErasureRequest, SubjectRequest
from retention.selectors import subject_audit_entries
from retention.services.ledger import LedgerError, ledger_append, ledger_record
from retention.services.pseudonymise import audit_entries_pseudonymise, subject_pseudonym
from retention.services.receipts import receipt_build
from retention.services.receipts import receipt_verify as receipt_verify  # re-exported
from retention.services.request_records import subject_request_record_self_service
from retention.services.statements import conversations_delete, visitors_delete

logger = logging.getLogger(__name__)


class ErasureError(ServiceError):
    """The erasure cannot run; the message says why, for the admin or the visitor.

    409 by default (gone, legal_hold); 503 when the ledger cannot be written.
    """

    status = 409


def erasure_request_create(
    *,
    company: Company,
    visitor: Visitor,
    actor: AbstractBaseUser | None,
    origin: str = ErasureRequest.Origin.ADMIN,
    membership: Membership | None = None,
) -> ErasureRequest:
    """Open a request (pending) for this visitor; the preview is logged as an access.

    `membership`: the staff member asking (console); they need the erase right
    on the visitor's inbox (NotAllowed otherwise). None for the visitor's own
    request, a restore and the command line.
    """
    if visitor.company_id != company.pk:
        raise ValueError("visitor of another company")
    if membership is not None:
        require_right(membership=membership, inbox_id=visitor.inbox_id, right=ERASE)
    with transaction.atomic():
        request = ErasureRequest.objects.create(
            company=company,
            visitor=visitor,
            origin=origin,
            requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_access(company_id=company.pk, actor=actor, obj=request, event="erasure.preview")
    return request


def _executed_by(*, actor: AbstractBaseUser | None, origin: str) -> int | str:
    """A staff user's id, "visitor" for self-service, "system" for the command line."""
    if getattr(actor, "is_authenticated", False):
        return actor.pk
    return "visitor" if origin == ErasureRequest.Origin.VISITOR else "system"


@transaction.atomic
def erasure_execute(
    *,
    request: ErasureRequest,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
    reapplies_request_id: int | None = None,
    membership: Membership | None = None,
) -> ErasureRequest:
    """Erase the request's visitor and everything about them; returns the done request.

    `membership`: the staff member confirming (console); they need the erase
    right on the visitor's inbox (NotAllowed otherwise).
    `reapplies_request_id` is set by `erasures_reapply`: the request id of the
    ledger entry this erasure repeats after a restore (recorded in the ledger).
    """
    request = ErasureRequest.objects.select_for_update().get(pk=request.pk)
    if membership is not None and request.visitor_id is not None:
        require_right(membership=membership, inbox_id=request.visitor.inbox_id, right=ERASE)
    if request.status == ErasureRequest.Status.DONE:
        return request
    visitor = (
        Visitor.objects.select_for_update()
        .filter(company_id=request.company_id, pk=request.visitor_id)
        .first()
    )
    if visitor is None:
        raise ErasureError(
            _("This visitor's data is already gone (erased or deleted by retention)."),
            code="gone",
        )
    conversations = Conversation.objects.filter(company_id=request.company_id, visitor=visitor)
    conversation_ids = list(conversations.select_for_update().values_list("id", flat=True))
    if conversations.filter(legal_hold=True).exists():
        raise ErasureError(
            _(
                "A conversation of this visitor is under legal hold; lift the hold "
                "before erasing (Art. 17(3)(e) GDPR)."
            ),
            code="legal_hold",
        )
    # Audit entries first: they are found through the rows about to go.
    pseudonym = subject_pseudonym(request_id=request.pk)
    access_records_kept = audit_entries_pseudonymise(
        entries=subject_audit_entries(visitor=visitor), pseudonym=pseudonym
    )
    contact_details = sum(1 for v in (visitor.name, visitor.email, visitor.phone) if v)
    deleted = conversations_delete(conversation_ids=conversation_ids)
    deleted.update(visitors_delete(visitor_ids=[visitor.pk], with_conversations=True))
    erased = {
        "conversations": deleted["conversations.Conversation"],
        "messages": deleted["conversations.Message"],
        "contact_details": contact_details,
        "consent_records": deleted["consent.ConsentRecord"],
        "legal_holds": deleted["retention.LegalHold"],
        "visitors": deleted["conversations.Visitor"],
    }
    request.status = ErasureRequest.Status.DONE
    request.executed_at = now or timezone.now()
    request.visitor = None
    request.receipt = receipt_build(
        request=request,
        erased=erased,
        executed_by=_executed_by(actor=actor, origin=request.origin),
        access_records_kept=access_records_kept,
        subject_pseudonym=pseudonym,
    )
    save_audited(
        request,
        actor=actor,
        action=LogEntry.Action.DELETE,
        event="erasure.execute",
        origin=request.origin,
        subject=pseudonym,
        access_records_kept=access_records_kept,
        **{f"erased_{k}": v for k, v in erased.items()},
    )
    _ledger_write(request=request, visitor=visitor, reapplies_request_id=reapplies_request_id)
    return request


def _ledger_write(
    *, request: ErasureRequest, visitor: Visitor, reapplies_request_id: int | None
) -> None:
    """The ledger row and file line; the file last, so nothing after it can fail but the commit."""
    record = ledger_record(
        company_id=request.company_id,
        request_id=request.pk,
        origin=request.origin,
        visitor_id=visitor.pk,
        token_hash=visitor.token_hash,
        executed_at=request.executed_at,
        reapplies_request_id=reapplies_request_id,
    )
    ErasureLedgerEntry.objects.create(
        company_id=record.company_id,
        request=request,
        origin=record.origin,
        visitor_ref=record.visitor_ref,
        token_ref=record.token_ref,
        executed_at=record.executed_at,
        reapplies_request_id=record.reapplies_request_id,
    )
    try:
        ledger_append(record=record)
    except LedgerError as exc:
        logger.error("erasure of request %s refused: %s", request.pk, exc)
        raise ErasureError(
            _(
                "The erasure could not be recorded in the erasure ledger, so nothing was "
                "erased. Please try again later or tell the administrator."
            ),
            code="ledger_unavailable",
            status=503,
        ) from None


def erasure_self_service(*, visitor: Visitor) -> ErasureRequest:
    """The visitor erases their own data from the chat page: same service, origin visitor.

    Also records the data-subject request (chat self-service, done, linked to
    this erasure) in the same transaction, before the erasure's ledger line.
    """
    with transaction.atomic():
        request = erasure_request_create(
            company=visitor.company,
            visitor=visitor,
            actor=None,
            origin=ErasureRequest.Origin.VISITOR,
        )
        subject_request_record_self_service(
            company=visitor.company, kind=SubjectRequest.Kind.ERASURE, erasure=request
        )
        return erasure_execute(request=request, actor=None)
