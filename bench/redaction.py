"""Redaction benchmark: how long the shared detector takes per chat message.

    .venv/bin/python bench/redaction.py [--messages 20000] [--pii-share 0.10] [--seed 7]
                                        [--search-seconds 60]

Generates a corpus of realistic chat messages (mixed German and English, short
and long, with order numbers, dates, prices and postcodes as distractors), of
which --pii-share contain personal data (an email, a German or international
phone number, an IBAN or a card number). Then runs chatbot_site.lib.pii.redact
over all of them (as message_text_for_storage does without consent, region DE)
and prints messages/s and microseconds per message: the mean, p50, p95 and p99,
for all messages and separately for those with and without personal data,
and the most phonenumbers work one message needed (against the detector's budget).

Then the worst case (issue 10: "0 0 0 ..." used to cost seconds): the CPU time of
find_personal_data on every 4,000-character text of the adversarial corpus in
tests/consent/test_pii_adversarial.py (best of three runs per text, regions DE,
US and GB), and on what a random search for slow inputs finds in
--search-seconds: texts tiled from a few short units of the characters the
detector's patterns look at, mutated from the slowest seen so far (hill
climbing). It prints the slowest text's description (its units), not the text.
Before that, the labelled corpus of issue 15 (tests/data/redaction_corpus/,
hand-written templates and values, German and English): recall and precision
per kind of personal data against the targets, and the mean cost per message
of redact() on it.
Pure Python: no database, no Django settings.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from chatbot_site.lib import pii  # noqa: E402
from chatbot_site.lib.pii import find_personal_data, redact  # noqa: E402
from tests.consent.test_pii_adversarial import (  # noqa: E402
    ALPHABET,
    CORPUS,
    MESSAGE_LENGTH,
    PHONE_RUN_ALPHABET,
    tile,
)
from tests.consent.test_redaction_corpus import (  # noqa: E402
    PRECISION_TARGET,
    RECALL_TARGETS,
    load_corpus,
    score,
)

WORST_CASE_TARGET_MS = 50.0
REGIONS = ("DE", "US", "GB")

GERMAN = [
    "Hallo, ich habe eine Frage zu meiner Bestellung {order}.",
    "Wann kommt mein Paket? Bestellt am {date}, Bestellnummer {order}.",
    "Können Sie mir sagen, ob der Artikel noch lieferbar ist? Er kostet {price}.",
    "Ich wohne in {postcode} und möchte wissen, ob Sie dorthin liefern.",
    "Die Rechnung {invoice} ist doppelt abgebucht worden, bitte prüfen.",
    "Danke für die schnelle Antwort!",
    "Wie lange dauert eine Rücksendung normalerweise? Ich habe sie am {date} abgeschickt.",
    "Guten Tag, ich hätte gern einen Rückruf wegen meines Vertrags.",
    "Mein Gutschein über {price} funktioniert nicht, was kann ich tun?",
    "Öffnungszeiten am Samstag? Ich komme gegen 10:30 Uhr vorbei.",
]
ENGLISH = [
    "Hi, I have a question about order {order}.",
    "When will my parcel arrive? I ordered it on {date}.",
    "Is this item still in stock? It says {price} on the website.",
    "Do you ship to {postcode}? Thanks in advance.",
    "Invoice {invoice} was charged twice, could you please check?",
    "Thanks, that helped a lot!",
    "How long does a return usually take? I sent it back on {date}.",
    "Hello, I would like somebody to call me back about my contract.",
    "My voucher for {price} does not work, what can I do?",
    "Are you open on Saturday? I could drop by around 10:30.",
]
PII_GERMAN = [
    "Sie erreichen mich unter {pii}, gern auch abends.",
    "Bitte schreiben Sie mir an {pii}, danke!",
    "Meine Bankverbindung für die Erstattung: {pii}",
    "Die Karte {pii} wurde belastet, Bestellung {order}.",
]
PII_ENGLISH = [
    "You can reach me at {pii}, evenings are fine.",
    "Please email me at {pii}, thanks!",
    "For the refund, my account is {pii}",
    "Card {pii} was charged for order {order}.",
]
PII_VALUES = [
    "anna.schmidt@example.de",
    "j.doe+shop@mail.example.com",
    "030 12345678",
    "+49 171 2345678",
    "0171/2345678",
    "+44 20 7946 0958",
    "DE89 3704 0044 0532 0130 00",
    "GB82WEST12345698765432",
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
]


def fill(template: str, rng: random.Random, pii: str = "") -> str:
    return template.format(
        order=f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        date=f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.2026",
        price=f"{rng.randint(5, 499)},{rng.randint(0, 99):02d} €",
        postcode=f"{rng.randint(10000, 99999)} Berlin",
        invoice=f"RE-2026-{rng.randint(0, 99999):05d}",
        pii=pii,
    )


def corpus(n: int, pii_share: float, seed: int) -> list[tuple[str, bool]]:
    rng = random.Random(seed)
    messages = []
    for _ in range(n):
        german = rng.random() < 0.5
        has_pii = rng.random() < pii_share
        if has_pii:
            template = rng.choice(PII_GERMAN if german else PII_ENGLISH)
            text = fill(template, rng, rng.choice(PII_VALUES))
        else:
            text = fill(rng.choice(GERMAN if german else ENGLISH), rng)
        if rng.random() < 0.2:  # some longer messages: two or three sentences
            text += " " + fill(rng.choice(GERMAN if german else ENGLISH), rng)
        messages.append((text, has_pii))
    return messages


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def report(label: str, timings: list[float]) -> None:
    us = [t * 1e6 for t in timings]
    print(
        f"  {label:<18} n={len(us):>6}  mean {statistics.fmean(us):7.1f} µs  "
        f"p50 {percentile(us, 50):7.1f}  p95 {percentile(us, 95):7.1f}  "
        f"p99 {percentile(us, 99):7.1f}"
    )


def budget_use(messages: list[tuple[str, bool]]) -> tuple[int, int]:
    """The most phonenumbers parse attempts and splitter steps one message needed."""
    budgets: list[pii._Budget] = []

    class Recording(pii._Budget):
        def __init__(self) -> None:
            super().__init__()
            budgets.append(self)

    original = pii._Budget
    pii._Budget = Recording  # type: ignore[misc]
    try:
        for text, _ in messages:
            find_personal_data(text, region="DE")
    finally:
        pii._Budget = original  # type: ignore[misc]
    return (
        max(pii.PHONE_PARSE_BUDGET - b.parses for b in budgets),
        max(pii.PHONE_SPLIT_BUDGET - b.steps for b in budgets),
    )


def cpu_ms(text: str, region: str, runs: int = 3) -> float:
    """Best of ``runs`` CPU times of find_personal_data, in ms."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        find_personal_data(text, region=region)
        best = min(best, time.process_time() - started)
    return best * 1000


