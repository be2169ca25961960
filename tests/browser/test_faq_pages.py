"""The FAQ page (upload, try the bot, download) and the unanswered questions page in
real Chromium, at 1280 and 390 px wide."""

import json

import pytest
from playwright.sync_api import expect

from conversations.models import FaqEntry, Message
from tests.browser.test_canned import overflowing
from tests.browser.test_console_operator import log_in
from tests.conversations.console_helpers import conversation_in
from tests.factories import MessageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAQ = [
    {
        "questions": ["Where is my parcel?", "Track my order", "When will my order arrive?"],
        "answer": "Follow the tracking link in your shipping e-mail.",
        "language": "en",
    },
    {
        "questions": ["How do I return an item?", "I want to send my order back"],
        "answer": "Print the return label from your account and drop the parcel at any post office.",
        "language": "en",
        "asks_for_contact": True,
    },
]


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_imports_a_faq_tries_the_bot_and_downloads_it(
    live_server, new_page, personas, screenshot, tmp_path, width
):
    path = tmp_path / "faq.json"
    path.write_text(json.dumps(FAQ), encoding="utf-8")
    page = new_page(viewport={"width": width, "height": 900})
    log_in(page, live_server.url, "alice", personas.password)
    page.goto(f"{live_server.url}/console/inboxes/{personas.inbox_a.pk}/")
    page.get_by_role("link", name="Try the bot, import, export").click()
    page.get_by_label("FAQ file (.json or .csv)").set_input_files(str(path))
    page.get_by_label("Replace all current answers").check()
    page.get_by_role("button", name="Import file").click()
    expect(page.locator(".flash")).to_contain_text("Imported 2 answers with 5 questions.")
    assert FaqEntry.objects.filter(inbox=personas.inbox_a).count() == 2

    page.get_by_label("A visitor's message").fill("Where is my parcel?")
    page.get_by_role("button", name="Try", exact=True).click()
    expect(page.locator(".try-result")).to_contain_text("Follow the tracking link")
    expect(page.locator(".try-result .badge")).to_have_text("Answers")
    assert overflowing(page) == []
    screenshot(page, f"faq-page-{width}")

    # a bad file: the error names the row, nothing changes
    bad = tmp_path / "bad.csv"
    bad.write_text("entry,language,question,answer\n1,en,Hi,\n", encoding="utf-8")
    page.get_by_label("FAQ file (.json or .csv)").set_input_files(str(bad))
    page.get_by_role("button", name="Import file").click()
    expect(page.get_by_role("alert")).to_contain_text("row 2: answer is empty.")
    assert FaqEntry.objects.filter(inbox=personas.inbox_a).count() == 2
    screenshot(page, f"faq-page-error-{width}")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == f"faq-inbox-{personas.inbox_a.pk}.csv"


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_adds_an_unanswered_question_as_a_variant(
    live_server, new_page, personas, screenshot, width
):
    entry = FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="Do you sell gift cards?",
        answer="Yes, in every shop.",
    )
    for body in [
        "Do you ship to Mars?",
        "Please mail me at someone.private@example.org about gift vouchers",
    ]:
        MessageFactory(
            conversation=conversation_in(personas.inbox_a),
            body=body,
            bot_outcome=Message.BotOutcome.NOT_UNDERSTOOD,
        )
    page = new_page(viewport={"width": width, "height": 900})
    log_in(page, live_server.url, "alice", personas.password)
    page.goto(f"{live_server.url}/console/unanswered/")
    rows = page.locator("table.unanswered tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("main")).not_to_contain_text("someone.private@example.org")
    assert overflowing(page) == []
    screenshot(page, f"unanswered-{width}")
    first = rows.nth(0)
    first.get_by_label("Answer").select_option(str(entry.pk))
    first.get_by_role("button", name="Add").click()
    expect(page.locator(".flash")).to_contain_text("Added as a question of")
    expect(rows).to_have_count(1)
    entry.refresh_from_db()
    assert len(entry.question_list) == 2
    assert "someone.private@example.org" not in entry.questions
    screenshot(page, f"unanswered-after-{width}")
