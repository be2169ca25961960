"""Live chat in real Chromium: the visitor's chat page and the console's conversation page.

pytest-django's live_server speaks WSGI only (no WebSockets), so these tests
start the real ASGI app (uvicorn, as the Procfile runs it) in a subprocess on
a free port, against the test database. That needs PostgreSQL: the process
reads what the test committed, which an in-memory SQLite test database cannot
share; on SQLite these tests skip.

Scenarios: the visitor writes and the operator's open page shows it without a
reload (under 2 s, pushed); the operator types and the visitor sees the typing
note, then the reply; a second operator takes over and the first sees a banner
and must confirm before replying (the typed text survives); with the socket
endpoint refused both pages fall back to polling.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from playwright.sync_api import expect

from accounts.models import Membership
from accounts.services import membership_set, team_member_add
from conversations.models import Conversation, Message
from tests.factories import UserFactory
from tests.services import need_postgres

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UVICORN = Path(sys.executable).with_name("uvicorn")
ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace(f"{db['USER']}@", f"{db['USER']}:{db['PASSWORD']}@")
    return url


class AsgiServer:
    """uvicorn running chatbot_site.asgi on a free port; stopped by its pid."""

    def __init__(self, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {
            **os.environ,
            "DEBUG": "1",  # whitenoise serves static/ from the finders
            "HAFEN_ENV": "development",
            "DATABASE_URL": database_url(),
            "HAFEN_RATE_KEY_PREFIX": f"test-live:{uuid.uuid4().hex}",
        }
        self.proc = subprocess.Popen(
            [
                str(UVICORN),
                "chatbot_site.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--lifespan",
                "off",
                "--no-access-log",
            ],
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"uvicorn exited: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("uvicorn did not start")
        # The first request loads the URL map and every view module (seconds on
        # a busy machine): done here, not inside a page's navigation timeout.
        urllib.request.urlopen(f"{self.url}/accounts/login/", timeout=60).close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def asgi(transactional_db, tmp_path):
    need_postgres()
    server = AsgiServer(tmp_path / "uvicorn.log")
    yield server
    server.stop()


def signed_in(new_page, server: AsgiServer, user, **options):
    """A browser page carrying a session of `user` (made by Django's test client)."""
    client = Client()
    client.force_login(user)
    page = new_page(**options)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": server.url,
            }
        ]
    )
    return page


def refuse_websockets(page) -> None:
    """Every WebSocket the page opens goes to a path the server refuses (no such
    route: the handshake fails), as a proxy that does not pass WebSockets would.
    (Another port would be blocked by the CSP, connect-src 'self', not refused.)"""
    page.add_init_script(
        "(function(){var W=window.WebSocket;"
        "window.WebSocket=function(u,p){return new W(u.replace('/ws/','/ws-refused/'),p);};"
        "window.WebSocket.prototype=W.prototype;})();"
    )


def visitor_waiting(server: AsgiServer, new_page, **options):
    """A visitor on the chat page who asked something the bot cannot answer (status waiting)."""
    visitor = new_page(**options)
    visitor.goto(f"{server.url}/chat/acme-web/")
    visitor.locator("#chat-input").fill("Hello, I need a person to help with my order.")
    visitor.locator("#chat-send").click()
    expect(visitor.locator(".msg.system")).to_have_count(1)
    conversation = Conversation.objects.get(inbox__public_key="acme-web")
    assert conversation.status == Conversation.Status.WAITING
    return visitor, conversation


def open_conversation(page, server: AsgiServer, conversation, *, pushed=True):
    page.goto(f"{server.url}/console/conversations/{conversation.pk}/")
    expect(page.locator(".messages-list")).to_contain_text("help with my order")
    if pushed:
        page.wait_for_function("() => window.HafenSocket && window.HafenSocket.connected")


def second_operator(personas):
    erin = UserFactory(username="erin", first_name="Erin", last_name="Engel")
    membership_set(user=erin, company=personas.company_a, role=Membership.Role.OPERATOR)
    team_member_add(team=personas.support, user=erin)  # see + reply on inbox "Web"
    return erin


def test_a_visitor_message_appears_on_the_open_conversation_page_within_two_seconds(
    asgi, new_page, personas, screenshot
):
    visitor, conversation = visitor_waiting(asgi, new_page)
    operator = signed_in(new_page, asgi, personas.bob)
    open_conversation(operator, asgi, conversation)

    visitor.locator("#chat-input").press_sequentially("Are you th", delay=150)
    expect(operator.get_by_text("The visitor is typing…")).to_be_visible(timeout=2_000)
    visitor.locator("#chat-input").fill("Are you there? It is urgent.")
    started = time.monotonic()
    visitor.locator("#chat-send").click()
    expect(operator.locator(".messages-list li.visitor")).to_have_count(2, timeout=2_000)
    assert time.monotonic() - started < 2.0
    expect(operator.locator(".messages-list li.visitor").last).to_contain_text("It is urgent")
    # a new visitor message ends the typing note; no reload happened (the page's own state)
    expect(operator.get_by_text("The visitor is typing…")).to_be_hidden()
    assert operator.evaluate("window.HafenSocket.polling") is False