Pieces = list[tuple[str, int]]


def describe(pieces: Pieces) -> str:
    return (
        " + ".join(f"{unit!r} x{count}" for unit, count in pieces) + f", tiled to {MESSAGE_LENGTH}"
    )


def random_unit(rng: random.Random) -> str:
    alphabet = PHONE_RUN_ALPHABET if rng.random() < 0.5 else ALPHABET
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))


def random_pieces(rng: random.Random) -> Pieces:
    return [(random_unit(rng), rng.randint(1, 400)) for _ in range(rng.randint(1, 4))]


def mutate(pieces: Pieces, rng: random.Random) -> Pieces:
    pieces = list(pieces)
    i = rng.randrange(len(pieces))
    unit, count = pieces[i]
    choice = rng.random()
    if choice < 0.4:  # change one character
        pos = rng.randrange(len(unit))
        unit = unit[:pos] + rng.choice(ALPHABET + PHONE_RUN_ALPHABET) + unit[pos + 1 :]
    elif choice < 0.6 and len(unit) < 14:  # insert one
        pos = rng.randrange(len(unit) + 1)
        unit = unit[:pos] + rng.choice(PHONE_RUN_ALPHABET) + unit[pos:]
    elif choice < 0.7 and len(unit) > 1:  # drop one
        pos = rng.randrange(len(unit))
        unit = unit[:pos] + unit[pos + 1 :]
    elif choice < 0.85:
        count = max(1, int(count * rng.choice([0.5, 2.0])))
    elif len(pieces) < 4:
        pieces.append((random_unit(rng), rng.randint(1, 400)))
    pieces[i] = (unit, count)
    return pieces


def search(seconds: float, seed: int) -> tuple[float, str, str, int]:
    """Random search with hill climbing; returns (ms, region, description, texts tried)."""
    rng = random.Random(seed)
    pool: list[tuple[float, str, Pieces]] = []  # the slowest few so far
    tried = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pool and rng.random() < 0.7:
            _, region, parent = rng.choice(pool)
            pieces = mutate(parent, rng)
        else:
            region, pieces = rng.choice(REGIONS), random_pieces(rng)
        text = tile("".join(unit * count for unit, count in pieces))
        ms = cpu_ms(text, region, runs=1)
        tried += 1
        pool.append((ms, region, pieces))
        pool.sort(key=lambda entry: -entry[0])
        del pool[8:]
    # Re-measure the finalists as the corpus is measured (best of three).
    finalists = [(cpu_ms(tile("".join(u * c for u, c in p)), r), r, p) for _, r, p in pool]
    ms, region, pieces = max(finalists, key=lambda entry: entry[0])
    return ms, region, describe(pieces), tried


def report_worst(label: str, ms: float, region: str, description: str) -> None:
    verdict = "ok" if ms < WORST_CASE_TARGET_MS else "OVER TARGET"
    print(f"  {label:<22} {ms:6.1f} ms  ({verdict}, target < {WORST_CASE_TARGET_MS:.0f} ms)")
    print(f"  {'':<22} slowest: {description} (region {region})")


