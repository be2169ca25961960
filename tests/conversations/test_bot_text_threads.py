"""The bot's word analyser is used by the threads of one web process at once.

uvicorn runs views in a thread pool: two model builds (or a build and a
decision) stem words concurrently. A Snowball stemmer keeps its current word in
the instance, so a shared one raised IndexError under load (bench/realtime.py).
"""

import threading

from conversations.bot.text import WordAnalyzer

WORDS = (
    "Rücksendungen Bestellungen Lieferadressen Zahlungsmöglichkeiten Öffnungszeiten "
    "Kundendienstmitarbeiterinnen Versandkostenpauschale Rechnungsanschrift"
).split()


def test_threads_stemming_at_once_get_what_one_thread_gets():
    analyzer = WordAnalyzer("de")
    text = " ".join(WORDS * 40)
    expected = analyzer(text)
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
