"""Canned replies and search in real Chromium: "/gr" offers /greeting, Enter inserts it,
Ctrl+Enter sends; the admin pages and the search page at 1280 and 390 px."""

import pytest
from playwright.sync_api import expect

from conversations.models import CannedReply, Conversation, Message
from conversations.search import conversation_reindex
from tests.browser.test_console_operator import log_in
from tests.conversations.console_helpers import conversation_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GREETING = "Hello, thank you for waiting. How can I help you today?"


def overflowing(page) -> list[str]:
    """Elements that reach past the right edge of the viewport (empty: the page fits)."""
    return page.evaluate(
        """[...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .map(e => e.tagName + '.' + e.className)"""
    )


@pytest.fixture
def replies(personas):
    CannedReply.objects.create(company=personas.company_a, shortcut="greeting", text=GREETING)
    CannedReply.objects.create(company=personas.company_a, shortcut="goodbye", text="Goodbye!")
    CannedReply.objects.create(company=personas.company_a, shortcut="refund", text="Refunds…")


def test_an_operator_inserts_a_canned_reply_with_slash_and_sends_with_ctrl_enter(
    live_server, new_page, personas, replies, screenshot
):
    conversation = conversation_in(personas.inbox_a, status="waiting", body="Hi there")
    page = new_page()
    log_in(page, live_server.url, "bob", personas.password)
    page.goto(f"{live_server.url}/console/conversations/{conversation.pk}/")
    box = page.locator("form.reply textarea")
    box.click()
    box.press_sequentially("Dear visitor, /g")
    menu = page.locator("#canned-menu")
    expect(menu).to_be_visible()
    expect(menu.locator("li")).to_have_count(2)  # /goodbye, /greeting; not /refund
    box.press_sequentially("r")
    expect(menu.locator("li")).to_have_count(1)
    expect(menu.locator("li[aria-selected=true]")).to_contain_text("/greeting")
    screenshot(page, "canned-menu")
    box.press("Enter")
    expect(menu).to_be_hidden()
    expect(box).to_have_value(f"Dear visitor, {GREETING}")
    # arrows move through the offers, Escape closes without inserting
    box.press_sequentially(" /g")
    box.press("ArrowDown")
    expect(menu.locator("li[aria-selected=true]")).to_contain_text("/greeting")
    box.press("Escape")
    expect(menu).to_be_hidden()
    expect(box).to_have_value(f"Dear visitor, {GREETING} /g")
    box.press("Backspace")
    box.press("Backspace")
    box.press("Backspace")
    box.press("Control+Enter")
    page.wait_for_url(f"{live_server.url}/console/conversations/{conversation.pk}/")
    expect(page.locator(".messages-list")).to_contain_text(GREETING)
    sent = Message.objects.get(sender="operator")
    assert sent.body == f"Dear visitor, {GREETING}"


def test_a_slash_inside_a_word_offers_nothing(live_server, new_page, personas, replies):
    conversation = conversation_in(personas.inbox_a, status="waiting", body="Hi")
    page = new_page()
    log_in(page, live_server.url, "bob", personas.password)
    page.goto(f"{live_server.url}/console/conversations/{conversation.pk}/")
    box = page.locator("form.reply textarea")
    box.click()
    box.press_sequentially("and/gr")
    expect(page.locator("#canned-menu")).to_be_hidden()
    box.press("Enter")  # a plain Enter is a new line, not a send
    expect(box).to_have_value("and/gr\n")
    assert not Message.objects.filter(sender="operator").exists()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_canned_and_search_pages_fit_the_screen(
    live_server, new_page, personas, replies, screenshot, width
):
    conversation = conversation_in(personas.inbox_a, status="waiting", body="Rechnung fehlt")
    conversation_reindex(conversation_id=conversation.pk)
    page = new_page(viewport={"width": width, "height": 800})
    log_in(page, live_server.url, "alice", personas.password)
    page.goto(f"{live_server.url}/console/canned/")
    expect(page.locator("table.canned")).to_contain_text("/greeting")
    assert overflowing(page) == []
    screenshot(page, f"canned-list-{width}")
    page.get_by_role("link", name="New canned reply").click()
    page.get_by_label("Shortcut").fill("greeting")
    page.get_by_label("Text").fill("typed text stays")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("form.card")).to_contain_text(
        "Another canned reply already uses this shortcut."
    )
    expect(page.get_by_label("Text")).to_have_value("typed text stays")
    assert overflowing(page) == []
    screenshot(page, f"canned-form-error-{width}")
    page.goto(f"{live_server.url}/console/search/")
    page.get_by_label("Search", exact=True).fill("rechnung")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.search-results")).to_contain_text(conversation.reference)
    assert overflowing(page) == []
    screenshot(page, f"search-{width}")
    page.goto(f"{live_server.url}/console/conversations/{conversation.pk}/")
    page.locator("form.reply textarea").press_sequentially("/")
    expect(page.locator("#canned-menu li")).to_have_count(3)
    screenshot(page, f"reply-box-{width}")
    assert overflowing(page) == []


@pytest.mark.parametrize("width", [1280, 390])
def test_a_reply_to_an_erased_conversation_lands_on_a_page_that_keeps_it(
    live_server, new_page, personas, screenshot, width
):
    conversation = conversation_in(personas.inbox_a, status="waiting", body="Hi")
    page = new_page(viewport={"width": width, "height": 800})
    log_in(page, live_server.url, "bob", personas.password)
    page.goto(f"{live_server.url}/console/conversations/{conversation.pk}/")
    page.locator("form.reply textarea").fill("A long answer I do not want to type again")
    Conversation.objects.filter(pk=conversation.pk).delete()  # erased meanwhile
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("heading", name="Reply not sent")).to_be_visible()
    expect(page.locator("#kept-reply")).to_have_value("A long answer I do not want to type again")
    screenshot(page, f"reply-gone-{width}")
    assert overflowing(page) == []
