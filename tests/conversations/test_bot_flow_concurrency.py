"""The bot's misses in a row under concurrency, with real threads on PostgreSQL.

Two visitor messages the bot does not understand arrive at once (two tabs, a
double send). The handover after the inbox's bot_miss_limit must happen exactly
once: never skipped (both reading "no miss yet" and both writing "one miss"),
never doubled (two handover messages). Staged as in test_chat_concurrency: a
held transaction locks the conversation row until both posts wait for it.
"""

from __future__ import annotations

import pytest
from django.test import Client

from conversations.models import Conversation, FaqEntry, Message
from tests.conversations.chat_support import start
from tests.conversations.test_chat_concurrency import Held, Worker, wait_for_lock_waiters
from tests.services import need_postgres

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "acme-web"
NOT_UNDERSTOOD = "Sorry, I did not understand. Could you rephrase it? Or talk to a person."


@pytest.fixture(autouse=True)
def _postgres():
    need_postgres()


@pytest.fixture
def faq(personas):
    return FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="What are your opening hours?\nWhen are you open?",
        answer="Monday to Friday, 9 to 6.",
    )


def post_in_thread(token: str, text: str) -> Worker:
    def send():
        return Client(raise_request_exception=False).post(
            f"/api/chat/{KEY}/messages",
            data={"text": text},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    worker = Worker(send)
    worker.start()
    return worker


def two_misses_at_once(token: str) -> list:
    """Both posts read the conversation, then wait for its row; then both write."""
    holder = Held(
        lambda: Conversation.objects.select_for_update().get(pk=Conversation.objects.get().pk)
    ).begin()
    workers = [post_in_thread(token, "zzkq wxvp"), post_in_thread(token, "qqqq jjjj xxxx")]
    wait_for_lock_waiters(2)
    holder.release()
    responses = [worker.outcome() for worker in workers]
    for worker in workers:
        assert worker.error is None, worker.error
    assert [r.status_code for r in responses] == [200, 200], [r.content for r in responses]
    return responses


@pytest.mark.parametrize("round_", range(3))
def test_two_misses_at_once_from_none_hand_over_exactly_once(client, personas, faq, round_):
    assert personas.inbox_a.bot_miss_limit == 2
    token = start(client, KEY).json()["token"]
    responses = two_misses_at_once(token)
    conversation = Conversation.objects.get()
    # The second write saw the first one's miss: two in a row, handed over.
    assert conversation.status == Conversation.Status.WAITING
    assert Message.objects.filter(sender="system").count() == 1
    assert list(Message.objects.filter(sender="bot").values_list("body", flat=True)) == [
        NOT_UNDERSTOOD
    ]
    assert Message.objects.filter(sender="visitor", bot_outcome="not_understood").count() == 2
    statuses = sorted(r.json()["conversation"]["status"] for r in responses)
    assert statuses == ["bot", "waiting"]


@pytest.mark.parametrize("round_", range(3))
def test_two_misses_at_once_after_one_hand_over_once_not_twice(client, personas, faq, round_):
    token = start(client, KEY).json()["token"]
    first = Client().post(
        f"/api/chat/{KEY}/messages",
        data={"text": "vbnm plmk"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert first.json()["conversation"]["status"] == "bot"
    assert Conversation.objects.get().bot_misses == 1
    responses = two_misses_at_once(token)
    assert Conversation.objects.get().status == Conversation.Status.WAITING
    assert Message.objects.filter(sender="system").count() == 1
    # One of the two handed over; the other arrived after it and got no bot reply.
    replies = sorted(len(r.json()["replies"]) for r in responses)
    assert replies == [0, 1]
    assert Message.objects.filter(sender="visitor").count() == 3
