"""Audit helpers: register models with personal fields hidden, and log accesses.

Invariants:
- no audit entry holds message text or personal data. Encrypted fields and the
  fields named as personal are excluded from auditlog's diffs, and the mask
  callable (used for anything masked) hides the whole value;
- every entry carries its company's id in additional_data["company_id"]
  (CompanyAudited for auditlog's own entries, audit_event for named events),
  so the audit page of one company shows all of its entries and no other's;
- a write that has a named event is ONE entry: save_audited suppresses
  auditlog's automatic entry for the row and writes the named one instead.

auditlog, contenttypes and the encrypted fields are imported inside the
functions: every app's models.py imports this module (CompanyAudited) while
the app registry loads, before those models may be imported.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, ClassVar, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)

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


class CompanyAudited:
    """Mixin for audited models: auditlog stores the row's company id with each entry.

    django-auditlog calls get_additional_data() on every change it logs.
    `audit_company_path` names the attribute holding the company id (dotted for
    a related row, e.g. "content_object.company_id"). A method, not a field:
    mixing it in changes no migration.
    """

    audit_company_path: ClassVar[str] = "company_id"

    def get_additional_data(self) -> dict:
        return {"company_id": attrgetter(self.audit_company_path)(self)}


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


def save_audited(
    obj: M,
    *,
    actor: Any,
    action: int,
    event: str,
    update_fields: list[str] | None = None,
    pk_as: str | None = None,
    **data: Any,
) -> M:
    """Save `obj` (insert if new) without auditlog's automatic entry, then write ONE entry `event`.

    For writes whose meaning is the event ("notice.publish", "erasure.execute"),
    not the field diff: the row's own entry is suppressed so each event is
    exactly one entry. `pk_as` also records the saved row's id under that key
    (known only after an insert). `data`: ids, counts and labels only.
    The company is the one the row names (CompanyAudited).
    """
    from auditlog.context import disable_auditlog

    with disable_auditlog():
        if obj._state.adding:
            obj.save(force_insert=True)
        else:
            obj.save(update_fields=update_fields)
    if pk_as:
        data = {pk_as: obj.pk, **data}
    audit_event(
        company_id=obj.get_additional_data()["company_id"],
        actor=actor,
        obj=obj,
        action=action,
        event=event,
        **data,
    )
    return obj


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
