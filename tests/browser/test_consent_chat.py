"""Consent in real Chromium: the notice gate, the contact form with opt-in, withdrawal."""

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from consent.models import ConsentRecord, ContactRequest
from consent.services import contact_request
from conversations.models import Conversation, Message, Visitor
from tests.consent.helpers import publish_notice, raw_visitor_row, row_counts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTICE_TEXT = (
    "Acme stores your messages encrypted for 180 days.\n\nContact details only with your consent."
)


def send(page, text: str) -> None:
    page.locator("#chat-input").fill(text)
    page.locator("#chat-send").click()


def test_a_visitor_reads_the_notice_accepts_it_and_chats(
    live_server, new_page, personas, screenshot
):
    personas.inbox_a.notice_required = True
    personas.inbox_a.save()
    notice = publish_notice(personas.company_a, title="Privacy at Acme", text=NOTICE_TEXT)
    page = new_page()
    page.goto(f"{live_server.url}/chat/acme-web/")
    panel = page.locator(".hafen-consent-panel.notice")
    expect(panel.get_by_role("heading", name="Privacy at Acme")).to_be_visible()
    expect(panel.locator(".hafen-notice-text p")).to_have_count(2)
    expect(panel.get_by_role("link", name="Who can see my data?")).to_have_attribute(
        "href", "/privacy/acme/"
    )
    expect(page.locator("#chat-input")).to_be_disabled()
    screenshot(page, "notice-shown")

    # Declining stores nothing and says so.
    before = row_counts()
    panel.get_by_role("button", name="Decline").click()
    expect(page.locator(".hafen-consent-panel.declined")).to_contain_text("Nothing was stored")
    expect(page.locator("#chat-input")).to_be_disabled()
    assert row_counts() == before
    screenshot(page, "notice-declined")

    page.get_by_role("button", name="Read the notice again").click()
    page.get_by_role("button", name="Accept and start the chat").click()
    expect(page.locator("#chat-panels")).to_be_hidden()
    expect(page.locator("#chat-input")).to_be_enabled()
    send(page, "Hello there")
    expect(page.locator(".msg.visitor .body")).to_have_text(["Hello there"])
    expect(page.locator(".msg.system, .msg.bot")).not_to_have_count(0)
    screenshot(page, "notice-accepted-chat")
    record = ConsentRecord.objects.get()
    assert (record.purpose, record.notice_id) == (ConsentRecord.Purpose.NOTICE, notice.pk)
    assert Conversation.objects.get().visitor == record.visitor
    assert page.evaluate("window.localStorage.length") == 0  # resume is off


def test_a_visitor_gives_contact_details_with_opt_in_and_withdraws_them(
    live_server, new_page, personas, screenshot
):
    page = new_page()
    page.goto(f"{live_server.url}/chat/acme-web/")
    send(page, "Please mail me at canary.w3@example.org")
    expect(page.locator(".msg.visitor .body")).to_have_text(["Please mail me at [email removed]"])
    expect(page.locator(".msg.visitor .note")).to_contain_text("We removed personal data")
    screenshot(page, "redacted")

    # An operator asks, with a purpose; the chat shows the form next to the request.
    conversation = Conversation.objects.get()
    contact_request(
        membership=Membership.objects.get(user=personas.bob),
        conversation=conversation,
        purpose="So we can call you back.",
    )
    form = page.locator(".hafen-consent-panel.contact")
    expect(form).to_contain_text("So we can call you back.")
    opt_in = form.get_by_role("checkbox")
    expect(opt_in).not_to_be_checked()
    form.get_by_label("Name (optional)").fill("Canary Visitor")
    form.get_by_label("Email address").fill("canary.w3@example.org")
    form.get_by_label("Phone number").fill("030 12345678")
    form.get_by_role("button", name="Send my details").click()
    expect(form.get_by_role("alert")).to_contain_text("Please tick the box")
    visitor = Visitor.objects.get()
    assert raw_visitor_row(visitor.pk) == raw_visitor_row(visitor.pk) and visitor.email == ""
    screenshot(page, "contact-form-without-opt-in")

    opt_in.check()
    form.get_by_role("button", name="Send my details").click()
    stored = page.locator(".hafen-contact-state")
    expect(stored).to_contain_text("canary.w3@example.org")
    expect(stored).to_contain_text("+493012345678")
    visitor.refresh_from_db()
    assert (visitor.name, visitor.email) == ("Canary Visitor", "canary.w3@example.org")
    assert ContactRequest.objects.count() == 1
    screenshot(page, "contact-stored")

    # Later, from the header button: withdraw.
    page.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="My contact details").click()
    page.get_by_role("button", name="Withdraw consent and delete my details").click()
    expect(page.locator(".hafen-consent-panel.withdrawn")).to_contain_text("deleted")
    assert raw_visitor_row(visitor.pk) == {"name": "", "email": "", "phone": "", "email_index": ""}
    assert list(
        ConsentRecord.objects.filter(purpose="contact").values_list("action", flat=True)
    ) == ["granted", "withdrawn"]
    screenshot(page, "contact-withdrawn")
    assert Message.objects.filter(sender=Message.Sender.SYSTEM).exists()


def test_a_bot_answer_offers_the_contact_form(live_server, new_page, personas, screenshot):
    from conversations.models import FaqEntry

    FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="Please call me back",
        answer="Gladly, leave your number if you like.",
        asks_for_contact=True,
    )
    page = new_page()
    page.goto(f"{live_server.url}/chat/acme-web/")
    send(page, "Please call me back")
    form = page.locator(".hafen-consent-panel.contact")
    expect(form).to_contain_text("get back to you")
    expect(form.get_by_role("checkbox")).not_to_be_checked()
    form.get_by_role("button", name="Not now").click()
    expect(page.locator("#chat-panels")).to_be_hidden()


def test_on_the_demo_site_the_switched_on_notice_gates_the_widget(
    live_server, new_page, screenshot
):
    """The issue's walk-through: seed, the admin requires the notice, a visitor accepts."""
    from django.core.management import call_command

    from consent.services import inbox_set_notice_required
    from conversations.models import Inbox

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    inbox = Inbox.objects.get(public_key="demo-website")
    inbox_set_notice_required(inbox=inbox, required=True, actor=None)
    page = new_page(locale="de-DE")
    page.goto(f"{live_server.url}/demo/")
    page.get_by_role("button", name="Chat öffnen").click()
    chat = page.frame_locator("iframe[title='Chat mit uns']")
    panel = chat.locator(".hafen-consent-panel.notice")
    expect(panel).to_contain_text("Datenschutzhinweis für den Chat")
    screenshot(page, "demo-notice")
    panel.locator("button.primary").click()
    expect(chat.locator("#chat-input")).to_be_enabled()
    chat.locator("#chat-input").fill("Meine Mail: canary.demo@example.org")
    chat.locator("#chat-send").click()
    expect(chat.locator(".msg.visitor .body")).to_have_text(["Meine Mail: [E-Mail entfernt]"])
    screenshot(page, "demo-redacted")
    assert ConsentRecord.objects.filter(purpose="notice", notice__version=1).count() == 1
