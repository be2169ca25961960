"""decide(): answer, suggest, small talk, hand over or "not understood" for one message.

Order: "I want a person" phrases hand over at once (HANDOVER_PATTERN; not
"are you a human?", which is small talk); then the FAQ model's confident
answer; then small talk (so an FAQ entry that matches a greeting overrides
the built-in reply: that is how an admin overrides small talk); then the
model's suggestions; else unknown. The bot reads message text in memory only; it logs nothing about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F

from conversations.bot.model import IntentModel, Ranking
from conversations.bot.registry import faq_items, model_for
from conversations.bot.smalltalk import smalltalk_intent, smalltalk_reply
from conversations.models import FaqEntry, Inbox
from conversations.services.bot import faq_match, wants_a_person


@dataclass(frozen=True)
class Suggestion:
    entry_id: int
    label: str  # the entry's first question variant


@dataclass(frozen=True)
class Decision:
    kind: str  # "answer" | "suggest" | "unknown" | "smalltalk" | "handover"
    answer: str = ""  # answer / smalltalk, in `language`
    entry_id: int | None = None
    confidence: float = 0.0  # 0..1: calibrated probability that the top entry is right
    suggestions: tuple[Suggestion, ...] = ()  # suggest: at most 3
    offer_contact_form: bool = False
    language: str = ""


def _fallback_ranking(*, inbox: Inbox, text: str, language: str) -> tuple[Ranking, dict]:
    """While the first build of a big FAQ runs in this process: the string matcher."""
    items, _lang = faq_items(inbox=inbox, language=language)
    entries = [
        FaqEntry(pk=item.entry_id, questions="\n".join(item.variants), answer=item.answer)
        for item in items
    ]
    match = faq_match(text=text, entries=entries)
    by_id = {item.entry_id: item for item in items}
    if match is None:
        return Ranking(entry_ids=(), scores=(), confidence=0.0, kind="unknown"), by_id
    entry, score = match
    return Ranking(entry_ids=(entry.pk,), scores=(score,), confidence=0.5, kind="answer"), by_id


def decide(*, inbox: Inbox, text: str, language: str) -> Decision:
    """What the bot does with `text` from a visitor who reads `language`.

    The FAQ entries used are those in `language`, or, if there are none, those
    in the inbox's language; the decision's language says which.
    """
    language = language or inbox.language
    intent = smalltalk_intent(text)
    if intent is None and wants_a_person(text):
        return Decision(kind="handover", language=language)
    model: IntentModel | None = model_for(inbox=inbox, language=language)
    if model is None:
        ranking, items = _fallback_ranking(inbox=inbox, text=text, language=language)
        faq_language = language
    else:
        ranking, items, faq_language = model.rank(text), model.items, model.language
    if ranking.kind == "answer":
        item = items[ranking.entry_ids[0]]
        return Decision(
            kind="answer",
            answer=item.answer,
            entry_id=item.entry_id,
            confidence=ranking.confidence,
            offer_contact_form=item.asks_for_contact,
            language=faq_language,
        )
    if intent is not None:
        return Decision(
            kind="smalltalk",
            answer=smalltalk_reply(intent=intent, language=language),
            confidence=1.0,
            language=language,
        )
    if ranking.kind == "suggest":
        return Decision(
            kind="suggest",
            confidence=ranking.confidence,
            suggestions=tuple(
                Suggestion(entry_id=pk, label=items[pk].label) for pk in ranking.entry_ids
            ),
            language=faq_language,
        )
    return Decision(kind="unknown", confidence=ranking.confidence, language=language)


def entry_answer(*, inbox: Inbox, entry_id: int, language: str) -> Decision:
    """The answer of one entry of this inbox (a clicked suggestion); unknown if it is gone."""
    entry = FaqEntry.objects.filter(inbox_id=inbox.pk, pk=entry_id).first()
    if entry is None:
        return Decision(kind="unknown", language=language or inbox.language)
    return Decision(
        kind="answer",
        answer=entry.answer,
        entry_id=entry.pk,
        confidence=1.0,
        offer_contact_form=entry.asks_for_contact,
        language=entry.language or inbox.language,
    )


def faq_changed(*, inbox_id: int) -> None:
    """Bump the inbox's FAQ version (F() + 1, atomic in the database) so every process
    rebuilds its model from the database at its next message."""
    Inbox.objects.filter(pk=inbox_id).update(faq_version=F("faq_version") + 1)