def test_the_operator_types_the_visitor_sees_it_then_the_reply(
    asgi, new_page, personas, screenshot
):
    visitor, conversation = visitor_waiting(asgi, new_page)
    operator = signed_in(new_page, asgi, personas.bob)
    open_conversation(operator, asgi, conversation)
    operator.get_by_role("button", name="Take over").click()
    expect(operator.locator("h1 .badge")).to_have_text("With an operator")
    operator.wait_for_function("() => window.HafenSocket && window.HafenSocket.connected")

    reply = operator.get_by_label("Reply", exact=True)
    reply.press_sequentially("Hi, this is Bob", delay=120)
    typing = visitor.locator("#chat-typing")
    expect(typing).to_have_text("An operator is typing…", timeout=2_000)
    screenshot(visitor, "visitor-typing-1280")
    visitor.set_viewport_size({"width": 390, "height": 760})
    screenshot(visitor, "visitor-typing-390")
    assert visitor.evaluate("document.documentElement.scrollWidth") <= 390

    operator.get_by_role("button", name="Send reply").click()
    expect(visitor.locator(".msg.operator .body")).to_have_text(["Hi, this is Bob"], timeout=2_000)
    expect(typing).to_be_hidden()
    # and the typing note goes away by itself ~4 s after the last event
    operator.wait_for_function("() => window.HafenSocket && window.HafenSocket.connected")
    reply = operator.get_by_label("Reply", exact=True)
    reply.press_sequentially("x", delay=50)
    expect(typing).to_be_visible(timeout=2_000)
    expect(typing).to_be_hidden(timeout=6_000)


def test_a_colleague_takes_over_the_first_operator_sees_a_banner_and_must_confirm(
    asgi, new_page, personas, screenshot
):
    erin = second_operator(personas)
    visitor, conversation = visitor_waiting(asgi, new_page)
    bob = signed_in(new_page, asgi, personas.bob)
    open_conversation(bob, asgi, conversation)
    bob.get_by_role("button", name="Take over").click()
    expect(bob.locator("h1 .badge")).to_have_text("With an operator")
    bob.wait_for_function("() => window.HafenSocket && window.HafenSocket.connected")
    bob.get_by_label("Reply", exact=True).fill("Text Bob typed before Erin took over")

    other = signed_in(new_page, asgi, erin)
    open_conversation(other, asgi, conversation)
    other.get_by_role("button", name="Take over").click()
    expect(other.locator("h1 .badge")).to_have_text("With an operator")

    banner = bob.locator("[data-live-banner]")
    expect(banner).to_have_text("Erin Engel has taken over this conversation.", timeout=2_000)
    expect(bob.locator("[data-live-assignee]")).to_have_text("erin")
    screenshot(bob, "banner-1280")
    bob.set_viewport_size({"width": 390, "height": 800})
    screenshot(bob, "banner-390")
    assert bob.evaluate("document.documentElement.scrollWidth") <= 390
    bob.set_viewport_size({"width": 1280, "height": 800})

    # sending now asks for confirmation; nothing is sent, the text stays
    bob.get_by_role("button", name="Send reply").click()
    expect(bob.locator("form.reply [role=alert]")).to_contain_text("tick the box")
    expect(bob.get_by_label("Reply", exact=True)).to_have_value(
        "Text Bob typed before Erin took over"
    )
    assert not Message.objects.filter(conversation=conversation, sender="operator").exists()

    bob.get_by_label("Send anyway and take the conversation back").check()
    bob.get_by_role("button", name="Send reply").click()
    expect(bob.locator(".messages-list li.operator")).to_contain_text("before Erin took over")
    conversation.refresh_from_db()
    assert conversation.assigned_to_id == personas.bob.pk
    expect(visitor.locator(".msg.operator .body")).to_have_text(
        ["Text Bob typed before Erin took over"], timeout=3_000
    )


def test_with_the_socket_refused_both_pages_fall_back_to_polling(
    asgi, new_page, personas, screenshot
):
    visitor = new_page()
    refuse_websockets(visitor)
    visitor.goto(f"{asgi.url}/chat/acme-web/")
    visitor.locator("#chat-input").fill("Hello, I need a person to help with my order.")
    visitor.locator("#chat-send").click()
    expect(visitor.locator(".msg.system")).to_have_count(1)
    conversation = Conversation.objects.get(inbox__public_key="acme-web")

    operator = signed_in(new_page, asgi, personas.bob)
    refuse_websockets(operator)
    open_conversation(operator, asgi, conversation, pushed=False)
    operator.wait_for_function("() => window.HafenSocket.polling === true", timeout=8_000)
    assert operator.evaluate("window.HafenSocket.connected") is False

    visitor.locator("#chat-input").fill("Still there? Polling works.")
    visitor.locator("#chat-send").click()
    # the page polls its live endpoint every 5 s
    expect(operator.locator(".messages-list li.visitor").last).to_contain_text(
        "Polling works", timeout=7_000
    )

    operator.get_by_role("button", name="Take over").click()
    operator.get_by_label("Reply", exact=True).fill("Yes, I am here.")
    operator.get_by_role("button", name="Send reply").click()
    # the chat polls every 2 s as before
    expect(visitor.locator(".msg.operator .body")).to_have_text(["Yes, I am here."], timeout=6_000)
    expect(visitor.locator("#chat-input")).to_be_enabled()
