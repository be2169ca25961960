"""Keyset pagination on (timestamp, id), newest first: no OFFSET, ever.

Invariants:
- a page holds the rows strictly after the cursor's (timestamp, id) position in
  the order (-timestamp, -id), so a row inserted while someone pages never
  shifts or repeats the rows they have not seen yet;
- a missing or malformed cursor is the first page, never an error;
- the cursor is opaque to clients: urlsafe base64 of "<iso timestamp>|<id>",
  a position and nothing else (no filter, no personal data).

Used by the console's conversation list (conversations.selectors.console) and
the audit page (accounts.selectors); each keeps its own filters and index.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.db.models import Q, QuerySet
from django.utils import timezone

Row = TypeVar("Row")
Position = tuple[datetime, int]


def encode_cursor(at: datetime, pk: int) -> str:
    """An opaque page position: the last row's timestamp and id."""
    raw = f"{at.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position | None:
    """The position in a cursor, or None for a missing or malformed one (first page)."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, _sep, pk_text = raw.partition("|")
        at = datetime.fromisoformat(at_text)
        pk = int(pk_text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    if timezone.is_naive(at):
        return None
    return at, pk


@dataclass(frozen=True)
class KeysetPage(Generic[Row]):
    rows: list[Row]
    next_cursor: str | None
    is_first: bool


def keyset_page(
    qs: QuerySet,
    *,
    field: str,
    cursor: str | None,
    page_size: int,
    fetch: Callable[[QuerySet, int], list[Row]] | None = None,
    position_of: Callable[[Row], Position] | None = None,
) -> KeysetPage[Row]:
    """One page of `qs` newest first on (`field`, id), starting after `cursor`.

    `fetch(ordered_qs, limit)` reads at most `limit` rows (default: slice the
    ordered queryset); it is asked for page_size + 1 rows, the extra one only
    telling whether a next page exists. `position_of(row)` gives a row's
    (timestamp, id) (default: the row's `field` and pk). One query for the
    page with the default fetch; the caller's fetch decides otherwise.
    """
    position = decode_cursor(cursor)
    if position is not None:
        at, pk = position
        # the redundant "<= at" bounds the index range; the OR breaks ties by id
        qs = qs.filter(**{f"{field}__lte": at}).filter(
            Q(**{f"{field}__lt": at}) | Q(**{field: at, "id__lt": pk})
        )
    ordered = qs.order_by(f"-{field}", "-id")
    rows = fetch(ordered, page_size + 1) if fetch else list(ordered[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last: Any = rows[-1]
        at, pk = position_of(last) if position_of else (getattr(last, field), last.pk)
        next_cursor = encode_cursor(at, pk)
    return KeysetPage(rows=rows, next_cursor=next_cursor, is_first=position is None)
