"""Admins' writes to inboxes and FAQ entries.

Each write is a model save, so django-auditlog records it (with the acting
admin and the company id); no text of visitors is involved. FAQ writes drop
this process's cached FAQ (receivers in conversations.selectors.chat).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import Company
from conversations.models import FaqEntry, Inbox

INBOX_FIELDS = (
    "name",
    "greeting",
    "language",
    "allowed_origins",
    "resume_enabled",
    "token_ttl_days",
    "notice_required",
)
FAQ_FIELDS = ("questions", "answer", "asks_for_contact", "position")


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
    return inbox


@transaction.atomic
def faq_entry_create(*, inbox: Inbox, **fields: Any) -> FaqEntry:
    values = {k: v for k, v in fields.items() if k in FAQ_FIELDS}
    return FaqEntry.objects.create(company_id=inbox.company_id, inbox=inbox, **values)


@transaction.atomic
def faq_entry_update(*, entry: FaqEntry, **fields: Any) -> FaqEntry:
    for name, value in fields.items():
        if name in FAQ_FIELDS:
            setattr(entry, name, value)
    entry.save()
    return entry


@transaction.atomic
def faq_entry_delete(*, entry: FaqEntry) -> None:
    entry.delete()
