"""Visitor consent API: the notice gate, contact details with opt-in, withdrawal.

Paths are full (mounted at /api/): /api/chat/<public_key>/notice, …/contact, …
Errors are JSON {"error": code, "message": text}; no response or error ever
echoes submitted personal data back except the visitor's own stored details.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from consent import selectors, services
from consent.models import ConsentRecord, PrivacyNotice
from conversations.api import (
    AUTH_ERRORS,
    ERRORS,
    INVALID,
    ErrorOut,
    NoticeRequiredOut,
    limit_client,
    limit_public,
    limit_visitor_only,
)
from conversations.api_auth import inbox_or_404, visitor_or_401, visitor_or_none
from conversations.models import Inbox, Visitor

router = Router(tags=["consent"])


# Schema names are unique across the API modules (they are global in the
# OpenAPI document): hence ConsentNoticeOut and ConsentInfoOut.


class ConsentNoticeOut(Schema):
    version: int
    language: str  # the inbox's language if the notice has that translation
    title: str
    text: str
    published_at: datetime


class NoticeStateOut(Schema):
    required: bool
    owed: bool
    notice: ConsentNoticeOut | None
    transparency_url: str


class AcceptIn(Schema):
    version: int


class AcceptOut(Schema):
    token: str | None
    accepted_version: int
    message: str


class NoticeOutdatedOut(ErrorOut):
    notice_version: int = Field(description="The current version, the one to accept.")


class ConsentInfoOut(Schema):
    message: str


def _no_default(schema: dict) -> None:
    """For a field the server refuses without: the document shows no default."""
    schema.pop("default", None)


# The limits of consent.services.visitors, stated for the document only: the
# service applies them after trimming (name and purpose with whitespace runs
# collapsed) and refuses with a 400 that names the field, not a 422; without
# `purpose`, with an `opt_in` other than true, or with neither an email nor a
# phone number it refuses with 400 as well.
class ContactIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "required": ["purpose", "opt_in"],
            "anyOf": [
                {"required": [field], "properties": {field: {"pattern": r"\S"}}}
                for field in ("email", "phone")
            ],
        }
    )

    name: str = Field(
        "", description="At most 200 characters.", json_schema_extra={"maxLength": 200}
    )
    email: str = Field(
        "",
        description="An email address (at most 254 characters); email or phone is required.",
        json_schema_extra={"maxLength": 254},
    )
    phone: str = Field(
        "",
        description=(
            "A valid phone number (at most 40 characters; national numbers in the "
            "company's country); email or phone is required. Stored as E.164."
        ),
        json_schema_extra={"maxLength": 40},
    )
    purpose: str = Field(
        "",
        description="Why the details are given (required, at most 300 characters).",
        json_schema_extra=lambda schema: (
            schema.update(minLength=1, maxLength=300, pattern=r"\S") or _no_default(schema)
        ),
    )
    # Any JSON value: only the literal `true` counts as consent ("yes", 1, "on" do not),
    # and everything else gets the same clear 400 rather than a schema error.
    opt_in: Any = Field(
        False,
        description="Must be the literal true (400 opt_in_required otherwise).",
        json_schema_extra=lambda schema: schema.update(const=True) or _no_default(schema),
    )


class ContactOut(Schema):
    granted: bool
    name: str
    email: str
    phone: str
    message: str


class RecordOut(Schema):
    purpose: ConsentRecord.Purpose
    action: ConsentRecord.Action
    notice_version: int | None
    purpose_text: str
    recorded_at: datetime


class ContactStateOut(Schema):
    granted: bool
    name: str
    email: str
    phone: str
    purpose: str  # what the contact form states as the purpose right now
    requested: bool  # an operator asked and the visitor has not answered yet


class ConsentsOut(Schema):
    notice: NoticeStateOut
    accepted_version: int | None
    contact: ContactStateOut
    records: list[RecordOut]


def _notice_out(notice: PrivacyNotice | None, *, language: str) -> ConsentNoticeOut | None:
    if notice is None:
        return None
    shown_language, title, text = notice.in_language(language)
    return ConsentNoticeOut(
        version=notice.version,
        language=shown_language,
        title=title,
        text=text,
        published_at=notice.published_at,
    )


def _notice_state(inbox: Inbox, visitor: Visitor | None) -> NoticeStateOut:
    current = selectors.notice_current(company_id=inbox.company_id)
    owed = selectors.notice_to_accept(inbox=inbox, visitor=visitor) is not None
    return NoticeStateOut(
        required=inbox.notice_required,
        owed=owed,
        notice=_notice_out(current, language=inbox.language),
        transparency_url=reverse("consent:transparency", args=[inbox.company.slug]),
    )


@router.get("/chat/{public_key}/notice", response={200: NoticeStateOut, **ERRORS})
def notice_get(request: HttpRequest, public_key: str):
    """The current notice, whether this inbox requires it, and whether the visitor owes it."""
    inbox = inbox_or_404(public_key)
    limit_public(request, inbox)  # per client (public calls) and per inbox
    with translation.override(inbox.language):
        return _notice_state(inbox, visitor_or_none(request, inbox=inbox))


@router.post(
    "/chat/{public_key}/notice/accept",
    response={
        200: AcceptOut,
        201: AcceptOut,
        400: ErrorOut,
        409: NoticeOutdatedOut,
        **ERRORS,
        **INVALID,
    },
)
def notice_accept(request: HttpRequest, public_key: str, payload: AcceptIn):
    """Accept the current notice; without a valid token an anonymous visitor is created.

    The token (shown once) comes back only when a visitor was created.
    """
    inbox = inbox_or_404(public_key)
    limit_public(request, inbox)  # per client (public calls) and per inbox
    with translation.override(inbox.language):
        visitor = visitor_or_none(request, inbox=inbox)
        accepted = services.notice_accept(inbox=inbox, visitor=visitor, version=payload.version)
        status = 201 if accepted.token else 200
        return Status(
            status,
            AcceptOut(
                token=accepted.token,
                accepted_version=accepted.notice.version,
                message=_("Thank you. You can start the chat now."),
            ),
        )


@router.post("/chat/{public_key}/notice/decline", response={200: ConsentInfoOut, **ERRORS})
def notice_decline(request: HttpRequest, public_key: str):
    """Declining stores nothing at all; the answer explains what that means."""
    inbox = inbox_or_404(public_key)
    limit_public(request, inbox)  # per client (public calls) and per inbox
    with translation.override(inbox.language):
        return ConsentInfoOut(
            message=_(
                "You declined the privacy notice. Nothing was stored. The chat can only "
                "start once the notice is accepted; you can change your mind at any time."
            )
        )


@router.post(
    "/chat/{public_key}/contact",
    response={
        201: ContactOut,
        400: ErrorOut,
        403: NoticeRequiredOut,
        **AUTH_ERRORS,
        **INVALID,
    },
)
def contact_give(request: HttpRequest, public_key: str, payload: ContactIn):
    """Store contact details, only with opt_in=true and a stated purpose."""
    inbox = inbox_or_404(public_key)
    limit_client(request, inbox)  # per client and per inbox; per visitor below
    with translation.override(inbox.language):
        visitor = visitor_or_401(request, inbox=inbox)
        limit_visitor_only(visitor)
        services.notice_require(inbox=inbox, visitor=visitor)
        details = services.contact_details_give(
            visitor=visitor,
            name=payload.name,
            email=payload.email,
            phone=payload.phone,
            purpose=payload.purpose,
            opt_in=payload.opt_in,
        )
        return Status(
            201,
            ContactOut(
                granted=True,
                name=details.name,
                email=details.email,
                phone=details.phone,
                message=_(
                    "Thank you. We stored your contact details; you can withdraw at any time."
                ),
            ),
        )


@router.post("/chat/{public_key}/contact/withdraw", response={200: ConsentInfoOut, **AUTH_ERRORS})
def contact_withdraw(request: HttpRequest, public_key: str):
    """Wipe the visitor's contact details at once and record the withdrawal."""
    inbox = inbox_or_404(public_key)
    limit_client(request, inbox)  # per client and per inbox; per visitor below
    with translation.override(inbox.language):
        visitor = visitor_or_401(request, inbox=inbox)
        limit_visitor_only(visitor)
        services.contact_details_withdraw(visitor=visitor)
        return ConsentInfoOut(
            message=_("Your contact details have been deleted. Thank you for letting us know.")
        )


