"""Audit helpers: register models with personal fields hidden, and log accesses.

Invariant: no audit entry holds message text or personal data. Encrypted fields
and the fields named as personal are excluded from auditlog's diffs, and the
mask callable (used for anything masked) hides the whole value.
"""

from __future__ import annotations

from typing import Any

from django.db import models

ACCESS_EVENTS = {
    "conversation.open",
    "personal_data.reveal",
    "visitor.export",
    "audit.export",
    "erasure.preview",
}


def mask_entirely(value: str) -> str:
    """auditlog's default mask shows half the value; ours shows none of it."""
    return "••••••"


def _encrypted_field_names(model: type[models.Model]) -> list[str]:
    from encrypted_model_fields.fields import EncryptedMixin

    return [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedMixin)]


def register(model: type[models.Model], *, personal_fields: tuple[str, ...] = ()) -> None:
    """Register a model with auditlog, excluding encrypted and personal fields."""
    from auditlog.registry import auditlog

    exclude = sorted({*_encrypted_field_names(model), *personal_fields})
    auditlog.register(model, exclude_fields=exclude)


def audit_event(
    *,
    company_id: int,
    actor: Any,
    obj: models.Model,
    action: int,
    event: str,
    **data: Any,
) -> Any:
    """Write one audit entry for an event that is not a plain model change.

    `data` must hold ids, counts and labels only, never message text or personal data.
    """
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    user = actor if getattr(actor, "is_authenticated", False) else None
    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_pk=str(obj.pk),
        object_id=obj.pk if isinstance(obj.pk, int) else None,
        object_repr=str(obj),
        action=action,
        actor=user,
        actor_email=getattr(user, "email", None) or None,
        additional_data={"company_id": company_id, "event": event, **data},
    )


def audit_access(*, company_id: int, actor: Any, obj: models.Model, event: str, **data: Any) -> Any:
    """Log a read (LogEntry.Action.ACCESS): opening, revealing, exporting."""
    from auditlog.models import LogEntry

    return audit_event(
        company_id=company_id,
        actor=actor,
        obj=obj,
        action=LogEntry.Action.ACCESS,
        event=event,
        **data,
    )


def audit_entries_for_company(company_id: int):
    """All audit entries that concern one company (index: auditlog_company_time on PostgreSQL)."""
    from auditlog.models import LogEntry

    return LogEntry.objects.filter(additional_data__company_id=company_id)
