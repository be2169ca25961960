"""The FAQ bot: fuzzy matching with a threshold, handover phrases, the demo FAQ."""

import pytest
from django.core.management import call_command

from conversations.models import FaqEntry, Inbox
from conversations.services.bot import (
    MATCH_THRESHOLD,
    bot_decide,
    faq_match,
    handover_text,
    normalise,
    wants_a_person,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_entries():
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    inbox = Inbox.objects.get(public_key="demo-website")
    return list(FaqEntry.objects.filter(inbox=inbox))


def answer_of(decision) -> str:
    assert not decision.handover, "expected an answer, got a handover"
    return decision.answer


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Wann habt ihr offen?", "Montag bis Freitag"),
        ("Wann haben Sie geöffnet?", "Montag bis Freitag"),
        ("öffnungszeiten??", "Montag bis Freitag"),
        ("when are you open", "Monday to Friday"),
        ("wo ist mein paket", "Sendungsverfolgung"),
        ("Ich möchte etwas zurückgeben", "30 Tagen"),
        ("kann ich mit paypal zahlen", "PayPal"),
        ("RETURNS", "30 days"),
    ],
)
def test_paraphrases_of_a_demo_question_get_its_answer(demo_entries, question, expected):
    assert expected in answer_of(bot_decide(text=question, entries=demo_entries))


@pytest.mark.parametrize(
    "text",
    ["asdf qwer", "asdf", "hi", "Was kostet das?", "Wie ist das Wetter?", "ok danke", "test"],
)
def test_unrelated_text_does_not_match_and_hands_over(demo_entries, text):
    assert faq_match(text=text, entries=demo_entries) is None
    assert bot_decide(text=text, entries=demo_entries).handover


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to a person",
        "Can I speak to a human?",
        "Ich möchte mit einem Mitarbeiter sprechen",
        "Bitte einen Menschen!",
        "operator please",
    ],
)
def test_asking_for_a_person_hands_over_even_when_a_faq_would_match(demo_entries, text):
    assert wants_a_person(text)
    assert bot_decide(text=text + " opening hours", entries=demo_entries).handover


def test_words_that_merely_contain_person_do_not_hand_over():
    assert not wants_a_person("Is my personal data safe?")
    assert not wants_a_person("Wie speichern Sie meine Daten?")


def test_the_callback_entry_offers_the_contact_form(demo_entries):
    decision = bot_decide(text="Können Sie mich zurückrufen?", entries=demo_entries)
    assert decision.offer_contact_form is True
    assert bot_decide(text="Öffnungszeiten", entries=demo_entries).offer_contact_form is False


def test_the_threshold_is_what_decides(demo_entries):
    best = faq_match(text="Wann habt ihr offen?", entries=demo_entries)
    assert best is not None
    assert MATCH_THRESHOLD <= best[1] < 100


def test_an_inbox_without_entries_always_hands_over():
    assert bot_decide(text="Opening hours", entries=[]).handover


def test_normalising_drops_case_and_punctuation():
    assert normalise("  Wann, HABT ihr   offen?! ") == "wann habt ihr offen"


def test_the_handover_text_is_in_the_inbox_language_or_english_fallback():
    text = handover_text(language="en")
    assert "person" in text
    assert handover_text(language="de")  # German comes from the translation catalogue


def test_a_changed_faq_entry_is_used_at_once_despite_the_cache(personas):
    from conversations.selectors.chat import faq_entry_list_cached

    entry = FaqEntry.objects.create(
        company=personas.company_a, inbox=personas.inbox_a, questions="Opening hours", answer="9-5"
    )
    assert [e.answer for e in faq_entry_list_cached(inbox=personas.inbox_a)] == ["9-5"]
    entry.answer = "10-4"
    entry.save()
    assert [e.answer for e in faq_entry_list_cached(inbox=personas.inbox_a)] == ["10-4"]
    entry.delete()
    assert faq_entry_list_cached(inbox=personas.inbox_a) == []
