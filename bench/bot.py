"""Benchmark of the FAQ bot's intent model (issue 14): CLINC150 Small and a German set.

CLINC150 (../shared/data/clinc150/, CC BY 3.0): an FAQ with one entry per
intent and its `train` phrases as question variants is imported through the
product's FAQ import (conversations.faq_io.faq_import, as `manage.py
import_faq` does), then every `val` phrase and every `oos_val` phrase goes
through conversations.bot.decide(), the function the chat calls. Measured:

- in-scope accuracy: share of `val` phrases answered with their own intent's
  entry ("did you mean" suggestions and "not understood" count as wrong);
- out-of-scope recall: share of `oos_val` phrases NOT answered (strict: kind
  "unknown"; the "suggest" column counts a "did you mean" as not answered too);
- decision latency p50/p95 per message (decide() end to end, including its
  FAQ-version query), and the model build time (incl. k-fold calibration).

German: the demo FAQ's German entries (seed_demo.FAQ) against
bench/data/bot_de.json (paraphrases with typos, out-of-scope questions).

Run: .venv/bin/python bench/bot.py [--database-url postgres://.../hafen_bench_bot]
(default: a fresh SQLite file in a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "clinc150" / "clinc150_small_dev.json"
GERMAN = ROOT / "bench" / "data" / "bot_de.json"
sys.path.insert(0, str(ROOT))


def setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(*, inbox, language: str, labels: dict[int, str], in_scope, out_of_scope) -> dict:
    from conversations.bot import decide

    latencies: list[float] = []
    right = suggested_right = 0
    for text, label in in_scope:
        started = time.perf_counter()
        decision = decide(inbox=inbox, text=text, language=language)
        latencies.append(time.perf_counter() - started)
        if decision.kind == "answer" and labels.get(decision.entry_id) == label:
            right += 1
        elif decision.kind == "suggest" and any(
            labels.get(s.entry_id) == label for s in decision.suggestions
        ):
            suggested_right += 1
    rejected = suggested = 0
    for text in out_of_scope:
        started = time.perf_counter()
        decision = decide(inbox=inbox, text=text, language=language)
        latencies.append(time.perf_counter() - started)
        rejected += decision.kind in ("unknown", "smalltalk", "handover")
        suggested += decision.kind == "suggest"
    return {
        "in_scope": right / len(in_scope),
        "in_scope_or_suggested": (right + suggested_right) / len(in_scope),
        "oos_recall": rejected / len(out_of_scope),
        "oos_recall_suggest": (rejected + suggested) / len(out_of_scope),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "n_in": len(in_scope),
        "n_oos": len(out_of_scope),
    }


def build(*, inbox, language: str) -> tuple[float, int]:
    """Build the model as the chat would (first message), waiting for a background build."""
    from conversations.bot import registry

    registry.clear()
    started = time.perf_counter()
    model = registry.model_for(inbox=inbox, language=language)
    registry.wait_for_builds()
    model = registry.model_for(inbox=inbox, language=language)
    return time.perf_counter() - started, model.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:
            from bench.common import fresh_database

            fresh_database(args.database_url)
            url = args.database_url
        else:
            url = f"sqlite:///{tmp}/bench_bot.sqlite3"
        setup(url)
        results = run()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{'set':10s} {'in-scope':>9s} {'+suggest':>9s} {'OOS rec.':>9s} {'+suggest':>9s} "
        f"{'p50 ms':>7s} {'p95 ms':>7s} {'build s':>8s} {'variants':>8s}"
    )
    for name, r in results.items():
        print(
            f"{name:10s} {r['in_scope']:9.1%} {r['in_scope_or_suggested']:9.1%} "
            f"{r['oos_recall']:9.1%} {r['oos_recall_suggest']:9.1%} {r['p50_ms']:7.2f} "
            f"{r['p95_ms']:7.2f} {r['build_s']:8.2f} {r['variants']:8d}"
        )
    print("targets (CLINC150): in-scope >= 92 %, OOS recall >= 60 %, p95 < 10 ms, build < 30 s")


def run() -> dict:
    from accounts.services import company_create
    from chatbot_site.management.commands.seed_demo import FAQ
    from conversations.faq_io import faq_import
    from conversations.models import FaqEntry
    from conversations.services.inboxes import inbox_create

    company = company_create(slug="bench-bot", name="Bench Bot", language="en")
    results = {}

    clinc = json.loads(DATA.read_text())
    intents: dict[str, list[str]] = {}
    for text, intent in clinc["train"]:
        intents.setdefault(intent, []).append(text)
    inbox = inbox_create(company=company, name="CLINC150", language="en")
    payload = [
        {"questions": q, "answer": intent, "language": "en"} for intent, q in intents.items()
    ]
    faq_import(inbox=inbox, data=json.dumps(payload).encode(), fmt="json")
    inbox.refresh_from_db()
    labels = dict(FaqEntry.objects.filter(inbox=inbox).values_list("id", "answer"))
    build_s, variants = build(inbox=inbox, language="en")
    results["clinc150"] = measure(
        inbox=inbox,
        language="en",
        labels=labels,
        in_scope=[tuple(pair) for pair in clinc["val"]],
        out_of_scope=[text for text, _label in clinc["oos_val"]],
    ) | {"build_s": build_s, "variants": variants}

    german = json.loads(GERMAN.read_text())
    inbox = inbox_create(company=company, name="Demo", language="de")
    payload = [
        {"questions": e["questions"], "answer": e["key"], "language": e["language"]}
        for e in FAQ
        if e["language"] == "de"
    ]
    faq_import(inbox=inbox, data=json.dumps(payload).encode(), fmt="json")
    inbox.refresh_from_db()
    labels = dict(FaqEntry.objects.filter(inbox=inbox).values_list("id", "answer"))
    build_s, variants = build(inbox=inbox, language="de")
    results["german"] = measure(
        inbox=inbox,
        language="de",
        labels=labels,
        in_scope=[tuple(pair) for pair in german["in_scope"]],
        out_of_scope=german["out_of_scope"],
    ) | {"build_s": build_s, "variants": variants}
    return results


if __name__ == "__main__":
    main()
