"""The bot's string matcher, its handover phrases and the handover system message.

The bot's decisions live in conversations.bot (decide(): the per-inbox intent
model, small talk, suggestions). This module keeps what that package reuses:
HANDOVER_PATTERN / wants_a_person(), and faq_match(), the string-similarity
matcher that answers while this process builds the first model of a big FAQ
in the background (conversations.bot.registry). bot_decide() is the old
answer-or-hand-over contract, kept for tests/conversations/test_bot.py.
The bot reads message text in memory only; it logs nothing about it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext
from rapidfuzz import fuzz, process

from conversations.models import FaqEntry

# fuzz.QRatio compares whole (normalised) strings. WRatio and token_set_ratio
# were tried and rejected: their partial/subset matching scores one shared
# word ("is", "was ... das") at 85-100, so unrelated questions matched. With
# QRatio, paraphrases of the demo FAQ score 62-70 and unrelated text <= 56
# (tests/conversations/test_bot.py pins both sides of the threshold).
SCORER = fuzz.QRatio
MATCH_THRESHOLD = 60.0

# Whole words that mean "let me talk to a human", in English and German.
HANDOVER_PATTERN = re.compile(
    r"\b("
    r"human|person|agent|operator|someone|somebody|representative|"
    r"mitarbeiter\w*|mensch\w*|berater\w*|jemand\w*|support[- ]?team|kundendienst|"
    r"talk to a person|real person"
    r")\b",
    re.IGNORECASE,
)

_NON_WORD = re.compile(r"[^\w\s]")


def normalise(text: str) -> str:
    """Case-folded words without punctuation, single-spaced."""
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


@dataclass(frozen=True)
class BotDecision:
    """What the bot does with one visitor message."""

    handover: bool
    answer: str = ""
    entry_id: int | None = None
    score: float = 0.0
    offer_contact_form: bool = False


def wants_a_person(text: str) -> bool:
    return HANDOVER_PATTERN.search(text) is not None


def _normalised_questions(entry: FaqEntry) -> list[str]:
    """normalise() of each question variant, kept on the entry while its text is unchanged.

    The chat's FAQ entries are cached per process (faq_entry_list_cached), so
    each variant is normalised once, not on every message.
    """
    cached = entry.__dict__.get("_bot_questions")
    if cached is None or cached[0] is not entry.questions:
        cached = (entry.questions, [normalise(q) for q in entry.question_list])
        entry.__dict__["_bot_questions"] = cached
    return cached[1]


def faq_match(*, text: str, entries: Iterable[FaqEntry]) -> tuple[FaqEntry, float] | None:
    """The entry whose question variant is closest to `text`, if it clears the threshold."""
    query = normalise(text)
    if not query:
        return None
    variants: list[str] = []
    owners: list[FaqEntry] = []
    for entry in entries:
        questions = _normalised_questions(entry)
        variants += questions
        owners += [entry] * len(questions)
    if not variants:
        return None
    best = process.extractOne(
        query, variants, scorer=SCORER, processor=None, score_cutoff=MATCH_THRESHOLD
    )
    if best is None:
        return None
    _variant, score, index = best
    return owners[index], float(score)


def bot_decide(*, text: str, entries: Iterable[FaqEntry]) -> BotDecision:
    """Answer from the FAQ, or hand over (asked for a person, or no good match)."""
    if wants_a_person(text):
        return BotDecision(handover=True)
    match = faq_match(text=text, entries=entries)
    if match is None:
        return BotDecision(handover=True)
    entry, score = match
    return BotDecision(
        handover=False,
        answer=entry.answer,
        entry_id=entry.pk,
        score=score,
        offer_contact_form=entry.asks_for_contact,
    )


def handover_text(*, language: str) -> str:
    """The system message shown when a person takes over, in the inbox's language."""
    with translation.override(language):
        return gettext(
            "I'll hand you over to a person. Someone will reply here as soon as possible."
        )
