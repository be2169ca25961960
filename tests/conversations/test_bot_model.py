"""The bot's local intent model (issue 14): paraphrases, out of scope, suggestions, small talk,
languages, tiny FAQs and the FAQ version that every process follows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from conversations.bot import decide, entry_answer, faq_changed, registry
from conversations.models import FaqEntry, Inbox
from conversations.services.inboxes import faq_entry_create, faq_entry_delete, faq_entry_update
from tests.conversations.test_chat_concurrency import Worker
from tests.factories import InboxFactory
from tests.services import need_postgres

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_models():
    registry.clear()
    yield
    registry.wait_for_builds()
    registry.clear()


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    return Inbox.objects.get(public_key="demo-website")


def fresh(inbox: Inbox) -> Inbox:
    """The inbox row as a request loads it (decide() follows that row's faq_version)."""
    return Inbox.objects.get(pk=inbox.pk)


def shop_faq(inbox: Inbox, *, language: str = "") -> dict[str, FaqEntry]:
    """A small FAQ of distinct topics (German)."""
    topics = {
        "hours": (
            "Wann haben Sie geöffnet?\nÖffnungszeiten\nWann sind Sie erreichbar?",
            "Mo-Fr 9-18 Uhr.",
        ),
        "shipping": (
            "Was kostet der Versand?\nVersandkosten\nWie teuer ist die Lieferung?",
            "Der Versand kostet 4,90 Euro.",
        ),
        "voucher": (
            "Kann ich einen Gutschein einlösen?\nGutschein\nWo gebe ich meinen Gutscheincode ein?",
            "Den Gutscheincode geben Sie im Warenkorb ein.",
        ),
    }
    return {
        key: faq_entry_create(inbox=inbox, questions=q, answer=a, language=language)
        for key, (q, a) in topics.items()
    }


# -- paraphrases and out of scope, on the seeded demo FAQ ---------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Wie funktioniert die Rückgabe?", "de", "30 Tagen"),
        ("Ich möchte meine Bestellung zurückgeben", "de", "30 Tagen"),
        ("Kann ich mit Paypal bezahlen", "de", "PayPal"),
        ("wo bleibt mein packet", "de", "Sendungsverfolgung"),
        ("Zu welchen Zeiten haben Sie offen?", "de", "Montag bis Freitag"),
        ("can I pay with paypal?", "en", "PayPal"),
        ("I want to send my order back", "en", "30 days"),
        ("where is my pakage", "en", "tracking link"),
        ("when do you open", "en", "Monday to Friday"),
    ],
)
def test_paraphrases_not_in_the_faq_are_answered_in_the_visitors_language(
    demo, text, language, expected
):
    variants = {v.casefold() for e in FaqEntry.objects.filter(inbox=demo) for v in e.question_list}
    assert text.casefold() not in variants  # really not trained on
    decision = decide(inbox=demo, text=text, language=language)
    assert decision.kind == "answer", decision
    assert expected in decision.answer
    assert decision.language == language
    assert 0.0 <= decision.confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wer hat die Fußball-WM gewonnen?", "de"),
        ("Erzähl mir einen Witz", "de"),
        ("Wie koche ich Spaghetti?", "de"),
        ("asdf qwer", "de"),
        ("what is the capital of france", "en"),
        ("how do I cook spaghetti", "en"),
    ],
)
def test_out_of_scope_questions_are_not_answered(demo, text, language):
    assert decide(inbox=demo, text=text, language=language).kind == "unknown"


def test_a_visitor_language_without_entries_falls_back_to_the_inbox_language(company_inbox):
    shop_faq(company_inbox)  # no language: the inbox's (de)
    decision = decide(
        inbox=fresh(company_inbox), text="Wie hoch sind die Versandkosten?", language="en"
    )
    assert decision.kind == "answer"
    assert decision.answer == "Der Versand kostet 4,90 Euro."
    assert decision.language == "de"


@pytest.fixture
def company_inbox(personas):
    return InboxFactory(company=personas.company_a, language="de")


