"""Visitor self-service with the bearer token: export my data, erase my data.

Both answer for the visitor the token belongs to and nobody else; the erasure
is the admin's service with origin "visitor" and returns the same signed receipt.
"""

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from consent.models import ConsentRecord
from conversations.api import (
    AUTH_ERRORS,
    ErrorOut,
    limit_client,
    limit_self_service,
    limit_visitor_only,
)
from conversations.api_auth import inbox_or_404, visitor_or_401
from conversations.models import Conversation, Message
from retention.models import ErasureRequest
from retention.services.erasure import erasure_self_service
from retention.services.requests import visitor_export_self_service

router = Router(tags=["retention"])


# --- schemas (names unique across the API modules) ---------------------------
# Times are ISO 8601 strings exactly as the services wrote them (typed str, so
# validating a response never rewrites them: the receipt's signature covers them).


class ErasedCountsOut(Schema):
    conversations: int
    messages: int
    contact_details: int
    consent_records: int
    legal_holds: int
    visitors: int


class ErasureReceiptPayloadOut(Schema):
    type: Literal["hafen.erasure-receipt"]
    version: int
    alg: Literal["HMAC-SHA256"] = Field(description="How `signature` was computed.")
    kid: str = Field(description="The signing key: the company's own, company-<id>-v1.")
    request_id: int
    company_id: int
    origin: ErasureRequest.Origin
    executed_by: int | Literal["visitor", "system"] = Field(
        description="A staff user's id, or visitor / system."
    )
    executed_at: str = Field(description="ISO 8601 date-time.")
    erased: ErasedCountsOut
    access_records_kept: int = Field(
        description="Audit entries about the visitor kept, pseudonymised (who accessed what, when)."
    )
    subject_pseudonym: str = Field(
        description="What the kept audit entries call the visitor: erased-subject-<request_id>."
    )


class ErasureReceiptOut(Schema):
    receipt: ErasureReceiptPayloadOut
    signature: str = Field(
        description="HMAC-SHA256 (hex) of the canonical JSON of `receipt`, under the key `kid`."
    )


class ExportControllerOut(Schema):
    name: str
    privacy_contact: str
    data_location: str


class ExportContactDetailsOut(Schema):
    name: str
    email: str
    phone: str


class ExportVisitorOut(Schema):
    first_seen_at: str | None
    last_seen_at: str | None
    resume_token_expires_at: str | None
    contact_details: ExportContactDetailsOut


class ExportMessageOut(Schema):
    sender: Message.Sender
    text: str
    sent_at: str | None
    redactions: int


class ExportConversationOut(Schema):
    reference: str
    inbox: str
    status: Conversation.Status
    started_at: str | None
    last_message_at: str | None
    closed_at: str | None
    personal_data_stripped_at: str | None
    under_legal_hold: bool
    messages: list[ExportMessageOut]


class ExportConsentRecordOut(Schema):
    purpose: ConsentRecord.Purpose
    action: ConsentRecord.Action
    notice_version: int | None
    purpose_text: str
    recorded_at: str | None


class ExportAccessOut(Schema):
    at: str | None
    event: str
    conversation: str | None
    by: Literal["visitor", "staff"]
    teams: list[str]
    role: str | None


class VisitorExportOut(Schema):
    format: Literal["hafen.visitor-export/1"]
    generated_at: str | None
    controller: ExportControllerOut
    visitor: ExportVisitorOut
    conversations: list[ExportConversationOut]
    consent_records: list[ExportConsentRecordOut]
    accesses: list[ExportAccessOut]


@router.post(
    "/chat/{public_key}/erase",
    response={200: ErasureReceiptOut, 409: ErrorOut, **AUTH_ERRORS},
    summary="Erase my data (Art. 17)",
    description=(
        "Erases everything held about the visitor and returns the signed receipt. "
        "409 when it cannot run (e.g. a legal hold); 503 when the erasure ledger "
        "cannot be written (nothing was erased)."
    ),
)
def erase(request: HttpRequest, public_key: str) -> dict:
    inbox = inbox_or_404(public_key)
    limit_client(request, inbox)
    visitor = visitor_or_401(request, inbox=inbox)
    limit_self_service(visitor)  # erase and export together, per visitor
    limit_visitor_only(visitor)
    # ErasureError: 409, or 503 ledger_unavailable (nothing was erased, try again later).
    erasure = erasure_self_service(visitor=visitor)
    return erasure.receipt


@router.get(
    "/chat/{public_key}/export",
    response={200: VisitorExportOut, **AUTH_ERRORS},
    summary="Download my data (Art. 15 / 20)",
)
def export(request: HttpRequest, public_key: str) -> dict:
    inbox = inbox_or_404(public_key)
    limit_client(request, inbox)
    visitor = visitor_or_401(request, inbox=inbox)
    limit_self_service(visitor)  # erase and export together, per visitor
    limit_visitor_only(visitor)
    return visitor_export_self_service(visitor=visitor)  # with its done access request
