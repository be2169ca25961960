"""The live sockets (issue 13): events reach whom they should, carry ids only, and nobody else.

Runs through the real ASGI application (chatbot_site.asgi) with Channels'
WebsocketCommunicator: on the Redis channel layer when REDIS_URL is set
(PostgreSQL + Redis in CI), on the in-memory layer otherwise. Writes go
through the real API and services; every event the services publish is also
captured on its way into the channel layer (and, on Redis, through MONITOR) to
prove that no text crosses it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from conversations import events
from conversations.models import Conversation
from conversations.services.operator import (
    OperatorError,
    conversation_reply,
    conversation_take_over,
)
from tests.conversations.chat_support import handover, post, start
from tests.services import need_postgres

pytestmark = pytest.mark.django_db(transaction=True)

CANARY = "KANARIENVOGEL-7f3a9c-realtime"
ORIGIN = (b"origin", b"http://testserver")
QUIET = 0.3  # seconds of silence that count as "nothing arrived"
STAFF_KEYS = {"type", "conversation", "inbox", "status", "assigned_to", "what", "message", "sender"}
VISITOR_KEYS = {"type", "what", "message", "status", "sender"}


class WebsocketCommunicator(ApplicationCommunicator):
    """Channels' test communicator, reduced (channels.testing imports daphne, not installed)."""

    def __init__(self, application, path: str, headers=None):
        scope = {"type": "websocket", "path": path, "query_string": b"", "headers": headers or []}
        super().__init__(application, scope)

    async def connect(self, timeout=1):
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, response.get("subprotocol")

    async def send_to(self, text_data: str):
        await self.send_input({"type": "websocket.receive", "text": text_data})

    async def send_json_to(self, data):
        await self.send_to(json.dumps(data))

    async def receive_json_from(self, timeout=1):
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, code=1000, timeout=1):
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


@pytest.fixture
def application(personas):
    from chatbot_site.asgi import application  # the start-up key check needs the database

    return application


@pytest.fixture
def sent(monkeypatch):
    """Every message the project hands to the channel layer: (group, message).

    The services' events go through events' synchronous Redis sender on the
    Redis layer, through the layer's group_send otherwise; the consumers' own
    sends (typing) always through group_send. Both are captured.
    """
    layer = get_channel_layer()
    captured: list[tuple[str, dict]] = []
    original = layer.group_send

    async def group_send(group, message):
        captured.append((group, message))
        return await original(group, message)

    monkeypatch.setattr(layer, "group_send", group_send)
    sender = events._redis_sender(layer)
    if sender is not None:
        original_send = sender.send

        def send(groups, message):
            captured.extend((group, message) for group in groups)
            return original_send(groups, message)

        monkeypatch.setattr(sender, "send", send)
    return captured


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


def console_socket(application, user=None) -> WebsocketCommunicator:
    headers = [ORIGIN]
    if user is not None:
        # A sync login from inside the scenario's event loop: in a thread of its own.
        with ThreadPoolExecutor(1) as pool:
            headers.append((b"cookie", pool.submit(session_cookie, user).result()))
    return WebsocketCommunicator(application, "/ws/console/", headers=headers)


