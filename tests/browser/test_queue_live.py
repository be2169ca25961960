"""The queue live in real Chromium: the navigation's counters, the tab title and
the desktop notification change when a visitor asks for a person, pushed over
the socket, and by polling when the socket is refused.

Runs the real ASGI app (uvicorn) like tests/browser/test_live_chat.py, whose
helpers it uses; needs PostgreSQL (skips on SQLite). The browser's
Notification API is replaced by a recorder (headless Chromium shows none):
the test checks that the page asks only after the click, and what it shows.
"""

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation
from tests.browser.test_live_chat import (  # noqa: F401 (the asgi fixture)
    asgi,
    refuse_websockets,
    signed_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAKE_NOTIFICATION = """
(function () {
  window.__notes = []; window.__asked = 0;
  function Fake(title, options) { window.__notes.push({title: title, options: options || {}}); }
  Fake.permission = "default";
  Fake.requestPermission = function () {
    window.__asked += 1; Fake.permission = "granted"; return Promise.resolve("granted");
  };
  window.Notification = Fake;
})();
"""


def visitor_waiting(server, new_page):
    """A visitor on the chat page who writes, then asks for a person (if the bot
    has not handed over already): the conversation waits."""
    visitor = new_page()
    visitor.goto(f"{server.url}/chat/acme-web/")
    visitor.locator("#chat-input").fill("Hello, I need a person to help with my order.")
    visitor.locator("#chat-send").click()
    # the greeting, then the bot's answer or the handover note
    expect(visitor.locator(".msg.bot, .msg.system")).to_have_count(2)
    if not visitor.locator(".msg.system").count():
        visitor.locator("#chat-handover").click()
    expect(visitor.locator(".msg.system")).to_have_count(1)
    conversation = Conversation.objects.get(inbox__public_key="acme-web")
    assert conversation.status == Conversation.Status.WAITING
    return visitor, conversation


def counter(page, name):
    return page.locator(f'[data-count="{name}"]')


def test_counters_title_and_notification_follow_a_visitor_asking_for_a_person(
    asgi,  # noqa: F811 (the fixture imported above)
    new_page,
    personas,
    screenshot,
):
    operator = signed_in(new_page, asgi, personas.bob)
    operator.add_init_script(FAKE_NOTIFICATION)
    operator.goto(f"{asgi.url}/console/conversations/")
    operator.wait_for_function("() => window.HafenSocket && window.HafenSocket.connected")
    expect(counter(operator, "waiting")).to_have_text("0")
    assert not operator.title().startswith("(")
    assert operator.evaluate("window.__asked") == 0  # never asked without a click
    operator.get_by_role("button", name="Enable notifications").click()
    expect(operator.get_by_text("Notifications are on.")).to_be_visible()
    assert operator.evaluate("window.__asked") == 1

    visitor, conversation = visitor_waiting(asgi, new_page)
    expect(counter(operator, "waiting")).to_have_text("1", timeout=2_000)
    expect(counter(operator, "unassigned")).to_have_text("1")
    expect(operator).to_have_title("(1) Conversations · Hafen")
    expect(operator.locator(f'tr[data-conversation="{conversation.pk}"]')).to_be_visible()
    operator.wait_for_function("() => window.__notes.length === 1", timeout=2_000)
    note = operator.evaluate("window.__notes[0]")
    assert note["title"] == "A visitor is waiting for a person"
    assert "help with my order" not in str(note)  # ids and fixed text only
    assert operator.evaluate("window.HafenSocket.polling") is False
    screenshot(operator, "queue-live-waiting")

    # the visitor writes again: the same conversation does not alert twice
    visitor.locator("#chat-input").fill("Anyone?")
    visitor.locator("#chat-send").click()
    operator.wait_for_timeout(1_000)
    assert operator.evaluate("window.__notes.length") == 1

    # taken over on another page: mine goes up, waiting and the title go back
    operator.goto(f"{asgi.url}/console/conversations/{conversation.pk}/")
    operator.get_by_role("button", name="Take over").click()
    expect(counter(operator, "mine")).to_have_text("1")
    expect(counter(operator, "waiting")).to_have_text("0")
    assert not operator.title().startswith("(")


def test_the_counters_and_title_update_by_polling_when_the_socket_is_refused(
    asgi,  # noqa: F811 (the fixture imported above)
    new_page,
    personas,
):
    operator = signed_in(new_page, asgi, personas.bob)
    refuse_websockets(operator)
    operator.goto(f"{asgi.url}/console/")
    operator.wait_for_function("() => window.HafenSocket.polling === true", timeout=8_000)
    expect(counter(operator, "waiting")).to_have_text("0")

    visitor_waiting(asgi, new_page)
    # socket.js polls every 5 s
    expect(counter(operator, "waiting")).to_have_text("1", timeout=7_000)
    expect(operator).to_have_title("(1) Console · Hafen")