# -- small talk and handover -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hallo", "de"),
        ("Danke!", "de"),
        ("Tschüss", "de"),
        ("Bist du ein Bot?", "de"),
        ("hi there", "en"),
        ("thank you so much", "en"),
        ("are you a human?", "en"),
    ],
)
def test_small_talk_gets_a_built_in_reply(demo, text, language):
    decision = decide(inbox=demo, text=text, language=language)
    assert decision.kind == "smalltalk", decision
    assert decision.answer
    assert decision.language == language


def test_small_talk_is_only_the_whole_message(demo):
    decision = decide(inbox=demo, text="Hallo, wo ist mein Paket?", language="de")
    assert decision.kind == "answer"
    assert "Sendungsverfolgung" in decision.answer


def test_an_faq_entry_overrides_built_in_small_talk(company_inbox):
    shop_faq(company_inbox)
    decision = decide(inbox=fresh(company_inbox), text="Hallo", language="de")
    assert decision.kind == "smalltalk"
    faq_entry_create(
        inbox=company_inbox, questions="Hallo\nGuten Tag\nHallo zusammen", answer="Moin von Acme!"
    )
    decision = decide(inbox=fresh(company_inbox), text="Hallo", language="de")
    assert (decision.kind, decision.answer) == ("answer", "Moin von Acme!")


@pytest.mark.parametrize(
    "text", ["Ich möchte mit einem Mitarbeiter sprechen", "I want to talk to a real person"]
)
def test_asking_for_a_person_hands_over(demo, text):
    assert decide(inbox=demo, text=text, language="de").kind == "handover"


# -- suggestions, tiny and empty FAQs ----------------------------------------------------


def test_two_close_entries_give_suggestions_to_choose_from(company_inbox):
    entries = shop_faq(company_inbox)
    twin = faq_entry_create(  # shares the variant "Versandkosten" with "shipping"
        inbox=company_inbox,
        questions="Was kostet der Versand ins Ausland?\nVersandkosten\nLieferung ins Ausland",
        answer="Ins Ausland kostet der Versand 9,90 Euro.",
    )
    decision = decide(inbox=fresh(company_inbox), text="Versandkosten", language="de")
    assert decision.kind == "suggest", decision
    ids = [s.entry_id for s in decision.suggestions]
    assert set(ids[:2]) == {entries["shipping"].pk, twin.pk}
    assert len(ids) <= 3
    labels = {s.entry_id: s.label for s in decision.suggestions}
    assert labels[twin.pk] == "Was kostet der Versand ins Ausland?"
    clicked = entry_answer(inbox=company_inbox, entry_id=twin.pk, language="de")
    assert (clicked.kind, clicked.answer) == ("answer", twin.answer)


def test_entry_answer_of_another_inbox_or_a_deleted_entry_is_unknown(company_inbox, personas):
    entries = shop_faq(company_inbox)
    other = InboxFactory(company=personas.company_b)
    assert entry_answer(inbox=other, entry_id=entries["hours"].pk, language="de").kind == "unknown"
    faq_entry_delete(entry=entries["hours"])
    assert (
        entry_answer(inbox=company_inbox, entry_id=entries["hours"].pk, language="de").kind
        == "unknown"
    )


def test_one_entry_faq_answers_its_paraphrases_and_nothing_else(company_inbox):
    faq_entry_create(
        inbox=company_inbox,
        questions="Was kostet der Versand?\nVersandkosten\nWie teuer ist die Lieferung?",
        answer="4,90 Euro.",
    )
    assert (
        decide(
            inbox=fresh(company_inbox), text="Wie hoch sind die Versandkosten?", language="de"
        ).answer
        == "4,90 Euro."
    )
    assert (
        decide(inbox=fresh(company_inbox), text="Wie wird das Wetter?", language="de").kind
        == "unknown"
    )


def test_one_variant_faq_still_decides(company_inbox):
    faq_entry_create(inbox=company_inbox, questions="Versandkosten", answer="4,90 Euro.")
    assert decide(inbox=fresh(company_inbox), text="versandkosten?", language="de").kind == "answer"
    assert decide(inbox=fresh(company_inbox), text="Wetter morgen", language="de").kind == "unknown"


