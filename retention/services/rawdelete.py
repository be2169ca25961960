"""Delete rows without loading them: no per-object signals, no per-row audit entries.

Django's Collector fetches every row whose model has signal receivers (auditlog
registers one on every audited model), so a million messages would become a
million Python objects and a million audit rows. Here a delete is a handful of
`DELETE ... WHERE fk IN (...)` statements in dependency order, following the
models' on_delete rules (CASCADE recursively, SET_NULL as one UPDATE).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import ProtectedError


def _reverse_relations(model: type[models.Model]) -> list:
    """Every foreign key pointing at `model`, hidden ones (related_name="+") included."""
    return [
        f
        for f in model._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one or f.many_to_many)
    ]


def raw_delete(
    model: type[models.Model],
    *,
    where: dict[str, Any],
    counts: Counter | None = None,
    known_empty: frozenset | set = frozenset(),
) -> Counter:
    """Delete `model` rows matching `where` and everything that cascades from them.

    `known_empty`: child models the caller has proved hold no row pointing at
    these (e.g. visitors selected and locked for having no conversation); they
    are skipped. Returns rows deleted per model label. Call inside a transaction.
    """
    counts = counts if counts is not None else Counter()
    queryset = model._base_manager.filter(**where)
    parent_ids: Iterable[Any] | models.QuerySet | None = None
    for rel in _reverse_relations(model):
        if parent_ids is None:
            # A plain id list stays a list; anything else becomes a subquery.
            ids = where.get("id__in", where.get("pk__in"))
            parent_ids = ids if ids is not None and len(where) == 1 else queryset.values("pk")
        if rel.many_to_many:
            through = rel.through
            fk = next(
                f
                for f in through._meta.fields
                if f.is_relation and f.related_model is model and f.name != "id"
            )
            counts[through._meta.label] += through._base_manager.filter(
                **{f"{fk.name}__in": parent_ids}
            )._raw_delete(queryset.db)
            continue
        child = rel.related_model
        if child in known_empty:
            continue
        lookup = {f"{rel.field.name}__in": parent_ids}
        on_delete = rel.on_delete
        if on_delete is models.CASCADE:
            raw_delete(child, where=lookup, counts=counts)
        elif on_delete is models.SET_NULL:
            child._base_manager.filter(**lookup).update(**{rel.field.name: None})
        elif on_delete is models.DO_NOTHING:
            continue
        elif child._base_manager.filter(**lookup).exists():
            raise ProtectedError(
                f"{child._meta.label} rows protect the {model._meta.label} rows", set()
            )
    counts[model._meta.label] += queryset._raw_delete(queryset.db)
    return counts