def chat_socket(application, key: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/chat/{key}/", headers=[ORIGIN])


async def connected(communicator: WebsocketCommunicator) -> WebsocketCommunicator:
    ok, _subprotocol = await communicator.connect()
    assert ok
    return communicator


async def visitor_ready(application, key: str, token: str) -> WebsocketCommunicator:
    socket = await connected(chat_socket(application, key))
    await socket.send_json_to({"type": "auth", "token": token})
    assert await socket.receive_json_from(timeout=5) == {"type": "ready"}
    return socket


async def received(communicator: WebsocketCommunicator, quiet: float = QUIET) -> list[dict]:
    """Every frame that arrives until `quiet` seconds pass without one."""
    frames = []
    while not await communicator.receive_nothing(timeout=quiet):
        frames.append(await communicator.receive_json_from(timeout=1))
    return frames


async def closed_with(communicator: WebsocketCommunicator) -> int:
    output = await communicator.receive_output(timeout=5)
    assert output["type"] == "websocket.close", output
    return output.get("code")


def visitor(key: str = "acme-web") -> tuple[Client, str, int]:
    client = Client()
    response = start(client, key)
    assert response.status_code == 201, response.content
    body = response.json()
    conversation = Conversation.objects.get(reference=body["conversation"]["reference"])
    return client, body["token"], conversation.pk


def posted(client, key, token, text):
    response = post(client, key, token, text)
    assert response.status_code == 200, response.content
    return response.json()


def run(scenario):
    return async_to_sync(scenario)()


# --- what arrives where --------------------------------------------------------


def test_a_visitor_message_reaches_the_operators_socket_with_ids_and_status_only(
    application, personas, sent
):
    client, token, conversation_id = visitor()

    async def scenario():
        bob = await connected(console_socket(application, personas.bob))
        body = await sync_to_async(posted)(client, "acme-web", token, f"Hallo {CANARY}")
        frames = await received(bob)
        await bob.disconnect()
        return body, frames

    body, frames = run(scenario)
    assert len(frames) == 1, frames
    (frame,) = frames
    assert set(frame) == STAFF_KEYS
    assert frame["type"] == "conversation.changed"
    assert frame["conversation"] == conversation_id
    assert frame["inbox"] == personas.inbox_a.pk
    assert frame["what"] == "message" and frame["sender"] == "visitor"
    assert frame["message"] == body["message"]["id"]
    assert frame["status"] == Conversation.objects.get(pk=conversation_id).status
    assert CANARY not in json.dumps(frames) and CANARY not in repr(sent)


def test_an_operator_reply_and_the_take_over_reach_the_visitors_socket(application, personas):
    client, token, conversation_id = visitor()
    membership = Membership.objects.get(user=personas.bob, company=personas.company_a)

    def reply():
        conversation = Conversation.objects.get(pk=conversation_id)
        return conversation_reply(
            membership=membership, conversation=conversation, text=f"Reply {CANARY}"
        )

    async def scenario():
        socket = await visitor_ready(application, "acme-web", token)
        message = await database_sync_to_async(reply)()
        frames = await received(socket)
        await socket.disconnect()
        return message, frames

    message, frames = run(scenario)
    assert frames == [
        {
            "type": "conversation.changed",
            "what": "message",
            "message": message.pk,
            "status": "operator",
            "sender": "operator",
        }
    ]


def test_handover_and_close_are_pushed_to_the_console_and_the_visitor(application, personas):
    client, token, conversation_id = visitor()
    membership = Membership.objects.get(user=personas.bob, company=personas.company_a)

    def take_over():
        conversation = Conversation.objects.get(pk=conversation_id)
        conversation_take_over(membership=membership, conversation=conversation)

    async def scenario():
        bob = await connected(console_socket(application, personas.bob))
        socket = await visitor_ready(application, "acme-web", token)
        assert (await sync_to_async(handover)(client, "acme-web", token)).status_code == 200
        after_handover = (await received(bob), await received(socket))
        await database_sync_to_async(take_over)()
        after_take_over = (await received(bob), await received(socket))
        await bob.disconnect()
        await socket.disconnect()
        return after_handover, after_take_over

    (staff, visitor_frames), (staff2, visitor_frames2) = run(scenario)
    assert [(f["what"], f["status"], f["sender"]) for f in staff] == [
        ("status", "waiting", "system")
    ]
    assert [(f["what"], f["status"]) for f in visitor_frames] == [("status", "waiting")]
    assert [(f["what"], f["status"], f["assigned_to"]) for f in staff2] == [
        ("assignment", "operator", personas.bob.pk)
    ]
    assert [set(f) for f in visitor_frames2] == [VISITOR_KEYS]


def test_typing_goes_both_ways_at_most_once_a_second_and_carries_no_text(application, personas):
    client, token, conversation_id = visitor()

    async def scenario():
        bob = await connected(console_socket(application, personas.bob))
        socket = await visitor_ready(application, "acme-web", token)
        await bob.send_json_to({"type": "watch", "conversation": conversation_id})
        await received(bob)
        await socket.send_json_to({"type": "typing", "text": CANARY})
        await socket.send_json_to({"type": "typing"})  # within the second: dropped
        to_operator = await received(bob)
        await bob.send_json_to({"type": "typing", "conversation": conversation_id})
        await bob.send_json_to({"type": "typing", "conversation": conversation_id})
        to_visitor = await received(socket)
        await asyncio.sleep(1.05)
        await socket.send_json_to({"type": "typing"})
        again = await received(bob)
        await bob.disconnect()
        await socket.disconnect()
        return to_operator, to_visitor, again

    to_operator, to_visitor, again = run(scenario)
    expected = {"type": "typing", "conversation": conversation_id, "who": "visitor"}
    assert to_operator == [expected]
    assert to_visitor == [{"type": "typing", "who": "operator"}]
    assert again == [expected]


# --- rights: nothing for inboxes one cannot see ---------------------------------


def test_nobody_hears_of_an_inbox_they_cannot_see_and_nobody_types_into_it(application, personas):
    shop_client, shop_token, shop_id = visitor("acme-shop")  # bob and charlie may not see Shop
    web_client, web_token, web_id = visitor("acme-web")  # dave (company B) may not see it

    async def scenario():
        alice = await connected(console_socket(application, personas.alice))
        bob = await connected(console_socket(application, personas.bob))
        charlie = await connected(console_socket(application, personas.charlie))
        dave = await connected(console_socket(application, personas.dave))
        shop_visitor = await visitor_ready(application, "acme-shop", shop_token)
        web_visitor = await visitor_ready(application, "acme-web", web_token)
        for socket in (bob, charlie):
            await socket.send_json_to({"type": "watch", "conversation": shop_id})
            await socket.send_json_to({"type": "typing", "conversation": shop_id})
        await dave.send_json_to({"type": "watch", "conversation": web_id})
        await dave.send_json_to({"type": "typing", "conversation": web_id})
        # charlie may see Web but not reply there: watching works, typing does not.
        await charlie.send_json_to({"type": "watch", "conversation": web_id})
        await charlie.send_json_to({"type": "typing", "conversation": web_id})
        await sync_to_async(posted)(shop_client, "acme-shop", shop_token, f"Shop {CANARY}")
        await shop_visitor.send_json_to({"type": "typing"})
        await sync_to_async(posted)(web_client, "acme-web", web_token, f"Web {CANARY}")
        frames = {
            name: await received(socket)
            for name, socket in (
                ("alice", alice),
                ("bob", bob),
                ("charlie", charlie),
                ("dave", dave),
                ("shop_visitor", shop_visitor),
                ("web_visitor", web_visitor),
            )
        }
        for socket in (alice, bob, charlie, dave, shop_visitor, web_visitor):
            await socket.disconnect()
        return frames

    frames = run(scenario)
    seen = {name: [(f.get("conversation"), f["type"]) for f in got] for name, got in frames.items()}
    # The admin hears of both (so the events were sent at all).
    assert seen["alice"] == [(shop_id, "conversation.changed"), (web_id, "conversation.changed")]
    assert seen["bob"] == [(web_id, "conversation.changed")]
    assert seen["charlie"] == [(web_id, "conversation.changed")]
    assert seen["dave"] == []
    assert [f["type"] for f in frames["shop_visitor"]] == ["conversation.changed"]  # its own
    assert [f["type"] for f in frames["web_visitor"]] == ["conversation.changed"]  # no typing


def test_a_console_socket_without_a_usable_membership_is_closed_4401(application, personas):
    Membership.objects.filter(user=personas.charlie).update(deactivated_at=timezone.now())

    async def scenario():
        anonymous = await connected(console_socket(application))
        charlie = await connected(console_socket(application, personas.charlie))
        return await closed_with(anonymous), await closed_with(charlie)

    assert run(scenario) == (4401, 4401)


def test_a_visitor_socket_with_a_bad_token_or_none_is_closed_4401(application, personas):
    _client, token, _id = visitor()

    async def scenario():
        codes = []
        for key, sent_token in (
            ("acme-web", "not-a-token"),
            ("acme-shop", token),  # a real token, another inbox
            ("no-such-inbox", token),
            ("acme-web", 12345),
        ):
            socket = await connected(chat_socket(application, key))
            await socket.send_json_to({"type": "auth", "token": sent_token})
            codes.append(await closed_with(socket))
        return codes

    assert run(scenario) == [4401, 4401, 4401, 4401]


def test_a_socket_from_another_origin_is_refused(application, personas):
    async def scenario():
        socket = WebsocketCommunicator(
            application,
            "/ws/console/",
            headers=[
                (b"origin", b"https://evil.example"),
                (b"cookie", ThreadPoolExecutor(1).submit(session_cookie, personas.bob).result()),
            ],
        )
        ok, _ = await socket.connect()
        return ok

    assert run(scenario) is False


def test_an_oversized_frame_closes_the_socket_and_malformed_json_is_ignored(application, personas):
    client, token, conversation_id = visitor()

    async def scenario():
        bob = await connected(console_socket(application, personas.bob))
        await bob.send_to(text_data="{not json")
        await bob.send_to(text_data='["watch"]')
        await bob.send_json_to({"type": "watch", "conversation": "1; DROP"})
        await sync_to_async(posted)(client, "acme-web", token, "still there?")
        alive = await received(bob)
        await bob.send_to(text_data=json.dumps({"type": "watch", "pad": "x" * 2000}))
        return alive, await closed_with(bob)

    alive, code = run(scenario)
    assert [f["conversation"] for f in alive] == [conversation_id]
    assert code == 1009


# --- what crosses the channel layer --------------------------------------------


def test_a_canary_typed_by_a_visitor_crosses_neither_the_layer_nor_redis(
    application, personas, sent
):
    monitor = RedisMonitor.start_if_configured()
    client, token, conversation_id = visitor()
    membership = Membership.objects.get(user=personas.bob, company=personas.company_a)

    def reply():
        conversation_reply(
            membership=membership,
            conversation=Conversation.objects.get(pk=conversation_id),
            text=f"Operator {CANARY}",
        )

    async def scenario():
        bob = await connected(console_socket(application, personas.bob))
        socket = await visitor_ready(application, "acme-web", token)
        await bob.send_json_to({"type": "watch", "conversation": conversation_id})
        await sync_to_async(posted)(client, "acme-web", token, f"My name {CANARY}")
        await socket.send_json_to({"type": "typing", "text": CANARY})
        await database_sync_to_async(reply)()
        frames = await received(bob) + await received(socket)
        await bob.disconnect()
        await socket.disconnect()
        return frames

    frames = run(scenario)
    commands = monitor.stop() if monitor else []
    assert len(sent) >= 5  # message (2 groups), typing, reply (2 groups)
    assert {m["type"] for _g, m in sent} == {"conversation.changed", "typing.relay"}
    assert len(frames) >= 4
    assert CANARY not in repr(sent) and CANARY not in json.dumps(frames)
    if monitor:
        assert any(settings.HAFEN_CHANNEL_PREFIX in c for c in commands), commands[:5]
        assert not [c for c in commands if CANARY in c]


class RedisMonitor:
    """MONITOR on the test's Redis database, in a thread, while the test runs."""

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)
        self.commands: list[str] = []
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @classmethod
    def start_if_configured(cls) -> RedisMonitor | None:
        if not settings.REDIS_URL:
            return None
        monitor = cls(settings.REDIS_URL)
        monitor.thread.start()
        assert monitor.ready.wait(5)
        return monitor

    def _run(self):
        with self.client.monitor() as m:
            self.ready.set()
            while not self.stopping.is_set():
                try:
                    command = m.next_command()
                except (redis.ConnectionError, redis.TimeoutError, ValueError):
                    break
                self.commands.append(f"{command.get('command')}")

    def stop(self) -> list[str]:
        time.sleep(0.3)
        self.stopping.set()
        self.client.ping()  # wakes next_command() up (MONITOR sees every command)
        self.thread.join(5)
        return self.commands


