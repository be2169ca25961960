"""The bot's word analyser is used by the threads of one web process at once.

uvicorn runs views in a thread pool: two model builds (or a build and a
decision) stem words concurrently. A Snowball stemmer keeps its current word in
the instance, so a shared one raised IndexError under load (bench/realtime.py).
"""

import threading

from conversations.bot import text as bot_text
from conversations.bot.text import WordAnalyzer

WORDS = (
    "Rücksendungen Bestellungen Lieferadressen Zahlungsmöglichkeiten Öffnungszeiten "
    "Kundendienstmitarbeiterinnen Versandkostenpauschale Rechnungsanschrift"
).split()


def test_threads_stemming_at_once_get_what_one_thread_gets():
    analyzer = WordAnalyzer("de")
    text = " ".join(WORDS * 40)
    expected = analyzer(text)
    bot_text._stem.cache_clear()  # the threads stem every word themselves, at once
    results, errors = [], []
    start = threading.Barrier(8)

    def work():
        start.wait()
        try:
            for _ in range(5):
                results.append(analyzer(text) == expected)
        except Exception as exc:  # noqa: BLE001 - the failure this test is about
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and all(results) and len(results) == 40


def test_the_stem_cache_stays_bounded_whatever_visitors_type():
    """Each word is stemmed once per process (a model build analyses every variant
    once per fold); long words are not kept, and the number of words kept is capped."""
    bot_text._stem.cache_clear()
    analyzer = WordAnalyzer("en")
    assert analyzer("returning returns") == ["return", "return", "return return"]
    assert bot_text._stem.cache_info().currsize == 2
    long_word = "x" * 4000
    assert analyzer(f"returning {long_word}")[0] == "return"
    assert bot_text._stem.cache_info().currsize == 2  # the 4,000 characters are not kept
    assert bot_text._stem.cache_info().maxsize == bot_text.STEM_CACHE_SIZE
    assert bot_text.STEM_CACHE_SIZE * bot_text.STEM_CACHE_WORD_LENGTH <= 4_000_000
