"""The bot in the chat (issue 14): never silent, quick replies, the visitor's language.

Driven through the chat API as chat.js drives it. The bot's decisions come from
conversations.bot (the real model, no mocks); where a test needs a particular
kind of decision (a "did you mean"), it asks decide() which text gets one.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from conversations.bot import decide
from conversations.forms import InboxForm
from conversations.models import Conversation, FaqEntry, Message
from conversations.views.chat import accepted_languages
from tests.conversations.chat_support import counts, handover, poll, post, start

pytestmark = pytest.mark.django_db

KEY = "acme-web"
HOURS_EN = "Monday to Friday, 9 to 6."
HOURS_DE = "Montag bis Freitag, 9 bis 18 Uhr."
NOT_UNDERSTOOD = "Sorry, I did not understand. Could you rephrase it? Or talk to a person."
GIBBERISH = ["zzkq wxvp", "qqqq jjjj xxxx", "vbnm plmk", "xkcd qwfp zzz"]


def entry(personas, questions: str, answer: str, language: str = "") -> FaqEntry:
    return FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions=questions,
        answer=answer,
        language=language,
    )


@pytest.fixture
def faq(personas):
    return entry(personas, "What are your opening hours?\nWhen are you open?", HOURS_EN, "en")


def started(client, language: str | None = None) -> str:
    body = {"language": language} if language else {}
    response = start(client, KEY, **body)
    assert response.status_code == 201
    return response.json()["token"]


def choose(client, token: str, entry_id: int, **body):
    return client.post(
        f"/api/chat/{KEY}/messages",
        data={"choice": {"entry": entry_id}, **body},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def switch(client, token: str, language: str):
    return client.post(
        f"/api/chat/{KEY}/language",
        data={"language": language},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def conversation() -> Conversation:
    return Conversation.objects.get()


def visitor_outcomes() -> list[str]:
    return list(Message.objects.filter(sender="visitor").values_list("bot_outcome", flat=True))


# --- never silent ----------------------------------------------------------


def test_an_answer_is_marked_answered_and_resets_the_misses(client, personas, faq):
    token = started(client)
    missed = post(client, KEY, token, GIBBERISH[0]).json()
    assert conversation().bot_misses == 1
    answered = post(client, KEY, token, "When are you open?").json()
    assert [(r["sender"], r["body"]) for r in answered["replies"]] == [("bot", HOURS_EN)]
    assert answered["replies"][0]["choices"] is None
    assert missed["conversation"]["status"] == answered["conversation"]["status"] == "bot"
    assert conversation().bot_misses == 0
    assert visitor_outcomes() == ["not_understood", "answered"]


def test_not_understood_says_so_offers_a_person_and_keeps_answering(client, personas, faq):
    token = started(client)
    data = post(client, KEY, token, GIBBERISH[0]).json()
    assert data["conversation"]["status"] == "bot"
    [reply] = data["replies"]
    assert (reply["sender"], reply["body"]) == ("bot", NOT_UNDERSTOOD)
    assert reply["choices"] == [{"action": "handover", "label": "Talk to a person"}]
    # The bot does not fall silent after a miss: a FAQ question is answered.
    again = post(client, KEY, token, "What are your opening hours?").json()
    assert [r["body"] for r in again["replies"]] == [HOURS_EN]
    stored = Message.objects.filter(sender="bot").order_by("id")
    assert stored[0].choices == [{"action": "handover", "label": "Talk to a person"}]


def test_two_misses_in_a_row_hand_over_with_the_default_limit(client, personas, faq):
    assert personas.inbox_a.bot_miss_limit == 2
    token = started(client)
    first = post(client, KEY, token, GIBBERISH[0]).json()
    assert first["conversation"]["status"] == "bot"
    second = post(client, KEY, token, GIBBERISH[1]).json()
    assert second["conversation"]["status"] == "waiting"
    assert [r["sender"] for r in second["replies"]] == ["system"]
    assert "person" in second["replies"][0]["body"]
    assert visitor_outcomes() == ["not_understood", "not_understood"]
    assert conversation().waiting_since is not None
    # From now on people answer: the bot is quiet.
    assert post(client, KEY, token, "When are you open?").json()["replies"] == []


def test_misses_that_are_not_in_a_row_do_not_hand_over(client, personas, faq):
    token = started(client)
    for text in (GIBBERISH[0], "When are you open?", GIBBERISH[1], "When are you open?"):
        assert post(client, KEY, token, text).json()["conversation"]["status"] == "bot"
    assert conversation().status == Conversation.Status.BOT


def test_a_limit_of_zero_never_hands_over_for_misses(client, personas, faq):
    personas.inbox_a.bot_miss_limit = 0
    personas.inbox_a.save()
    token = started(client)
    for text in GIBBERISH:
        data = post(client, KEY, token, text).json()
        assert data["conversation"]["status"] == "bot"
        assert [r["body"] for r in data["replies"]] == [NOT_UNDERSTOOD]
    assert conversation().bot_misses == len(GIBBERISH)
    assert Message.objects.filter(sender="system").count() == 0


def test_an_inbox_set_to_hand_over_at_once_hands_the_first_message_over(client, personas, faq):
    personas.inbox_a.handover_immediately = True
    personas.inbox_a.save()
    token = started(client)
    data = post(client, KEY, token, "When are you open?").json()  # a FAQ question, even so
    assert data["conversation"]["status"] == "waiting"
    assert [r["sender"] for r in data["replies"]] == ["system"]
    assert Message.objects.filter(sender="bot").count() == 0


@pytest.mark.parametrize("text", ["I want a person", "Can I talk to a human please?"])
def test_asking_for_a_person_hands_over(client, personas, faq, text):
    token = started(client)
    data = post(client, KEY, token, text).json()
    assert data["conversation"]["status"] == "waiting"
    assert [r["sender"] for r in data["replies"]] == ["system"]


def test_the_talk_to_a_person_button_hands_over_once(client, personas, faq):
    token = started(client)
    post(client, KEY, token, GIBBERISH[0])
    first = handover(client, KEY, token).json()
    assert first["conversation"]["status"] == "waiting"
    assert [m["sender"] for m in first["messages"]] == ["system"]
    assert handover(client, KEY, token).json()["messages"] == []
    assert Message.objects.filter(sender="system").count() == 1


# --- quick replies -----------------------------------------------------------


@pytest.fixture
def similar(personas):
    """Entries close to each other, so that some questions leave the bot unsure."""
    return [
        entry(
            personas,
            "How do I return my order?\nSend my order back",
            "Returns: use the label.",
            "en",
        ),
        entry(
            personas,
            "How do I track my order?\nWhere is my order?",
            "Tracking: see your mail.",
            "en",
        ),
        entry(
            personas, "How do I cancel my order?\nCancel my order", "Cancel in your account.", "en"
        ),
        entry(
            personas,
            "How do I change my order?\nChange my order",
            "Write to us to change it.",
            "en",
        ),
    ]


UNSURE_CANDIDATES = [
    "order",
    "my order",
    "order question",
    "about my order",
    "order help",
    "how do I order",
    "what about my order",
    "order??",
    # Two entries at once: the bot is torn between them.
    "track or return my order",
    "How do I change or cancel my order?",
    "How do I return or cancel my order?",
    "cancel or change my order",
    "return change order",
]


def unsure_text(personas) -> str:
    """A text the bot answers with suggestions (asked of the bot itself)."""
    for text in UNSURE_CANDIDATES:
        if decide(inbox=personas.inbox_a, text=text, language="en").kind == "suggest":
            return text
    pytest.fail("the bot suggested nothing for any of the ambiguous questions")


def test_did_you_mean_offers_up_to_three_entries_and_a_person(client, personas, similar):
    text = unsure_text(personas)
    token = started(client, "en")
    data = post(client, KEY, token, text).json()
    assert data["conversation"]["status"] == "bot"
    [reply] = data["replies"]
    assert reply["sender"] == "bot" and reply["body"] == "Did you mean one of these?"
    entries, last = reply["choices"][:-1], reply["choices"][-1]
    assert 1 <= len(entries) <= 3
    labels = {e.pk: e.question_list[0] for e in similar}
    assert all(c["label"] == labels[c["entry"]] for c in entries)
    assert last["action"] == "handover" and last["label"] == "Talk to a person"
    assert visitor_outcomes() == ["suggested"]
    assert conversation().bot_misses == 0


def test_clicking_a_suggestion_answers_it_and_stores_its_label(client, personas, similar):
    token = started(client, "en")
    data = post(client, KEY, token, unsure_text(personas)).json()
    picked = data["replies"][0]["choices"][0]
    clicked = choose(client, token, picked["entry"], client_key="choice-key-1")
    assert clicked.status_code == 200
    body = clicked.json()
    answers = {e.pk: e.answer for e in similar}
    assert body["message"]["sender"] == "visitor"
    assert body["message"]["body"] == picked["label"]
    assert [(r["sender"], r["body"]) for r in body["replies"]] == [
        ("bot", answers[picked["entry"]])
    ]
    assert Message.objects.filter(sender="visitor").last().body == picked["label"]
    # A retried click (same client_key) stores nothing new.
    before = counts()
    repeated = choose(client, token, picked["entry"], client_key="choice-key-1").json()
    assert repeated["message"]["id"] == body["message"]["id"]
    assert counts() == before


def test_a_click_on_an_entry_of_another_inbox_is_refused_and_nothing_is_stored(
    client, personas, faq
):
    other = FaqEntry.objects.create(
        company=personas.company_b,
        inbox=personas.inbox_b,
        questions="Secret question of B",
        answer="Secret answer of B",
    )
    token = started(client)
    before = counts()
    response = choose(client, token, other.pk)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_choice"
    assert "Secret" not in response.content.decode()
    assert counts() == before
    assert choose(client, token, faq.pk).json()["replies"][0]["body"] == HOURS_EN


def test_a_body_without_text_or_choice_is_refused(client, personas, faq):
    token = started(client)
    before = counts()
    response = client.post(
        f"/api/chat/{KEY}/messages",
        data={"client_key": "abcdefgh1"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 422
    assert response.json()["message"]
    assert counts() == before


def test_the_choices_come_back_when_polling(client, personas, faq):
    token = started(client)
    post(client, KEY, token, GIBBERISH[0])
    messages = poll(client, KEY, token).json()["messages"]
    assert [m["choices"] for m in messages] == [
        None,
        [{"action": "handover", "label": "Talk to a person"}],
    ]


# --- the visitor's language ------------------------------------------------


@pytest.fixture
def bilingual(personas):
    personas.inbox_a.language = "de"
    personas.inbox_a.save()
    return (
        entry(personas, "Wann haben Sie geöffnet?\nÖffnungszeiten", HOURS_DE, "de"),
        entry(personas, "When are you open?\nWhat are your opening hours?", HOURS_EN, "en"),
    )


def test_an_english_browser_gets_the_english_chat_page(client, personas, bilingual):
    response = client.get(f"/chat/{KEY}/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9,de;q=0.8")
    html = response.content.decode()
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in html
    assert "Talk to a person" in html and '"talkToPerson": "Talk to a person"' in html
    assert '"language": "en"' in html
    assert 'data-language="en" lang="en" aria-pressed="true"' in html
    assert "Accept-Language" in response["Vary"]


def test_a_browser_language_the_chat_does_not_speak_gets_the_inbox_language(
    client, personas, bilingual
):
    response = client.get(f"/chat/{KEY}/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert response["Content-Language"] == "de"
    assert 'data-language="de" lang="de" aria-pressed="true"' in response.content.decode()


def test_accept_language_is_read_by_preference():
    assert accepted_languages("fr;q=1, en;q=0.5, de;q=0.7") == ["fr", "de", "en"]
    assert accepted_languages("de;q=0, en") == ["en"]
    assert accepted_languages("*, <script>, en-US;q=x") == []
    assert accepted_languages("") == []


def test_an_english_visitor_gets_english_answers_and_system_messages(client, personas, bilingual):
    token = started(client, "en-US")
    assert conversation().language == "en"
    data = post(client, KEY, token, "What are your opening hours?").json()
    assert data["conversation"]["language"] == "en"
    assert [r["body"] for r in data["replies"]] == [HOURS_EN]
    gone = post(client, KEY, token, "I want a person").json()
    assert gone["replies"][0]["body"] == (
        "I'll hand you over to a person. Someone will reply here as soon as possible."
    )


def test_a_visitor_without_a_language_gets_the_inbox_language(client, personas, bilingual):
    token = started(client)
    assert conversation().language == "de"
    data = post(client, KEY, token, "Wann haben Sie geöffnet?").json()
    assert [r["body"] for r in data["replies"]] == [HOURS_DE]


def test_switching_the_language_mid_chat_switches_the_answers(client, personas, bilingual):
    token = started(client, "en")
    assert post(client, KEY, token, "When are you open?").json()["replies"][0]["body"] == HOURS_EN
    switched = switch(client, token, "de")
    assert switched.status_code == 200
    assert switched.json()["conversation"]["language"] == "de"
    assert switched.json()["strings"]["send"]  # the page's texts in the new language
    assert conversation().language == "de"
    data = post(client, KEY, token, "Wann haben Sie geöffnet?").json()
    assert [r["body"] for r in data["replies"]] == [HOURS_DE]
    # Resuming keeps the chosen language, whatever the page sends.
    resumed = start(client, KEY, token, language="en").json()
    assert resumed["conversation"]["language"] == "de"
    back = switch(client, token, "en-GB").json()
    assert back["strings"]["talkToPerson"] == "Talk to a person"


def test_an_unknown_language_is_refused_and_nothing_changes(client, personas, bilingual):
    token = started(client, "en")
    response = switch(client, token, "fr")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_language" and response.json()["message"]
    assert conversation().language == "en"


def test_without_entries_in_the_visitors_language_the_inbox_default_answers(client, personas):
    personas.inbox_a.language = "de"
    personas.inbox_a.save()
    entry(personas, "Wann haben Sie geöffnet?", HOURS_DE, "")  # the inbox's language
    token = started(client, "en")
    data = post(client, KEY, token, "Wann haben Sie geöffnet?").json()
    assert [r["body"] for r in data["replies"]] == [HOURS_DE]


def test_the_config_gives_the_strings_in_the_asked_language(client, personas):
    en = client.get(f"/api/chat/{KEY}/config", {"language": "en"}).json()
    assert en["language"] == "en" and en["strings"]["talkToPerson"] == "Talk to a person"
    assert client.get(f"/api/chat/{KEY}/config", {"language": "fr"}).json()["language"] == "en"


# --- the inbox settings ------------------------------------------------------


def form_data(personas, **changes) -> dict:
    inbox = personas.inbox_a
    data = {
        "name": inbox.name,
        "greeting": inbox.greeting,
        "language": inbox.language,
        "allowed_origins": "",
        "token_ttl_days": 30,
        "bot_miss_limit": 2,
    }
    data.update(changes)
    return data


def test_the_inbox_form_takes_the_bot_settings_and_refuses_bad_ones(personas):
    form = InboxForm(
        form_data(personas, bot_miss_limit=0, handover_immediately="on"),
        instance=personas.inbox_a,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["bot_miss_limit"] == 0
    assert form.cleaned_data["handover_immediately"] is True
    for bad in (11, -1, "two"):
        form = InboxForm(form_data(personas, bot_miss_limit=bad), instance=personas.inbox_a)
        assert not form.is_valid() and form.errors["bot_miss_limit"], bad


def test_an_admin_saves_the_bot_settings_on_the_inbox_page(login, personas):
    client = login(personas.alice)
    url = reverse("inboxes:edit", args=[personas.inbox_a.pk])
    response = client.post(url, form_data(personas, bot_miss_limit=0, handover_immediately="on"))
    assert response.status_code == 302
    personas.inbox_a.refresh_from_db()
    assert (personas.inbox_a.bot_miss_limit, personas.inbox_a.handover_immediately) == (0, True)
    refused = client.post(url, form_data(personas, bot_miss_limit=99))
    assert refused.status_code == 400 or "between 0" in refused.content.decode()
    personas.inbox_a.refresh_from_db()
    assert personas.inbox_a.bot_miss_limit == 0