@router.get("/chat/{public_key}/consents", response={200: ConsentsOut, **AUTH_ERRORS})
def consents_get(request: HttpRequest, public_key: str):
    """The visitor's own consent state and history (their own details included)."""
    inbox = inbox_or_404(public_key)
    limit_client(request, inbox)  # per client and per inbox; per visitor below
    with translation.override(inbox.language):
        visitor = visitor_or_401(request, inbox=inbox)
        limit_visitor_only(visitor)
        records = selectors.consent_records_for_visitor(visitor=visitor)
        accepted = [
            r.notice.version
            for r in records
            if r.purpose == ConsentRecord.Purpose.NOTICE
            and r.action == ConsentRecord.Action.GRANTED
            and r.notice_id
        ]
        pending = selectors.contact_request_pending(visitor=visitor)
        granted = selectors.visitor_has_contact_consent(visitor=visitor)
        return ConsentsOut(
            notice=_notice_state(inbox, visitor),
            accepted_version=accepted[-1] if accepted else None,
            contact=ContactStateOut(
                granted=granted,
                name=visitor.name if granted else "",
                email=visitor.email if granted else "",
                phone=visitor.phone if granted else "",
                purpose=pending.purpose_text if pending else services.default_contact_purpose(),
                requested=pending is not None,
            ),
            records=[
                RecordOut(
                    purpose=r.purpose,
                    action=r.action,
                    notice_version=r.notice.version if r.notice_id else None,
                    purpose_text=r.purpose_text,
                    recorded_at=r.recorded_at,
                )
                for r in records
            ],
        )
