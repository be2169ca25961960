"""The visitor's chat in real Chromium: the demo site's widget, resume on/off, HTML as text."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from conversations.models import Conversation, Message
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def send(chat, text: str) -> None:
    chat.locator("#chat-input").fill(text)
    chat.locator("#chat-send").click()


def test_a_visitor_on_the_demo_site_asks_the_bot_and_then_for_a_person(
    live_server, new_page, screenshot
):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    page = new_page(locale="de-DE")
    page.goto(f"{live_server.url}/demo/")
    launcher = page.get_by_role("button", name="Chat öffnen")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    expect(page.get_by_role("button", name="Chat schließen")).to_have_attribute(
        "aria-expanded", "true"
    )
    chat = page.frame_locator("iframe[title='Chat mit uns']")
    expect(chat.locator(".greeting")).to_contain_text("Hafen-Bot von Demo GmbH")

    send(chat, "Wann habt ihr offen?")
    expect(chat.locator(".msg.visitor .body")).to_have_text(["Wann habt ihr offen?"])
    expect(chat.locator(".msg.bot .body").last).to_contain_text("Montag bis Freitag")

    chat.locator("#chat-handover").click()
    expect(chat.locator(".msg.system")).to_have_count(1)
    expect(chat.locator("#chat-handover")).to_be_hidden()
    assert Conversation.objects.get().status == Conversation.Status.WAITING
    screenshot(page, "demo-widget-open")

    page.get_by_role("button", name="Chat schließen").click()
    expect(page.get_by_role("button", name="Chat öffnen")).to_be_focused()


def test_with_resume_on_a_reload_shows_the_conversation_again(
    live_server, new_page, personas, screenshot
):
    personas.inbox_a.resume_enabled = True
    personas.inbox_a.handover_immediately = True  # issue 14: the bot would answer "Hello"
    personas.inbox_a.save()
    page = new_page()
    page.goto(f"{live_server.url}/chat/acme-web/")
    send(page, "Hello, is anyone there?")
    expect(page.locator(".msg.visitor .body")).to_have_text(["Hello, is anyone there?"])
    expect(page.locator(".msg.system")).to_have_count(1)  # handed over at once

    # An operator answers; polling brings it in, under the first name only.
    bob = UserFactory(username="bob-operator", first_name="Bob")
    Message.objects.create(
        company=personas.company_a,
        conversation=Conversation.objects.get(),
        sender=Message.Sender.OPERATOR,
        author=bob,
        body="Hi, Bob here. How can I help?",
    )
    expect(page.locator(".msg.operator .body")).to_have_text(["Hi, Bob here. How can I help?"])
    expect(page.locator(".msg.operator .meta")).to_have_text(["Bob"])
    # The visitor sees the reference an admin can find them by (erasure, access).
    expect(page.locator("#chat-ref-value")).to_have_text(Conversation.objects.get().reference)
    screenshot(page, "chat-desktop")

    token = page.evaluate("localStorage.getItem('hafen:acme-web:token')")
    assert token
    page.reload()
    expect(page.locator(".msg.visitor .body")).to_have_text(["Hello, is anyone there?"])
    expect(page.locator(".msg.operator .body")).to_have_count(1)
    assert Conversation.objects.count() == 1


def test_with_resume_off_a_reload_starts_fresh_and_the_browser_keeps_nothing(
    live_server, new_page, personas
):
    page = new_page()
    page.goto(f"{live_server.url}/chat/acme-web/")
    send(page, "Remember me?")
    expect(page.locator(".msg.visitor .body")).to_have_text(["Remember me?"])
    page.reload()
    expect(page.locator(".greeting")).to_be_visible()
    expect(page.locator(".msg.visitor")).to_have_count(0)
    storage = page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]")
    assert storage == [0, 0, ""]
    assert page.context.cookies(live_server.url) == []


def test_a_script_tag_in_a_message_is_shown_as_text(live_server, new_page, personas):
    dialogs = []
    page = new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server.url}/chat/acme-web/")
    payload = '<script>alert("visitor")</script><img src=x onerror="alert(\'img\')">'
    send(page, payload)
    expect(page.locator(".msg.visitor .body")).to_have_text([payload])
    # An operator's reply with HTML arrives by polling and is text as well.
    Message.objects.create(
        company=personas.company_a,
        conversation=Conversation.objects.get(),
        sender=Message.Sender.OPERATOR,
        body="<b>bold?</b><script>alert('operator')</script>",
    )
    expect(page.locator(".msg.operator .body")).to_have_text(
        ["<b>bold?</b><script>alert('operator')</script>"]
    )
    assert page.locator(".chat-messages script, .chat-messages img, .chat-messages b").count() == 0
    assert dialogs == []


def test_the_chat_page_fits_a_phone(live_server, new_page, personas, screenshot):
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(f"{live_server.url}/chat/acme-web/")
    send(page, "Can I pay by invoice?")
    expect(page.locator(".msg.visitor")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    box = page.locator("#chat-send").bounding_box()
    assert box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844
    screenshot(page, "chat-phone")
