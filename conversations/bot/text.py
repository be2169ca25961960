"""Text normalisation for the intent model: the same for training variants and messages.

Casefold + NFKC, German umlauts folded (ä -> ae, so "Ruecksendung" and
"Rücksendung" meet), punctuation dropped. Word features are Snowball stems in
the FAQ's language: measured on CLINC150 val (bench/bot.py) stems add a few
tenths of a point of accuracy, and on German they join inflections
("Bestellung"/"Bestellungen", "zurückschicken"/"zurückgeschickt").
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata

import snowballstemmer

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"\w+")

# Function words that carry no topic. In a small FAQ they dominate TF-IDF (few
# variants, so "how do i" gets a high IDF) and let "how do I cook spaghetti"
# match "How do I return an item?". Question words (when/where/wann/wo...) stay.
# Dropped only for small FAQs (conversations.bot.model): with 50 variants an
# entry, IDF tells function words itself, and dropping them cost CLINC150 3.6
# points (88.9 -> 85.3 %); on the German demo set it gained 13 points of
# out-of-scope recall (60 -> 73 %).
# Written umlaut-folded, as normalise() returns text.
STOP_WORDS = frozenset(
    """
    i me my mine we our you your it its is are am be was were been do does did can could
    would should will shall may might a an the this that these those of to in on at for
    with by from and or but so if please how what which
    ich mir mich mein meine meinen meinem meiner wir uns unser unsere du dir dich dein
    deine ihr euch euer sie ihnen ihre ihren es ist sind bin bist war waren sein habe
    hast hat haben habt kann kannst koennen koennt koennte muss darf will moechte
    moechten der die das den dem des ein eine einen einem einer zu im in am an auf fuer
    mit von vom zum zur und oder aber bitte wie was welche welcher welches man mal
    """.split()
)

# Django language code -> Snowball algorithm; other languages: no stemming.
STEMMERS = {"de": "german", "en": "english"}


def fold(text: str) -> str:
    """Casefolded, NFKC, umlaut-folded words, single-spaced (small talk matches this)."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)))


def normalise(text: str, *, stop_words: bool = False) -> str:
    """fold(), with `stop_words` also without STOP_WORDS (unless nothing else is left:
    "Wie?" stays "wie")."""
    words = fold(text).split()
    if not stop_words:
        return " ".join(words)
    content = [word for word in words if word not in STOP_WORDS]
    return " ".join(content or words)


_local = threading.local()


def _stemmer(language: str):
    """This thread's stemmer for `language` (None: no stemming).

    A Snowball stemmer keeps the word it works on in the instance: shared by the
    threads of one web process (uvicorn runs views in a thread pool), two
    concurrent model builds raised IndexError inside it. One per thread.
    """
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    if language not in stemmers:
        algorithm = STEMMERS.get(language.split("-")[0])
        stemmers[language] = snowballstemmer.stemmer(algorithm) if algorithm else None
    return stemmers[language]


class WordAnalyzer:
    """Stemmed words and word bigrams of normalised text (a picklable-free callable)."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, text: str) -> list[str]:
        words = text.split()
        stemmer = _stemmer(self.language)
        if stemmer is not None:
            words = [
                _stem(word, self.language)
                if len(word) <= STEM_CACHE_WORD_LENGTH
                # a long word is stemmed on its own: the cache's memory stays bounded
                else stemmer.stemWord(word)
                for word in words
            ]
        return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


# A model build analyses every variant once per fold (4-6 times) and Snowball
# stemming was most of a 150 x 50 build: each word is stemmed once per process
# instead. Bounded: at most STEM_CACHE_SIZE words of at most STEM_CACHE_WORD_LENGTH
# characters (a few MB), whatever visitors type.
STEM_CACHE_SIZE = 50_000
STEM_CACHE_WORD_LENGTH = 40


@functools.lru_cache(maxsize=STEM_CACHE_SIZE)
def _stem(word: str, language: str) -> str:
    return _stemmer(language).stemWord(word)