def test_a_rolled_back_write_publishes_nothing(personas, sent):
    client, token, conversation_id = visitor()
    sent.clear()
    conversation = Conversation.objects.get(pk=conversation_id)
    with pytest.raises(RuntimeError), transaction.atomic():
        events.conversation_changed(conversation=conversation, what="status")
        raise RuntimeError("rolled back")
    events.conversation_changed(conversation=conversation, what="status")
    assert [group for group, _m in sent] == [
        f"inbox.{personas.inbox_a.pk}",
        f"conversation.{conversation_id}",
    ]


def test_a_broken_channel_layer_never_fails_the_write_and_logs_no_text(personas, settings, caplog):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    client, token, conversation_id = visitor()
    with caplog.at_level("WARNING", logger="conversations.events"):
        body = posted(client, "acme-web", token, f"Hello {CANARY}")
    assert body["message"]["id"]
    failures = [r for r in caplog.records if "realtime.publish_failed" in r.getMessage()]
    assert failures and all(CANARY not in r.getMessage() for r in caplog.records)
    assert f"conversation={conversation_id}" in failures[-1].getMessage()


def test_after_a_failure_publishing_pauses_then_tries_again(personas, settings, monkeypatch):
    """An unreachable Redis costs one request a timeout, not every request."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    sender = events._redis_sender(get_channel_layer())
    assert sender is not None
    tries = []
    original = sender.clients[0].pipeline

    def pipeline(*args, **kwargs):
        tries.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(sender.clients[0], "pipeline", pipeline)
    client, token, conversation_id = visitor()  # the start's event: the first try, failed
    assert len(tries) == 1
    posted(client, "acme-web", token, "one")
    posted(client, "acme-web", token, "two")
    assert len(tries) == 1  # paused: nothing tried, the messages stored all the same
    clock = time.monotonic() + sender.PAUSE_SECONDS + 1
    monkeypatch.setattr(events.time, "monotonic", lambda: clock)
    posted(client, "acme-web", token, "three")
    assert len(tries) == 2
    assert Conversation.objects.get(pk=conversation_id).messages.count() >= 3


def test_the_redis_sender_writes_what_the_layers_group_send_writes(personas):
    """The synchronous sender and channels-redis's group_send leave the same
    messages for the same listeners (a consumer reads both through the layer)."""
    layer = get_channel_layer()
    sender = events._redis_sender(layer)
    if sender is None:
        pytest.skip("the in-memory layer sends through its own group_send")
    message = {"type": "conversation.changed", "conversation": 1, "what": "status"}

    async def scenario():
        listener = await layer.new_channel()
        await layer.group_add("inbox.990001", listener)
        await sync_to_async(sender.send)(("inbox.990001", "conversation.990001"), message)
        await layer.group_send("inbox.990001", message)
        first = await asyncio.wait_for(layer.receive(listener), 2)
        second = await asyncio.wait_for(layer.receive(listener), 2)
        await layer.group_discard("inbox.990001", listener)
        return first, second

    first, second = run(scenario)
    assert first == second == message


def test_of_two_simultaneous_take_overs_only_the_winner_publishes(personas, sent):
    need_postgres()
    _client, _token, conversation_id = visitor()
    operator = Membership.objects.get(user=personas.bob, company=personas.company_a)
    admin = Membership.objects.get(user=personas.alice, company=personas.company_a)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def take(membership):
        try:
            barrier.wait(5)
            conversation_take_over(
                membership=membership, conversation=Conversation.objects.get(pk=conversation_id)
            )
            outcomes.append("won")
        except OperatorError:
            outcomes.append("lost")
        finally:
            connection.close()

    sent.clear()
    threads = [threading.Thread(target=take, args=(m,)) for m in (operator, admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes) == ["lost", "won"]
    assignments = [m for _g, m in sent if m.get("what") == "assignment"]
    winner = Conversation.objects.get(pk=conversation_id).assigned_to_id
    # One event, to the inbox and to the visitor, naming the one who has it.
    assert [m["assigned_to"] for m in assignments] == [winner, winner]