def test_empty_faq_understands_nothing_but_small_talk(company_inbox):
    assert (
        decide(inbox=fresh(company_inbox), text="Was kostet der Versand?", language="de").kind
        == "unknown"
    )
    assert decide(inbox=fresh(company_inbox), text="", language="de").kind == "unknown"
    assert decide(inbox=fresh(company_inbox), text="Hallo", language="de").kind == "smalltalk"


def test_duplicate_variants_across_entries_are_fine(company_inbox):
    faq_entry_create(inbox=company_inbox, questions="Versand\nVersandkosten", answer="A")
    faq_entry_create(inbox=company_inbox, questions="Versand\nLieferzeit", answer="B")
    decision = decide(inbox=fresh(company_inbox), text="Versand", language="de")
    assert decision.kind in ("answer", "suggest")
    assert decide(inbox=fresh(company_inbox), text="Lieferzeit", language="de").answer == "B"


# -- the FAQ version ----------------------------------------------------------------------


def test_every_faq_change_bumps_the_version_and_the_answer_follows(company_inbox):
    entries = shop_faq(company_inbox)
    version = Inbox.objects.get(pk=company_inbox.pk).faq_version
    question = "Wie hoch sind die Versandkosten?"
    assert decide(inbox=fresh(company_inbox), text=question, language="de").answer.startswith(
        "Der Versand"
    )
    faq_entry_update(entry=entries["shipping"], answer="Versand ist gratis.")
    assert Inbox.objects.get(pk=company_inbox.pk).faq_version == version + 1
    assert (
        decide(inbox=fresh(company_inbox), text=question, language="de").answer
        == "Versand ist gratis."
    )
    shipping_id = entries["shipping"].pk
    faq_entry_delete(entry=entries["shipping"])
    assert Inbox.objects.get(pk=company_inbox.pk).faq_version == version + 2
    assert decide(inbox=fresh(company_inbox), text=question, language="de").entry_id != shipping_id


def test_a_bump_by_another_process_reaches_this_one(company_inbox):
    """Simulates the other process: rows changed with queryset.update (no signals, no
    caches of this process touched), the version bumped as faq_changed does."""
    entries = shop_faq(company_inbox)
    question = "Wie hoch sind die Versandkosten?"
    assert decide(inbox=fresh(company_inbox), text=question, language="de").answer.startswith(
        "Der Versand"
    )
    FaqEntry.objects.filter(pk=entries["shipping"].pk).update(answer="Neu: gratis.")
    assert decide(inbox=fresh(company_inbox), text=question, language="de").answer.startswith(
        "Der Versand"
    )
    Inbox.objects.filter(pk=company_inbox.pk).update(faq_version=F("faq_version") + 1)
    assert decide(inbox=fresh(company_inbox), text=question, language="de").answer == "Neu: gratis."


def test_a_big_faq_rebuilds_in_the_background_answering_from_the_previous_version(
    company_inbox, monkeypatch
):
    monkeypatch.setattr(registry, "SYNC_BUILD_VARIANTS", 5)
    entries = shop_faq(company_inbox)  # 9 variants: built in the background
    question = "Wie hoch sind die Versandkosten?"
    first = decide(inbox=fresh(company_inbox), text=question, language="de")
    assert first.kind != "answer" or first.answer.startswith("Der Versand")  # string matcher
    registry.wait_for_builds()
    assert decide(inbox=fresh(company_inbox), text=question, language="de").answer.startswith(
        "Der Versand"
    )
    faq_entry_update(entry=entries["shipping"], answer="Versand ist gratis.")
    # The rebuild runs in a thread; meanwhile the previous model answers at once.
    stale = decide(inbox=fresh(company_inbox), text=question, language="de")
    assert stale.answer == "Der Versand kostet 4,90 Euro."
    registry.wait_for_builds()
    assert (
        decide(inbox=fresh(company_inbox), text=question, language="de").answer
        == "Versand ist gratis."
    )


