"""Text normalisation for the intent model: the same for training variants and messages.

Casefold + NFKC, German umlauts folded (ä -> ae, so "Ruecksendung" and
"Rücksendung" meet), punctuation dropped. Word features are Snowball stems in
the FAQ's language: measured on CLINC150 val (bench/bot.py) stems add a few
tenths of a point of accuracy, and on German they join inflections
("Bestellung"/"Bestellungen", "zurückschicken"/"zurückgeschickt").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"\w+")

# Django language code -> Snowball algorithm; other languages: no stemming.
STEMMERS = {"de": "german", "en": "english"}


def normalise(text: str) -> str:
    """Casefolded, NFKC, umlaut-folded words, single-spaced."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    return " ".join(_WORD.findall(folded))


@lru_cache(maxsize=8)
def _stemmer(language: str):
    algorithm = STEMMERS.get(language.split("-")[0])
    return snowballstemmer.stemmer(algorithm) if algorithm else None


class WordAnalyzer:
    """Stemmed words and word bigrams of normalised text (a picklable-free callable)."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, text: str) -> list[str]:
        words = text.split()
        stemmer = _stemmer(self.language)
        if stemmer is not None:
            words = stemmer.stemWords(words)
        return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
