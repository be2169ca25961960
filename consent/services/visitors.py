"""What visitors consent to: the notice, their contact details; and what is stored without it.

Invariants:
- an acceptance or a withdrawal is a ConsentRecord (purpose, action, notice
  version, time); no IP address, no user agent;
- contact details are stored only with opt_in=True, encrypted, with a blind
  index on the email; a withdrawal writes empty strings into the very columns
  (not an encrypted empty value) and clears the blind index at once;
- without contact consent a visitor's message text is redacted before storing.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Membership
from chatbot_site.lib.audit import save_audited
from chatbot_site.lib.crypto import blind_index
from chatbot_site.lib.pii import redact
from consent.models import ConsentRecord, ContactRequest, PrivacyNotice
from consent.selectors import (
    notice_accepted,
    notice_current,
    notice_to_accept,
    visitor_has_contact_consent,
)
from consent.services.errors import ConsentError
from conversations.events import conversation_changed, visitor_contact_changed
from conversations.models import Conversation, Inbox, Message, Visitor
from conversations.rights import REPLY, require_right
from conversations.search import conversations_reindex
from conversations.services.visitors import visitor_create

NAME_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254
PHONE_MAX_LENGTH = 40
PURPOSE_MAX_LENGTH = 300


def message_text_for_storage(*, visitor: Visitor, text: str) -> tuple[str, int]:
    """The text to store for a visitor's message, and how many spans were redacted."""
    if visitor_has_contact_consent(visitor=visitor):
        return text, 0
    company = visitor.company
    return redact(text, region=company.country, language=visitor.inbox.language)


def _record(
    *, visitor: Visitor, event: str, audit_data: dict | None = None, **fields
) -> ConsentRecord:
    """One ConsentRecord and one audit entry named `event` (ids and versions only).

    auditlog's automatic entry for the row is suppressed so each consent event
    is exactly one entry; purpose_text is never copied into it.
    """
    record = ConsentRecord(company_id=visitor.company_id, visitor=visitor, **fields)
    return save_audited(
        record,
        actor=None,
        action=LogEntry.Action.CREATE,
        event=event,
        pk_as="consent_record_id",
        visitor_id=visitor.pk,
        **({"notice_version": record.notice.version} if record.notice_id else {}),
        **(audit_data or {}),
    )


# --- the notice ------------------------------------------------------------


@dataclass(frozen=True)
class Acceptance:
    visitor: Visitor
    token: str | None  # set only when a visitor was created for this acceptance
    record: ConsentRecord
    notice: PrivacyNotice


@transaction.atomic
def notice_accept(*, inbox: Inbox, visitor: Visitor | None, version: int) -> Acceptance:
    """Record that the visitor accepted notice `version`, creating an anonymous visitor if needed.

    Only the current published version can be accepted; an older (or unknown)
    one is a 409 that names the current version, so the page can show it.
    Accepting the same version twice records it once.
    """
    current = notice_current(company_id=inbox.company_id)
    if current is None:
        raise ConsentError(_("There is no privacy notice to accept."), code="no_notice", status=404)
    if version != current.version:
        raise ConsentError(
            _("This is not the current privacy notice. Please read version %(version)d.")
            % {"version": current.version},
            code="notice_outdated",
            status=409,
            extra={"notice_version": current.version},
        )
    token = None
    if visitor is None:
        visitor, token = visitor_create(inbox=inbox)
    else:
        accepted = notice_accepted(visitor=visitor, notice=current)
        if accepted is not None:
            return Acceptance(visitor=visitor, token=None, record=accepted, notice=current)
    record = _record(
        visitor=visitor,
        event="consent.notice_accept",
        purpose=ConsentRecord.Purpose.NOTICE,
        action=ConsentRecord.Action.GRANTED,
        notice=current,
    )
    return Acceptance(visitor=visitor, token=token, record=record, notice=current)


def notice_require(*, inbox: Inbox, visitor: Visitor | None) -> None:
    """Refuse (403 notice_required) while the visitor owes the inbox's privacy notice.

    The one check before chatting or handing over contact details; the error
    names the version to accept (no query when nothing is required).
    """
    owed = notice_to_accept(inbox=inbox, visitor=visitor)
    if owed is not None:
        raise ConsentError(
            _("Please read and accept the privacy notice before chatting."),
            code="notice_required",
            status=403,
            extra={"notice_version": owed.version},
        )


# --- contact details ---------------------------------------------------------


@dataclass(frozen=True)
class ContactDetails:
    name: str
    email: str
    phone: str