def test_no_model_is_ever_loaded_from_a_pickle_cache_or_file():
    """Design rule (issue 14): models are rebuilt from the database, never deserialised."""
    loads = re.compile(
        r"^\s*(import|from)\s+(pickle|joblib|dill|marshal|shelve|django\.core\.cache|redis)\b"
        r"|\b(pickle|joblib|np|numpy)\.load|\bcache\.get\(",
        re.MULTILINE,
    )
    for path in (ROOT / "conversations" / "bot").glob("*.py"):
        assert not loads.search(path.read_text()), path.name


@pytest.mark.django_db(transaction=True)
def test_concurrent_faq_changes_each_bump_the_version_once(personas):
    need_postgres()
    inbox = InboxFactory(company=personas.company_a)
    start = Inbox.objects.get(pk=inbox.pk).faq_version
    barrier = threading.Barrier(8)

    def bump():
        barrier.wait(10)
        faq_changed(inbox_id=inbox.pk)

    workers = [Worker(bump) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.outcome()
        assert worker.error is None, worker.error
    assert Inbox.objects.get(pk=inbox.pk).faq_version == start + 8


@pytest.mark.django_db(transaction=True)
def test_the_version_bump_reaches_a_real_second_process(personas):
    need_postgres()
    inbox = InboxFactory(company=personas.company_a, language="de")
    entries = shop_faq(inbox)
    url = urllib.parse.urlparse(os.environ["DATABASE_URL"])
    env = {
        **os.environ,
        "DATABASE_URL": url._replace(path=f"/{connection.settings_dict['NAME']}").geturl(),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "conversations" / "bot_process.py")],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:

        def ask() -> dict:
            line = {"inbox": inbox.pk, "text": "Wie hoch sind die Versandkosten?", "language": "de"}
            proc.stdin.write(json.dumps(line) + "\n")
            proc.stdin.flush()
            return json.loads(proc.stdout.readline())

        before = ask()
        assert before["answer"] == "Der Versand kostet 4,90 Euro."
        faq_entry_update(entry=entries["shipping"], answer="Versand ist gratis.")
        after = ask()
        assert after["version"] == before["version"] + 1
        assert after["answer"] == "Versand ist gratis."
    finally:
        proc.stdin.close()
        proc.wait(30)


def test_the_one_message_fast_path_scores_exactly_as_scikit_learn():
    """A chat post scores one message without FeatureUnion's validation and joblib
    dispatch, and calibrates without IsotonicRegression.predict's: same numbers."""
    import numpy as np

    from conversations.bot.model import FaqItem, IntentModel

    topics = {
        1: ["Wann haben Sie geöffnet?", "Öffnungszeiten", "Wann sind Sie erreichbar?"],
        2: ["Was kostet der Versand?", "Versandkosten", "Wie teuer ist die Lieferung?"],
        3: ["Wo ist mein Paket?", "Sendungsverfolgung", "Wann kommt meine Bestellung?"],
        4: ["Wie kann ich zurückgeben?", "Rücksendung", "Ich möchte etwas zurückschicken"],
    }
    items = [
        FaqItem(entry_id=pk, variants=tuple(v), answer=str(pk), asks_for_contact=False)
        for pk, v in topics.items()
    ]
    model = IntentModel(items=items, language="de")
    scorer = model.scorer
    messages = [
        "wann habt ihr offen",
        "versand kosten nach oesterreich",
        "paket paket paket",
        "xyzzy",
        "",
        "ruecksendung meiner bestellung bitte",
        "a",
    ]
    for text in messages:
        fast = scorer._row(text).toarray()
        slow = scorer.features.transform([text]).toarray()
        assert np.allclose(fast, slow, rtol=0, atol=1e-12), text
    assert model.calibration is not None
    for score in np.linspace(-3, 3, 61):
        expected = float(model.calibration.predict([score])[0])
        assert model.confidence(float(score)) == pytest.approx(expected, abs=1e-12)
