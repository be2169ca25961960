"""Per-process intent models, keyed by (inbox, language) and checked against the FAQ version.

Every decision compares the faq_version of the inbox row the request loaded
(the chat loads it with the visitor in one query, conversations.selectors.chat;
callers pass a row read in the same request, never one kept across requests)
with the version this process's model was built from, and rebuilds when the row
is newer, so every web process answers from the same FAQ: a bump by any process
(conversations.bot.faq_changed) reaches all of them at their next message, at
no extra query. Nothing is shared between processes but the database: the model is
rebuilt from the FAQ rows, never loaded from a pickle, Redis or a file.

Rebuilds: an FAQ of up to SYNC_BUILD_VARIANTS variants builds in the request
(well under a second, bench/bot.py). A bigger one builds in a background
thread; meanwhile the previous version's model answers, or, when this process
has none yet, `fallback()` (the string-similarity matcher) does, so a chat
request never waits for a 150 x 50 build. The thread receives plain data read
by the request; it never touches the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from conversations.bot.model import FaqItem, IntentModel
from conversations.models import FaqEntry, Inbox

SYNC_BUILD_VARIANTS = 1500


@dataclass
class _Slot:
    version: int
    model: IntentModel | None  # None only while the first build runs
    building: int | None = None  # the version a background thread is building


_slots: dict[tuple, _Slot] = {}
_lock = threading.Lock()
_build_locks: dict[tuple, threading.Lock] = {}


def faq_items(*, inbox: Inbox, language: str) -> tuple[list[FaqItem], str]:
    """The FAQ in `language` (entries with no language count as the inbox's), else the inbox's.

    Returns the items and the language they are in.
    """
    rows = list(
        FaqEntry.objects.filter(inbox_id=inbox.pk)
        .order_by("position", "id")
        .values_list("id", "questions", "answer", "asks_for_contact", "language")
    )
    for lang in dict.fromkeys((language, inbox.language)):
        items = [
            FaqItem(
                entry_id=pk,
                variants=tuple(line.strip() for line in questions.splitlines() if line.strip()),
                answer=answer,
                asks_for_contact=asks,
            )
            for pk, questions, answer, asks, entry_language in rows
            if (entry_language or inbox.language) == lang
        ]
        if items:
            return items, lang
    return [], inbox.language


def current_version(*, inbox: Inbox) -> int:
    """The FAQ version of the request's inbox row."""
    return inbox.faq_version


def _build_in_background(key: tuple, version: int, items: list[FaqItem], language: str) -> None:
    try:
        model = IntentModel(items=items, language=language)
    except Exception:
        with _lock:
            slot = _slots.get(key)
            if slot is not None and slot.building == version:
                slot.building = None
        raise
    with _lock:
        slot = _slots.get(key)
        if slot is not None and slot.building == version and version >= slot.version:
            _slots[key] = _Slot(version=version, model=model)


def model_for(*, inbox: Inbox, language: str) -> IntentModel | None:
    """This process's model of the inbox's current FAQ in `language` (or the previous one
    while a big FAQ rebuilds); None while the first build of a big FAQ runs."""
    version = current_version(inbox=inbox)
    # created_at too: a recreated inbox may reuse an id (SQLite), never the pair.
    key = (inbox.pk, inbox.created_at, language)
    with _lock:
        slot = _slots.get(key)
        # A newer model than the row (a request that read the row just before a
        # bump) is fine; an older one is rebuilt.
        if slot is not None and (slot.version >= version or slot.building == version):
            return slot.model
    items, items_language = faq_items(inbox=inbox, language=language)
    variants = sum(len(item.variants) for item in items)
    if variants <= SYNC_BUILD_VARIANTS:
        # One build per key at a time: the threads of a process that all get
        # their first message at once wait for it instead of each building it.
        with _lock:
            build_lock = _build_locks.setdefault(key, threading.Lock())
        with build_lock:
            with _lock:
                slot = _slots.get(key)
                if slot is not None and slot.version >= version:
                    return slot.model
            model = IntentModel(items=items, language=items_language)
            with _lock:
                slot = _slots.get(key)
                if slot is None or slot.version <= version:
                    _slots[key] = _Slot(version=version, model=model)
        return model
    with _lock:
        slot = _slots.get(key)
        if slot is not None and slot.building == version:
            return slot.model
        previous = slot.model if slot is not None else None
        _slots[key] = _Slot(
            version=slot.version if slot is not None else 0, model=previous, building=version
        )
    threading.Thread(
        target=_build_in_background,
        args=(key, version, items, items_language),
        name=f"faq-model-{inbox.pk}",
        daemon=True,
    ).start()
    return previous


def wait_for_builds(timeout: float = 120.0) -> None:
    """Block until no background build runs (the benchmark and tests)."""
    for thread in threading.enumerate():
        if thread.name.startswith("faq-model-"):
            thread.join(timeout)


def clear() -> None:
    """Forget every model of this process (tests)."""
    with _lock:
        _slots.clear()
        _build_locks.clear()