def _clean_phone(phone: str, *, region: str) -> str:
    if not phone:
        return ""
    if len(phone) > PHONE_MAX_LENGTH:
        raise ConsentError(_("This phone number is too long."), code="phone_invalid")
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ConsentError(
            _("This phone number is not valid. Please check it (e.g. +49 30 1234567)."),
            code="phone_invalid",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _clean_email(email: str) -> str:
    if not email:
        return ""
    invalid = ConsentError(
        _("This email address is not valid. Please check it."), code="email_invalid"
    )
    if len(email) > EMAIL_MAX_LENGTH:
        raise invalid
    try:
        validate_email(email)
    except ValidationError:  # Django's validator; the service answers with its own error
        raise invalid from None
    local, _at, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def default_contact_purpose() -> str:
    """The purpose stated when the bot (not an operator) offers the contact form."""
    return _("So that our team can get back to you about your question.")


def clean_purpose(purpose: str) -> str:
    purpose = " ".join((purpose or "").split())
    if not purpose:
        raise ConsentError(
            _("State the purpose the details are asked for."), code="purpose_missing"
        )
    if len(purpose) > PURPOSE_MAX_LENGTH:
        raise ConsentError(
            _("The purpose can be at most %(n)d characters long.") % {"n": PURPOSE_MAX_LENGTH},
            code="purpose_too_long",
        )
    return purpose


@transaction.atomic
def contact_details_give(
    *, visitor: Visitor, name: str, email: str, phone: str, purpose: str, opt_in: bool
) -> ContactDetails:
    """Store the visitor's contact details after their explicit opt-in, and record the grant."""
    if opt_in is not True:
        raise ConsentError(
            _("Please tick the box to agree, or we cannot store your contact details."),
            code="opt_in_required",
        )
    purpose = clean_purpose(purpose)
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX_LENGTH:
        raise ConsentError(
            _("The name can be at most %(n)d characters long.") % {"n": NAME_MAX_LENGTH},
            code="name_too_long",
        )
    email = _clean_email((email or "").strip())
    phone = _clean_phone((phone or "").strip(), region=visitor.company.country)
    if not email and not phone:
        raise ConsentError(
            _("Please give an email address or a phone number so we can reach you."),
            code="contact_missing",
        )
    locked = Visitor.objects.select_for_update().get(pk=visitor.pk)
    locked.name, locked.email, locked.phone = name, email, phone
    locked.email_index = blind_index(email) if email else ""
    locked.save(update_fields=["name", "email", "phone", "email_index"])
    visitor.name, visitor.email, visitor.phone = name, email, phone
    visitor.email_index = locked.email_index
    _record(
        visitor=visitor,
        event="consent.contact_grant",
        purpose=ConsentRecord.Purpose.CONTACT,
        action=ConsentRecord.Action.GRANTED,
        purpose_text=purpose,
    )
    visitor_contact_changed(visitor=visitor)  # after commit; ids only
    return ContactDetails(name=name, email=email, phone=phone)


@dataclass(frozen=True)
class Withdrawal:
    recorded: bool
    messages_redacted: int


WIPED_FIELDS = ("name", "email", "phone", "email_index")


def _wipe_contact_columns(*, visitor_id: int) -> None:
    """Write '' into the personal columns in SQL.

    Through the ORM an encrypted field encrypts every value it is given, even ''
    (and even an expression): the row would keep a ciphertext. Raw SQL leaves
    the columns truly empty; reading '' back gives '' (it is not a token).
    """
    meta = Visitor._meta
    columns = [meta.get_field(name).column for name in WIPED_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s",
            [*([""] * len(columns)), visitor_id],
        )


@transaction.atomic
def contact_details_withdraw(*, visitor: Visitor) -> Withdrawal:
    """Wipe the visitor's contact details now and record the withdrawal.

    The columns are set to empty strings in SQL (not even an encrypted empty
    value is left); the email's blind index goes too. Messages the visitor wrote while consent stood are redacted
    like messages without consent, so no contact detail is kept in text either.
    """
    Visitor.objects.select_for_update().filter(pk=visitor.pk).first()
    had_consent = visitor_has_contact_consent(visitor=visitor)
    _wipe_contact_columns(visitor_id=visitor.pk)
    visitor.name = visitor.email = visitor.phone = visitor.email_index = ""
    redacted = 0
    region, language = visitor.company.country, visitor.inbox.language
    messages = Message.objects.filter(
        company_id=visitor.company_id,
        conversation__visitor=visitor,
        sender=Message.Sender.VISITOR,
    ).only("id", "conversation_id", "body", "redacted_count")
    changed: set[int] = set()
    for message in messages:
        body, count = redact(message.body, region=region, language=language)
        if count:
            Message.objects.filter(pk=message.pk).update(
                body=body, redacted_count=message.redacted_count + count
            )
            redacted += 1
            changed.add(message.conversation_id)
    # The keyed search index follows the text: a withdrawn detail is no longer found.
    conversations_reindex(conversation_ids=changed)
    if had_consent:
        _record(
            visitor=visitor,
            event="consent.contact_withdraw",
            purpose=ConsentRecord.Purpose.CONTACT,
            action=ConsentRecord.Action.WITHDRAWN,
            audit_data={"messages_redacted": redacted},
        )
    visitor_contact_changed(visitor=visitor)  # after commit; ids only
    return Withdrawal(recorded=had_consent, messages_redacted=redacted)


# --- operators asking for contact details ----------------------------------


@transaction.atomic
def contact_request(
    *, membership: Membership, conversation: Conversation, purpose: str
) -> ContactRequest:
    """Ask the visitor for contact details with a stated purpose.

    Posts a system message into the conversation and keeps the request, so the
    chat page shows the contact form (with its unticked opt-in) next to it.
    Only a membership that may reply in this inbox may ask (NotAllowed); the
    request and its audit entry name the membership's user.
    """
    require_right(membership=membership, inbox_id=conversation.inbox_id, right=REPLY)
    actor = membership.user
    purpose = clean_purpose(purpose)
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.status == Conversation.Status.CLOSED:
        raise ConsentError(
            _("This conversation is closed; the visitor cannot answer any more."),
            code="closed",
            status=409,
        )
    now = timezone.now()
    with translation.override(conversation.inbox.language):
        text = _(
            "We would like to ask for your contact details. Purpose: %(purpose)s "
            "You decide: they are only stored if you agree in the form."
        ) % {"purpose": purpose}
    message = Message.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        sender=Message.Sender.SYSTEM,
        body=text,
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now)
    conversation_changed(conversation=locked, what="message", message=message)
    request = ContactRequest(
        company_id=conversation.company_id,
        conversation=conversation,
        message=message,
        purpose_text=purpose,
        requested_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    return save_audited(
        request,
        actor=actor,
        action=LogEntry.Action.CREATE,
        event="consent.contact_request",
        pk_as="contact_request_id",
        conversation_id=conversation.pk,
    )
