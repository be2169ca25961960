"""The unanswered-questions page: what admins see, and "add as variant of ...".

Invariants:
- Message text leaves the server only masked (chatbot_site.lib.pii.mask with
  the company's region, the console's masking), for every role: the page shows
  many conversations at once and has no reveal. Each page view is one audit
  entry (LogEntry.Action.ACCESS, "unanswered.list") naming the message ids
  shown, never their text.
- "Add as variant" appends the MASKED text (personal data a visitor typed with
  consent must not become FAQ text) and marks the message resolved with a
  conditional write (only while it is still not_understood): of two admins
  adding the same question, exactly one succeeds; the other is told. The FAQ
  entry is appended to with one UPDATE (no auditlog diff, which would copy the
  text into the audit log); one audit entry "faq.variant_added" holds the ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from auditlog.models import LogEntry
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils.translation import gettext as _

from accounts.models import Membership
from chatbot_site.lib import pii
from chatbot_site.lib.audit import audit_access, audit_event
from chatbot_site.lib.errors import NotAllowed, ServiceError
from conversations.bot import faq_changed
from conversations.faq_io import MAX_QUESTION_LENGTH
from conversations.models import FaqEntry, Inbox, Message
from conversations.selectors.unanswered import unanswered_message_get, unanswered_page


class UnansweredError(ServiceError):
    code = "unanswered_refused"
    status = 409


@dataclass(frozen=True)
class ShownQuestion:
    id: int
    conversation_id: int
    inbox: Inbox
    text: str
    created_at: datetime


@dataclass(frozen=True)
class ShownPage:
    questions: list[ShownQuestion]
    next_before: int | None


def _masked(message: Message, *, region: str) -> str:
    return pii.mask(message.body, region=region)


def unanswered_list(
    *, membership: Membership, inbox_id: int | None = None, before: int | None = None
) -> ShownPage:
    """One page of unanswered questions, masked; the read is audited."""
    page = unanswered_page(membership=membership, inbox_id=inbox_id, before=before)
    region = membership.company.country
    questions = [
        ShownQuestion(
            id=m.pk,
            conversation_id=m.conversation_id,
            inbox=m.conversation.inbox,
            text=_masked(m, region=region),
            created_at=m.created_at,
        )
        for m in page.messages
    ]
    audit_access(
        company_id=membership.company_id,
        actor=membership.user,
        obj=membership.company,
        event="unanswered.list",
        inbox_id=inbox_id,
        message_ids=[q.id for q in questions],
    )
    return ShownPage(questions=questions, next_before=page.next_before)


def unanswered_add_as_variant(
    *, membership: Membership, message_id: int, entry_id: int
) -> FaqEntry:
    """Append the message's masked text to an entry of its inbox; admins only."""
    if membership.role != Membership.Role.ADMIN:
        raise NotAllowed(_("Only admins can change the FAQ."))
    message = unanswered_message_get(membership=membership, message_id=message_id)
    inbox_id = message.conversation.inbox_id
    entry = FaqEntry.objects.filter(
        company_id=membership.company_id, inbox_id=inbox_id, pk=entry_id
    ).first()
    if entry is None:
        raise UnansweredError(_("Choose an answer of this question's inbox."), status=400)
    text = " ".join(_masked(message, region=membership.company.country).split())
    if not text:
        raise UnansweredError(_("This message has no text to add."), status=400)
    if len(text) > MAX_QUESTION_LENGTH:
        raise UnansweredError(
            _("This message is too long to be a question (at most %(max)d characters).")
            % {"max": MAX_QUESTION_LENGTH},
            status=400,
        )
    with transaction.atomic():
        resolved = Message.objects.filter(
            company_id=membership.company_id,
            pk=message.pk,
            bot_outcome=Message.BotOutcome.NOT_UNDERSTOOD,
        ).update(bot_outcome=Message.BotOutcome.RESOLVED)
        if not resolved:
            raise UnansweredError(_("Someone else has already handled this question."))
        appended = FaqEntry.objects.filter(company_id=membership.company_id, pk=entry.pk).update(
            questions=Concat(F("questions"), Value("\n" + text))
        )
        if not appended:
            # the entry was deleted meanwhile: raising rolls the resolve back too
            raise UnansweredError(_("That answer has just been deleted."))
        audit_event(
            company_id=membership.company_id,
            actor=membership.user,
            obj=entry,
            action=LogEntry.Action.UPDATE,
            event="faq.variant_added",
            inbox_id=inbox_id,
            entry_id=entry.pk,
            message_id=message.pk,
        )
        faq_changed(inbox_id=inbox_id)
    entry.refresh_from_db()
    return entry
