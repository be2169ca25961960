"""The chat page retries a post with the same client_key and keeps the typed text."""

import pytest
from playwright.sync_api import expect

from conversations.models import FaqEntry, Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_stored_message_whose_answer_was_lost_is_retried_with_its_key_and_stored_once(
    live_server, new_page, personas
):
    FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="When are you open?",
        answer="Monday to Friday, 9 to 6.",
    )
    page = new_page()
    posts = []

    def handler(route, request):
        if request.method != "POST":
            route.continue_()
            return
        posts.append(request.post_data_json)
        if len(posts) == 1:
            route.fetch()  # the server stores it...
            route.fulfill(status=502, body="<html>bad gateway</html>", content_type="text/html")
        else:
            route.continue_()

    page.route("**/api/chat/acme-web/messages*", handler)
    page.goto(f"{live_server.url}/chat/acme-web/")
    page.locator("#chat-input").fill("When are you open?")
    page.locator("#chat-send").click()
    expect(page.locator(".msg.bot .body")).to_have_text(
        ["Hello from Acme!", "Monday to Friday, 9 to 6."]
    )
    expect(page.locator(".msg.visitor")).to_have_count(1)
    expect(page.locator("#chat-input")).to_have_value("")
    assert len(posts) == 2 and posts[0]["client_key"] == posts[1]["client_key"]
    assert len(posts[0]["client_key"]) >= 8
    assert Message.objects.filter(sender="visitor").count() == 1


def test_when_the_network_stays_down_the_typed_text_stays(live_server, new_page, personas):
    page = new_page()
    posts = []

    def handler(route, request):
        if request.method == "POST":
            posts.append(request.post_data_json)
            route.abort()
        else:
            route.continue_()

    page.goto(f"{live_server.url}/chat/acme-web/")
    page.locator("#chat-input").fill("hello")
    page.locator("#chat-send").click()
    # the first message gets through; only then does the network go down
    expect(page.locator(".msg.visitor")).to_have_count(1)
    expect(page.locator("#chat-input")).to_have_value("")
    page.route("**/api/chat/acme-web/messages*", handler)
    page.locator("#chat-input").fill("Are you there?")
    page.locator("#chat-send").click()
    page.wait_for_timeout(8000)
    expect(page.locator("#chat-input")).to_have_value("Are you there?")
    assert len(posts) == 4 and len({p["client_key"] for p in posts}) == 1
