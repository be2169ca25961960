"""The chat page's other states in Chromium: closed conversations, the notice gate hook,
and the admins' inbox page (screenshots)."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from consent.models import PrivacyNotice
from conversations.models import Conversation, FaqEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_closed_conversation_offers_a_new_one(live_server, new_page, personas, screenshot):
    page = new_page()
    page.goto(f"{live_server.url}/chat/acme-web/")
    page.locator("#chat-input").fill("First question")
    page.locator("#chat-send").click()
    expect(page.locator(".msg.visitor")).to_have_count(1)
    Conversation.objects.update(status=Conversation.Status.CLOSED, closed_at=timezone.now())

    expect(page.locator("#chat-closed")).to_be_visible(timeout=6000)  # found by polling
    expect(page.locator("#chat-form")).to_be_hidden()
    screenshot(page, "chat-closed")
    page.get_by_role("button", name="Start a new conversation").click()
    expect(page.locator("#chat-form")).to_be_visible()
    expect(page.locator(".msg.visitor")).to_have_count(0)
    page.locator("#chat-input").fill("Second question")
    page.locator("#chat-send").click()
    expect(page.locator(".msg.visitor .body")).to_have_text(["Second question"])
    assert Conversation.objects.count() == 2
    assert Conversation.objects.filter(status="closed").count() == 1


def test_a_required_notice_is_shown_before_anything_is_stored(live_server, new_page, personas):
    personas.inbox_a.notice_required = True
    personas.inbox_a.save()
    PrivacyNotice.objects.create(
        company=personas.company_a,
        version=1,
        title="How we handle your data",
        text="Messages are stored encrypted for 90 days.",
        published_at=timezone.now(),
    )
    page = new_page()
    page.goto(f"{live_server.url}/chat/acme-web/")
    panel = page.locator("#chat-panels")
    expect(panel).to_contain_text("How we handle your data")
    expect(panel).to_contain_text("stored encrypted for 90 days")
    expect(page.locator("#chat-input")).to_be_disabled()
    assert page.evaluate("typeof window.HafenChat.showPanel") == "function"
    assert Conversation.objects.count() == 0


def test_an_admin_edits_an_inbox_and_copies_the_snippet(
    live_server, new_page, personas, screenshot
):
    FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="What are your opening hours?\nWhen are you open?",
        answer="Monday to Friday, 9 to 6.",
    )
    page = new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(personas.password)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/console/inboxes/")
    page.get_by_role("link", name="Web").click()
    expect(page.get_by_label("One line to copy")).to_have_value(
        f'<script src="{live_server.url}/static/hafen/widget.js" data-inbox="acme-web" async>'
        "</script>"
    )
    page.get_by_label("allowed website origins").fill("https://www.acme.example")
    page.get_by_label("resume across visits").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved.")
    screenshot(page, "inbox-edit")
    personas.inbox_a.refresh_from_db()
    assert personas.inbox_a.resume_enabled
    assert personas.inbox_a.allowed_origins == "https://www.acme.example"
