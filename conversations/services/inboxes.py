"""Admins' writes to inboxes and FAQ entries.

Each write is a model save, so django-auditlog records it (with the acting
admin and the company id); no text of visitors is involved. FAQ writes drop
this process's cached FAQ (receivers in conversations.selectors.chat).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import Company
from conversations.bot import faq_changed
from conversations.models import FaqEntry, Inbox

INBOX_FIELDS = (
    "name",
    "greeting",
    "language",
    "allowed_origins",
    "resume_enabled",
    "token_ttl_days",
    "notice_required",
    "bot_miss_limit",
    "handover_immediately",
)
FAQ_FIELDS = ("questions", "answer", "asks_for_contact", "position", "language")


@transaction.atomic
def inbox_create(*, company: Company, public_key: str | None = None, **fields: Any) -> Inbox:
    """A new inbox; its public key is random unless one is given (the demo seed's)."""
    values = {k: v for k, v in fields.items() if k in INBOX_FIELDS}
    if public_key is not None:
        values["public_key"] = public_key
    return Inbox.objects.create(company=company, **values)


@transaction.atomic
def inbox_update(*, inbox: Inbox, **fields: Any) -> Inbox:
    for name, value in fields.items():
        if name in INBOX_FIELDS:
            setattr(inbox, name, value)
    inbox.save()
    if "language" in fields:  # entries without a language follow the inbox's
        faq_changed(inbox_id=inbox.pk)
    return inbox


@transaction.atomic
def faq_entry_create(*, inbox: Inbox, **fields: Any) -> FaqEntry:
    values = {k: v for k, v in fields.items() if k in FAQ_FIELDS}
    entry = FaqEntry.objects.create(company_id=inbox.company_id, inbox=inbox, **values)
    faq_changed(inbox_id=inbox.pk)  # every process rebuilds its bot model (conversations.bot)
    return entry


@transaction.atomic
def faq_entry_update(*, entry: FaqEntry, **fields: Any) -> FaqEntry:
    for name, value in fields.items():
        if name in FAQ_FIELDS:
            setattr(entry, name, value)
    entry.save()
    faq_changed(inbox_id=entry.inbox_id)
    return entry


@transaction.atomic
def faq_entry_delete(*, entry: FaqEntry) -> None:
    inbox_id = entry.inbox_id
    entry.delete()
    faq_changed(inbox_id=inbox_id)
