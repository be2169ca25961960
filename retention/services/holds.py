"""Legal holds: a held conversation is never stripped, purged or erased.

Invariant: Conversation.legal_hold is True exactly while the conversation has a
hold that is not lifted; both change in the same transaction, with the
conversation row locked, so a purge batch (which locks the rows it deletes)
never races a hold. The reason is stored on the hold only, never in the audit
log (it may name people): auditlog records that a hold was placed or lifted.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chatbot_site.lib.errors import ServiceError
from conversations.models import Conversation
from retention.models import LegalHold


@transaction.atomic
def legal_hold_place(
    *, conversation: Conversation, reason: str, actor: AbstractBaseUser | None
) -> LegalHold:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(
            _("Say why the conversation is held."), code="reason_missing", field="reason"
        )
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    hold = LegalHold.objects.create(
        company_id=locked.company_id, conversation=locked, reason=reason, placed_by=actor
    )
    Conversation.objects.filter(pk=locked.pk).update(legal_hold=True)
    conversation.legal_hold = True
    return hold


@transaction.atomic
def legal_hold_lift(
    *, hold: LegalHold, actor: AbstractBaseUser | None, now: datetime | None = None
) -> LegalHold:
    Conversation.objects.select_for_update().filter(pk=hold.conversation_id).first()
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if hold.lifted_at is not None:
        return hold
    hold.lifted_at = now or timezone.now()
    hold.lifted_by = actor
    hold.save(update_fields=["lifted_at", "lifted_by"])
    still_held = LegalHold.objects.filter(
        conversation_id=hold.conversation_id, lifted_at__isnull=True
    ).exists()
    Conversation.objects.filter(pk=hold.conversation_id).update(legal_hold=still_held)
    return hold
