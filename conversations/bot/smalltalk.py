"""Built-in small talk in German and English: greeting, thanks, goodbye, "are you a bot?".

A message is small talk only if, normalised, it is essentially nothing but one
of these phrases (anchored patterns, optional "bot"/"you"/"very much" words),
so "Hallo, wo ist mein Paket?" is an FAQ question, not a greeting. An admin
overrides small talk by adding an FAQ entry for it (e.g. the variant "Hallo"
with the company's own greeting): decide() asks the FAQ model first and uses
small talk only when the FAQ gives no confident answer.
"""

from __future__ import annotations

import re

from django.utils import translation
from django.utils.translation import gettext

from conversations.bot.text import fold

# Patterns match fold()ed text (casefolded, umlauts folded: "tschüss" -> "tschuess").
_PATTERNS: dict[str, re.Pattern[str]] = {
    "greeting": re.compile(
        r"^(hallo+|hello+|hi+|hey+|huhu|moin( moin)?|servus|gruess gott|gruezi|"
        r"guten (morgen|tag|abend)|good (morning|afternoon|evening)|hi there|hello there|"
        r"hallo zusammen|hey there)( bot| there| zusammen)?$"
    ),
    "thanks": re.compile(
        r"^((vielen |herzlichen |tausend )?dank(e|e schoen|e sehr)?( schoen| sehr)?"
        r"( fuer (die|ihre|deine) (hilfe|antwort))?|"
        r"(many |thanks? )?thanks?( a lot| so much| very much| you( very much| so much)?)?"
        r"( for (the|your) (help|answer))?|thx|cheers|merci|super danke|ok danke|ok thanks)$"
    ),
    "goodbye": re.compile(
        r"^(tschuess|tschau|ciao|bye( bye)?|goodbye|good bye|auf wiedersehen|"
        r"auf wiederschauen|bis (bald|dann|spaeter)|see you( later)?|schoenen tag( noch)?|"
        r"have a nice day)$"
    ),
    "bot": re.compile(
        r"^((bist du|sind sie|ist das) (ein |eine )?(bot|roboter|maschine|ki|mensch|chatbot)|"
        r"(are you|is this) (a |an )?(bot|robot|machine|ai|human|chatbot|real)( person)?|"
        r"(bist du|sind sie) (echt|real)|are you real)$"
    ),
}


def _reply(intent: str) -> str:
    if intent == "greeting":
        return gettext("Hello! Ask me a question, for example about an order.")
    if intent == "thanks":
        return gettext("You're welcome! Is there anything else I can help with?")
    if intent == "goodbye":
        return gettext("Goodbye, and have a nice day!")
    return gettext(
        "I'm the automatic assistant of this website and answer from its FAQ. "
        "If you'd like to talk to a person, just say so."
    )


def smalltalk_intent(text: str) -> str | None:
    """ "greeting" | "thanks" | "goodbye" | "bot", or None."""
    query = fold(text)
    for intent, pattern in _PATTERNS.items():
        if pattern.match(query):
            return intent
    return None


def smalltalk_reply(*, intent: str, language: str) -> str:
    """The built-in reply in the visitor's language."""
    with translation.override(language):
        return _reply(intent)
