"""Races between visitors, operators and erasures, with real threads on PostgreSQL.

Each test stages its race deterministically: one side holds its transaction
open (its rows locked) until the other side's statement is seen waiting for a
lock in pg_stat_activity; then the first commits and the second must decide
on what the first left behind. Every thread has its own database connection.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from chatbot_site.lib.crypto import hash_token
from conversations.models import Conversation, FaqEntry, Message, Visitor
from conversations.selectors.chat import chat_auth_get
from conversations.services import chat as chat_services
from conversations.services.operator import (
    OperatorError,
    conversation_close,
    conversation_take_over,
)
from retention.services.erasure import erasure_execute, erasure_request_create
from tests.concurrency import Held, Worker, wait_for_lock_waiters
from tests.conversations.chat_support import start
from tests.services import need_postgres

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "5b6f6f0e-2b8c-4a39-9a3e-0cf0e0a3c0de"


@pytest.fixture(autouse=True)
def _postgres(settings, tmp_path):
    need_postgres()
    settings.HAFEN_ERASURE_LEDGER_PATH = str(tmp_path / "ledger.jsonl")


@pytest.fixture
def faq(personas):
    return FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="What are your opening hours?\nWhen are you open?",
        answer="Monday to Friday, 9 to 6.",
    )


def membership(personas, user) -> Membership:
    return Membership.objects.select_related("user").get(user=user, company=personas.company_a)


def the_conversation() -> Conversation:
    return Conversation.objects.select_related("inbox", "assigned_to").get()


def post_in_thread(token: str, text: str, client_key: str | None = None) -> Worker:
    body = {"text": text} if client_key is None else {"text": text, "client_key": client_key}

    def send():
        return Client(raise_request_exception=False).post(
            "/api/chat/acme-web/messages",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    worker = Worker(send)
    worker.start()
    return worker


def started(client) -> str:
    return start(client, "acme-web").json()["token"]


def test_a_visitor_post_racing_a_take_over_keeps_the_operator_and_the_bot_silent(
    client, personas, faq
):
    token = started(client)
    bob = membership(personas, personas.bob)
    operator = Held(
        lambda: conversation_take_over(membership=bob, conversation=the_conversation())
    ).begin()
    visitor = post_in_thread(token, "When are you open?")  # read "bot" before the take-over
    wait_for_lock_waiters(1)
    operator.release()
    response = visitor.outcome()

    assert response.status_code == 200, response.content
    assert response.json()["replies"] == []
    assert response.json()["conversation"]["status"] == "operator"
    conversation = the_conversation()
    assert conversation.status == Conversation.Status.OPERATOR
    assert conversation.assigned_to == personas.bob
    join = Message.objects.get(sender="system")
    assert not Message.objects.filter(sender="bot").exists()
    assert Message.objects.get(sender="visitor").pk > join.pk


def test_a_visitor_post_racing_a_close_is_refused_and_the_conversation_stays_closed(
    client, personas, faq
):
    token = started(client)
    bob = membership(personas, personas.bob)
    operator = Held(
        lambda: conversation_close(membership=bob, conversation=the_conversation())
    ).begin()
    visitor = post_in_thread(token, "When are you open?", KEY)
    wait_for_lock_waiters(1)
    operator.release()
    response = visitor.outcome()

    assert response.status_code == 409, response.content
    assert response.json()["error"] == "conversation_closed"
    assert the_conversation().status == Conversation.Status.CLOSED
    assert [m.sender for m in Message.objects.all()] == ["system"]


def test_of_two_simultaneous_take_overs_exactly_one_wins_and_the_other_is_told_who(
    client, personas, faq
):
    started(client)
    bob, alice = membership(personas, personas.bob), membership(personas, personas.alice)
    first = Held(
        lambda: conversation_take_over(membership=bob, conversation=the_conversation())
    ).begin()
    # alice read "waiting for nobody" too; her write waits for bob's transaction
    conversation = the_conversation()
    second = Worker(lambda: conversation_take_over(membership=alice, conversation=conversation))
    second.start()
    wait_for_lock_waiters(1)
    first.release()
    second.outcome()

    assert isinstance(second.error, OperatorError)
    assert str(second.error) == "bob has already taken over this conversation."
    current = the_conversation()
    assert current.status == Conversation.Status.OPERATOR
    assert current.assigned_to == personas.bob
    assert Message.objects.filter(sender="system").count() == 1


def test_two_operators_clicking_take_over_at_once_get_one_winner_in_the_console(
    client, personas, faq
):
    started(client)
    conversation = the_conversation()
    url = reverse("conversations:take_over", kwargs={"conversation_id": conversation.pk})
    clients = {}
    for user in (personas.bob, personas.alice):
        clients[user.username] = Client(raise_request_exception=False)
        clients[user.username].force_login(user)
    params = connection.settings_dict
    holder = psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        password=params["PASSWORD"],
        host=params["HOST"],
        port=params["PORT"] or None,
    )
    try:
        holder.execute(
            "SELECT id FROM conversations_conversation WHERE id = %s FOR UPDATE",
            [conversation.pk],
        )
        workers = {
            name: Worker(lambda c=c: c.post(url, {"expected_assignee": ""}))
            for name, c in clients.items()
        }
        for worker in workers.values():
            worker.start()
        wait_for_lock_waiters(2)
        holder.rollback()
        responses = {name: worker.outcome() for name, worker in workers.items()}
    finally:
        holder.close()

    codes = sorted(r.status_code for r in responses.values())
    assert codes == [302, 409], codes
    [winner] = [name for name, r in responses.items() if r.status_code == 302]
    [loser] = [r for r in responses.values() if r.status_code == 409]
    assert f"{winner} has already taken over this conversation." in loser.content.decode()
    assert the_conversation().assigned_to.username == winner
    assert Message.objects.filter(sender="system").count() == 1


def test_a_take_over_racing_a_close_leaves_it_closed(client, personas, faq):
    started(client)
    bob, alice = membership(personas, personas.bob), membership(personas, personas.alice)
    closing = Held(
        lambda: conversation_close(membership=alice, conversation=the_conversation())
    ).begin()
    conversation = the_conversation()
    taking = Worker(lambda: conversation_take_over(membership=bob, conversation=conversation))
    taking.start()
    wait_for_lock_waiters(1)
    closing.release()
    taking.outcome()

    assert isinstance(taking.error, OperatorError) and "closed" in str(taking.error)
    current = the_conversation()
    assert current.status == Conversation.Status.CLOSED and current.assigned_to is None
    assert Message.objects.filter(sender="system").count() == 1


def test_a_retry_racing_its_first_try_with_the_same_key_stores_one_message(client, personas, faq):
    token = started(client)

    def first_try():
        auth = chat_auth_get(
            public_key="acme-web", token_hash=hash_token(token), now=timezone.now()
        )
        return chat_services.message_post(
            inbox=auth.visitor.inbox,
            visitor=auth.visitor,
            conversation=auth.conversation,
            text="When are you open?",
            client_key=KEY,
        )

    first = Held(first_try).begin()
    retry = post_in_thread(token, "When are you open?", KEY)
    wait_for_lock_waiters(1)
    posted = first.release()
    response = retry.outcome()

    assert response.status_code == 200, response.content
    assert response.json()["message"]["id"] == posted.message.pk
    assert [r["id"] for r in response.json()["replies"]] == [r.pk for r in posted.replies]
    assert Message.objects.filter(sender="visitor").count() == 1
    assert Message.objects.filter(sender="bot").count() == 1


def test_concurrent_posts_with_the_same_key_store_exactly_one_message(client, personas, faq):
    token = started(client)
    for round_ in range(3):
        key = f"{KEY[:-1]}{round_}"
        barrier = threading.Barrier(4)

        def send(key=key, barrier=barrier):
            barrier.wait(10)
            return Client(raise_request_exception=False).post(
                "/api/chat/acme-web/messages",
                data={"text": "When are you open?", "client_key": key},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )

        workers = [Worker(send) for _ in range(4)]
        for worker in workers:
            worker.start()
        responses = [worker.outcome() for worker in workers]
        assert [r.status_code for r in responses] == [200] * 4, [r.content for r in responses]
        assert len({r.json()["message"]["id"] for r in responses}) == 1
        assert len({tuple(x["id"] for x in r.json()["replies"]) for r in responses}) == 1
        assert Message.objects.filter(client_key=key).count() == 1
    assert Message.objects.filter(sender="bot").count() == 3


def _erase(personas):
    request = erasure_request_create(
        company=personas.company_a, visitor=Visitor.objects.get(), actor=personas.alice
    )
    return erasure_execute(request=request, actor=personas.alice)


def test_a_post_racing_an_erasure_answers_410_not_500(client, personas, faq):
    token = started(client)
    erasure = Held(lambda: _erase(personas)).begin()
    visitor = post_in_thread(token, "When are you open?", KEY)  # its token still worked
    wait_for_lock_waiters(1)
    erasure.release()
    response = visitor.outcome()

    assert response.status_code == 410, response.content
    assert response.json()["error"] == "visitor_erased"
    assert Message.objects.count() == 0 and Conversation.objects.count() == 0
    again = Client().post(
        "/api/chat/acme-web/messages",
        data={"text": "hello"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert again.status_code == 401


def test_starting_anew_racing_an_erasure_answers_410_not_500(client, personas):
    token = started(client)
    Conversation.objects.update(status=Conversation.Status.CLOSED, closed_at=timezone.now())
    erasure = Held(lambda: _erase(personas)).begin()

    def start_new():
        return Client(raise_request_exception=False).post(
            "/api/chat/acme-web/conversations",
            data={"new": True},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    visitor = Worker(start_new)
    visitor.start()
    wait_for_lock_waiters(1)
    erasure.release()
    response = visitor.outcome()

    assert response.status_code == 410, response.content
    assert response.json()["error"] == "visitor_erased"
    assert Visitor.objects.count() == 0 and Conversation.objects.count() == 0


def test_visitors_posting_and_polling_through_their_erasure_never_get_a_500(
    client, personas, faq, settings
):
    for scope in ("CONVERSATION", "POLLS", "VISITOR", "CLIENT", "CLIENT_PUBLIC", "INBOX"):
        setattr(settings, f"HAFEN_RATE_{scope}_PER_MINUTE", 0)  # off: this is about erasure
    tokens = [started(client) for _ in range(4)]
    stop = threading.Event()

    def chat(token):
        seen, browser = [], Client(raise_request_exception=False)
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        n = 0
        while not stop.is_set() and n < 200:
            n += 1
            seen.append(
                browser.post(
                    "/api/chat/acme-web/messages",
                    data={"text": "When are you open?", "client_key": f"{KEY[:-4]}{n:04d}"},
                    content_type="application/json",
                    **auth,
                ).status_code
            )
            seen.append(browser.get("/api/chat/acme-web/messages", **auth).status_code)
        return seen

    workers = [Worker(lambda t=t: chat(t)) for t in tokens]
    for worker in workers:
        worker.start()
    try:
        for visitor in Visitor.objects.order_by("pk"):
            time.sleep(0.15)
            request = erasure_request_create(
                company=personas.company_a, visitor=visitor, actor=personas.alice
            )
            erasure_execute(request=request, actor=personas.alice)
        time.sleep(0.15)
    finally:
        stop.set()
    statuses = [code for worker in workers for code in (worker.outcome() or [])]
    assert not [w.error for w in workers if w.error]
    assert statuses and set(statuses) <= {200, 401, 410}, sorted(set(statuses))
    assert 401 in statuses  # every visitor was cut off by the end
    assert Visitor.objects.count() == 0 and Message.objects.count() == 0
