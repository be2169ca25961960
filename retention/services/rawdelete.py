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
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
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


class NotCompilable(Exception):
    """The cascade needs an on_delete rule that cascade_ctes does not translate to SQL."""


@dataclass(frozen=True)
class CascadeSql:
    """Data-modifying CTEs for one statement: `ctes` in order, and which of them count.

    `counted` maps a model label to the names of the CTEs that return the
    primary keys of its deleted rows (one row per deleted row).
    """

    ctes: tuple[str, ...]
    counted: dict[str, tuple[str, ...]]


def cascade_ctes(
    model: type[models.Model],
    *,
    source: str,
    prefix: str,
    known_empty: frozenset | set = frozenset(),
) -> CascadeSql:
    """PostgreSQL: CTEs that delete what cascades from the `model` rows listed by `source`.

    `source` names a CTE (or table) whose column named like `model`'s primary key
    column holds the ids of the rows about to be deleted; deleting those rows
    themselves is the caller's. Rules as in raw_delete: CASCADE recursively,
    SET_NULL as an UPDATE, DO_NOTHING skipped, `known_empty` children skipped;
    anything else (PROTECT, RESTRICT, SET_DEFAULT, SET(...)) raises NotCompilable
    and the caller uses raw_delete.

    All CTEs of one statement see the same snapshot and the foreign keys are
    checked at the end of the statement, after every CTE ran, so children and
    parents can go in the same statement. Two CTEs must not modify the same row
    (PostgreSQL would do one of them): a SET_NULL update skips the rows that a
    CTE of the same statement deletes; a row reached by two cascades is deleted
    by one and skipped by the other.
    """
    qn = connection.ops.quote_name
    deletes: list[tuple[str, type[models.Model], str]] = []  # (name, model, sql)
    set_nulls: list[tuple[type[models.Model], str, str, str]] = []  # (model, column, source, pk)
    counter = iter(range(1, 10_000))

    def walk(parent: type[models.Model], parent_source: str, skip: frozenset | set) -> None:
        for rel in _reverse_relations(parent):
            if rel.many_to_many:
                through = rel.through
                fk = next(
                    f
                    for f in through._meta.fields
                    if f.is_relation and f.related_model is parent and f.name != "id"
                )
                child, column = through, fk.column
                target = fk.target_field
                on_delete = models.CASCADE
                recurse = False
            else:
                child = rel.related_model
                if child in skip:
                    continue
                column, target, on_delete = rel.field.column, rel.field.target_field, rel.on_delete
                recurse = True
            if target is not parent._meta.pk:
                raise NotCompilable(f"{child._meta.label}.{column} does not point at a primary key")
            if on_delete is models.DO_NOTHING:
                continue
            pk = child._meta.pk.column
            if on_delete is models.SET_NULL:
                set_nulls.append((child, column, parent_source, pk))
                continue
            if on_delete is not models.CASCADE:
                raise NotCompilable(f"{child._meta.label}.{column}: {on_delete.__name__}")
            name = f"{prefix}{next(counter)}"
            deletes.append(
                (
                    name,
                    child,
                    f"{name} AS (DELETE FROM {qn(child._meta.db_table)} WHERE {qn(column)} IN "
                    f"(SELECT {qn(parent._meta.pk.column)} FROM {parent_source}) "
                    f"RETURNING {qn(pk)})",
                )
            )
            if recurse:
                walk(child, name, frozenset())

    walk(model, source, known_empty)
    if len({child for child, *_ in set_nulls}) < len(set_nulls):
        # Two updates of one row in one statement: PostgreSQL would keep only one.
        raise NotCompilable("two SET_NULL updates of one table")
    ctes = [sql for _, _, sql in deletes]
    for child, column, parent_source, pk in set_nulls:
        name = f"{prefix}{next(counter)}"
        gone = " UNION ALL ".join(
            f"SELECT {qn(pk)} FROM {other}" for other, m, _ in deletes if m is child
        )
        parent_pk = next(f.target_field.column for f in child._meta.fields if f.column == column)
        ctes.append(
            f"{name} AS (UPDATE {qn(child._meta.db_table)} SET {qn(column)} = NULL "
            f"WHERE {qn(column)} IN (SELECT {qn(parent_pk)} FROM {parent_source})"
            + (f" AND {qn(pk)} NOT IN ({gone})" if gone else "")
            + f" RETURNING {qn(pk)})"
        )
    counted: dict[str, tuple[str, ...]] = {}
    for name, child, _ in deletes:
        counted[child._meta.label] = (*counted.get(child._meta.label, ()), name)
    return CascadeSql(ctes=tuple(ctes), counted=counted)
