"""The operator console in real Chromium, against the visitor's real chat page.

The visitor writes on /chat/<key>/ (no FAQ entries on inbox "Web", so the bot
hands over); the operator's list shows the waiting conversation without a
reload, the operator takes it over and replies, and the visitor's page shows
the reply. A viewer sees masked data and no reply box; a reveal asks for a reason.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.conversations.console_helpers import conversation_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "jana.beispiel@example.com"


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/console/")


def test_an_operator_sees_a_waiting_visitor_takes_over_and_the_reply_reaches_the_chat(
    live_server, new_page, personas, screenshot
):
    base = live_server.url
    operator = new_page()
    log_in(operator, base, "bob", personas.password)
    operator.goto(f"{base}/console/conversations/")
    expect(operator.locator("tbody[data-rows]")).to_contain_text("No conversations match.")

    visitor = new_page()
    visitor.goto(f"{base}/chat/acme-web/")
    # without contact consent the chat redacts personal data before storing it
    visitor.locator("#chat-input").fill(
        f"Hello, I need a person to help with my order. Mail me at {EMAIL}"
    )
    visitor.locator("#chat-send").click()
    expect(visitor.locator(".msg.system")).to_have_count(1)  # handed over to a person

    # the list refreshes itself (console.js polls every 5 s): no reload here
    row = operator.locator("tbody[data-rows] tr.waiting")
    expect(row).to_have_count(1, timeout=12_000)
    expect(operator.locator("[data-waiting-badge]")).to_have_text("1 waiting")
    screenshot(operator, "list-waiting")

    row.get_by_role("link").click()
    expect(operator.locator(".messages-list")).to_contain_text("help with my order")
    assert EMAIL not in operator.content()
    operator.get_by_role("button", name="Take over").click()
    expect(operator.locator("h1 .badge")).to_have_text("With an operator")
    operator.get_by_label("Reply").fill("Hi, Bob from Acme here. How can I help?")
    operator.get_by_role("button", name="Send reply").click()
    expect(operator.locator(".messages-list li.operator")).to_contain_text("Bob from Acme here")
    screenshot(operator, "detail-replied")

    expect(visitor.locator(".msg.operator .body")).to_have_text(
        ["Hi, Bob from Acme here. How can I help?"], timeout=10_000
    )
    screenshot(visitor, "visitor-sees-reply")


def test_a_viewer_sees_masked_data_and_no_reply_box(live_server, new_page, personas, screenshot):
    conversation = conversation_in(
        personas.inbox_a, status="waiting", body=f"My address is {EMAIL}, phone 030 901820"
    )
    page = new_page()
    log_in(page, live_server.url, "charlie", personas.password)
    expect(page.get_by_role("heading", name="Recent conversations")).to_be_visible()
    page.get_by_role("link", name=conversation.reference).click()
    expect(page.locator(".messages-list")).to_contain_text("[•••• email]")
    expect(page.locator(".messages-list")).to_contain_text("[•••• phone]")
    assert EMAIL not in page.content()
    expect(page.get_by_label("Reply")).to_have_count(0)
    expect(page.get_by_role("button", name="Take over")).to_have_count(0)
    expect(page.get_by_text("You can read this conversation but not answer it.")).to_be_visible()
    expect(page.get_by_text("Reveal personal data")).to_have_count(0)
    screenshot(page, "viewer-detail")


def test_a_reveal_asks_for_a_reason_and_shows_the_data_for_that_view_only(
    live_server, new_page, personas, screenshot
):
    conversation = conversation_in(personas.inbox_a, status="waiting", body=f"Mail {EMAIL}")
    page = new_page()
    log_in(page, live_server.url, "alice", personas.password)
    page.goto(f"{live_server.url}/console/conversations/{conversation.pk}/")
    page.get_by_text("Reveal personal data").click()
    reason = page.get_by_label("Reason for revealing personal data")
    expect(reason).to_be_visible()
    page.get_by_role("button", name="Reveal for this view").click()
    # the empty reason is refused (the browser's required check), nothing revealed
    assert reason.evaluate("el => !el.validity.valid")
    assert EMAIL not in page.content()
    screenshot(page, "reveal-asks-reason")
    reason.fill("Visitor asked us to confirm the address")
    page.get_by_role("button", name="Reveal for this view").click()
    expect(page.locator(".messages-list")).to_contain_text(EMAIL)
    expect(page.get_by_role("status").filter(has_text="for this view only")).to_be_visible()
    screenshot(page, "revealed")
    page.goto(f"{live_server.url}/console/conversations/{conversation.pk}/")
    expect(page.locator(".messages-list")).to_contain_text("[•••• email]")
    assert re.search(re.escape(EMAIL), page.content()) is None