def worst_case(measure: Callable[[str, str], float]) -> tuple[float, str, str]:
    worst = (0.0, "", "")
    for region in REGIONS:
        find_personal_data(CORPUS[0][1], region=region)  # load phone metadata first
        for description, text in CORPUS:
            ms = measure(text, region)
            if ms > worst[0]:
                worst = (ms, region, description)
    return worst


def labelled() -> None:
    """Precision and recall per kind on the labelled corpus, and its mean cost."""
    messages = load_corpus()
    scores = score(messages)
    texts = [m["text"] for m in messages]
    for text in texts[:200]:
        redact(text, region="DE", language="de")
    timings = []
    for text in texts:
        t0 = time.perf_counter()
        redact(text, region="DE", language="de")
        timings.append(time.perf_counter() - t0)
    with_pii = sum(1 for m in messages if m["spans"])
    print(
        f"Labelled corpus (tests/data/redaction_corpus): {len(messages)} messages, "
        f"{with_pii} with personal data"
    )
    print(
        f"  {'kind':<12} {'gold':>5} {'found':>6} {'recall':>7} {'reported':>9} {'precision':>10}  target"
    )
    for kind in pii.KINDS:
        target = RECALL_TARGETS.get(kind)
        verdict = (
            ""
            if target is None
            else (
                f"recall >= {target:.0%} " + ("ok" if scores.recall(kind) >= target else "MISSED")
            )
        )
        print(
            f"  {kind:<12} {scores.gold[kind]:>5} {scores.found[kind]:>6} "
            f"{scores.recall(kind):>7.1%} {scores.reported[kind]:>9} "
            f"{scores.precision(kind):>10.1%}  {verdict}"
        )
    overall = scores.precision()
    print(
        f"  precision overall {overall:.1%} (target >= {PRECISION_TARGET:.0%}: "
        f"{'ok' if overall >= PRECISION_TARGET else 'MISSED'})"
    )
    fresh = [m for m in messages if m.get("set") == "fresh"]
    if fresh:
        held_out = score(fresh)
        gold, found = sum(held_out.gold.values()), sum(held_out.found.values())
        print(
            f"  of which {len(fresh)} written after tuning (never tuned on): "
            f"{found} of {gold} values found ({found / gold:.0%}), "
            f"precision {held_out.precision():.0%}; per kind "
            + ", ".join(
                f"{kind} {held_out.found[kind]}/{held_out.gold[kind]}"
                for kind in pii.KINDS
                if held_out.gold[kind]
            )
        )
    report("labelled corpus", timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--pii-share", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--search-seconds", type=float, default=60.0)
    args = parser.parse_args()

    messages = corpus(args.messages, args.pii_share, args.seed)
    for text, _ in messages[:200]:  # warm up caches (phone metadata, regexes)
        redact(text, region="DE", language="de")

    timings: list[float] = []
    with_pii: list[float] = []
    without_pii: list[float] = []
    redacted_messages = 0
    missed = false_alarms = 0
    started = time.perf_counter()
    for text, has_pii in messages:
        t0 = time.perf_counter()
        _, count = redact(text, region="DE", language="de")
        elapsed = time.perf_counter() - t0
        timings.append(elapsed)
        (with_pii if has_pii else without_pii).append(elapsed)
        redacted_messages += count > 0
        missed += has_pii and count == 0
        false_alarms += (not has_pii) and count > 0
    total = time.perf_counter() - started

    mean_len = statistics.fmean(len(t) for t, _ in messages)
    print(f"Redaction benchmark: {len(messages)} messages, mean length {mean_len:.0f} chars,")
    print(
        f"  {sum(p for _, p in messages)} with personal data, {redacted_messages} redacted "
        f"({missed} missed, {false_alarms} false alarms)"
    )
    print(f"  throughput         {len(messages) / total:,.0f} messages/s ({total:.2f} s)")
    report("all messages", timings)
    report("with personal data", with_pii)
    report("without", without_pii)
    parses, steps = budget_use(messages)
    print(
        f"  phone budget used  at most {parses} of {pii.PHONE_PARSE_BUDGET} parse attempts, "
        f"{steps} of {pii.PHONE_SPLIT_BUDGET} splitter steps per message"
    )

    labelled()

    print(
        f"Worst case, CPU time of one {MESSAGE_LENGTH:,}-character text "
        f"(best of 3 runs; regions {', '.join(REGIONS)}):"
    )
    ms, region, description = worst_case(cpu_ms)
    report_worst(f"adversarial corpus ({len(CORPUS)})", ms, region, description)
    ms, region, description, tried = search(args.search_seconds, args.seed)
    report_worst(f"search ({tried} texts)", ms, region, description)


if __name__ == "__main__":
    main()
