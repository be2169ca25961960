"""The bot in the chat page, in Chromium (issue 14): the visitor's language,
"did you mean" quick replies, "talk to a person" (screenshots at 390 px)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conversations.bot import decide
from conversations.models import Conversation, FaqEntry, Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
HOURS_EN = "Monday to Friday, 9 to 6."
HOURS_DE = "Montag bis Freitag, 9 bis 18 Uhr."
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


def entry(personas, questions: str, answer: str, language: str) -> FaqEntry:
    return FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions=questions,
        answer=answer,
        language=language,
    )


@pytest.fixture
def bilingual(personas):
    personas.inbox_a.language = "de"
    personas.inbox_a.save()
    entry(personas, "Wann haben Sie geöffnet?\nÖffnungszeiten", HOURS_DE, "de")
    entry(personas, "When are you open?\nWhat are your opening hours?", HOURS_EN, "en")


def send(page, text: str) -> None:
    page.locator("#chat-input").fill(text)
    page.locator("#chat-send").click()


def test_an_english_browser_gets_the_english_chat_and_can_switch(
    live_server, new_page, personas, bilingual, screenshot
):
    page = new_page(locale="en-US")  # Accept-Language: en-US; the inbox speaks German
    page.goto(f"{live_server.url}/chat/acme-web/")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator("#chat-send")).to_have_text("Send")
    expect(page.locator("#chat-handover")).to_have_text("Talk to a person")
    expect(page.locator('[data-language="en"]')).to_have_attribute("aria-pressed", "true")
    send(page, "What are your opening hours?")
    expect(page.locator(".msg.bot .body").last).to_have_text(HOURS_EN)
    assert Conversation.objects.get().language == "en"
    screenshot(page, "english-1280")

    page.locator('[data-language="de"]').click()
    expect(page.locator('[data-language="de"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    send(page, "Wann haben Sie geöffnet?")
    expect(page.locator(".msg.bot .body").last).to_have_text(HOURS_DE)
    assert Conversation.objects.get().language == "de"
    page.set_viewport_size(PHONE)
    screenshot(page, "switched-to-german-390")


def test_a_german_browser_gets_the_german_chat(live_server, new_page, personas, bilingual):
    page = new_page(locale="de-DE")
    page.goto(f"{live_server.url}/chat/acme-web/")
    assert page.locator("html").get_attribute("lang") == "de"
    expect(page.locator("#chat-send")).to_have_text("Senden")
    send(page, "Wann haben Sie geöffnet?")
    expect(page.locator(".msg.bot .body").last).to_have_text(HOURS_DE)


@pytest.fixture
def similar(personas):
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


def unsure_text(personas) -> str:
    for text in UNSURE_CANDIDATES:
        if decide(inbox=personas.inbox_a, text=text, language="en").kind == "suggest":
            return text
    pytest.fail("the bot suggested nothing for any of the ambiguous questions")


def test_did_you_mean_shows_buttons_and_a_click_answers(
    live_server, new_page, personas, similar, screenshot
):
    text = unsure_text(personas)
    page = new_page(viewport=PHONE)
    page.goto(f"{live_server.url}/chat/acme-web/")
    send(page, text)
    replies = page.locator(".msg.bot .quick-replies .quick-reply")
    expect(replies.last).to_have_text("Talk to a person")
    count = replies.count()
    assert 2 <= count <= 4
    screenshot(page, "did-you-mean-390")
    label = replies.first.text_content()
    answers = {e.question_list[0]: e.answer for e in similar}
    replies.first.click()
    expect(page.locator(".msg.visitor .body").last).to_have_text(label)
    expect(page.locator(".msg.bot .body").last).to_have_text(answers[label])
    expect(page.locator(".quick-replies")).to_have_count(0)  # answered: the buttons go
    screenshot(page, "did-you-mean-answered-390")
    assert Message.objects.filter(sender="visitor").last().body == label


def test_the_talk_to_a_person_button_after_a_miss_hands_over(
    live_server, new_page, personas, similar, screenshot
):
    page = new_page(viewport=PHONE)
    page.goto(f"{live_server.url}/chat/acme-web/")
    send(page, "zzkq wxvp")
    expect(page.locator(".msg.bot .body").last).to_contain_text("did not understand")
    button = page.locator(".quick-replies .quick-reply")
    expect(button).to_have_text(["Talk to a person"])
    screenshot(page, "not-understood-390")
    button.click()
    expect(page.locator(".msg.system")).to_have_count(1)
    expect(page.locator(".quick-replies")).to_have_count(0)
    expect(page.locator("#chat-handover")).to_be_hidden()
    assert Conversation.objects.get().status == Conversation.Status.WAITING
    screenshot(page, "handed-over-390")
