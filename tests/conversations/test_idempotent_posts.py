"""Idempotent visitor posts (client_key) and the chat's conditional writes, on any database.

Everything here runs on one connection (SQLite or PostgreSQL): the races are
staged by changing the conversation between the request's read and its write.
The same races with real threads on PostgreSQL: test_chat_concurrency.py.
"""

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Membership
from conversations.models import Conversation, FaqEntry, Message, Visitor
from conversations.services import chat as chat_services
from conversations.services.operator import conversation_close, conversation_take_over
from retention.services.erasure import erasure_execute, erasure_request_create
from tests.conversations.chat_support import (
    counts,
    handover,
    poll,
    start,
)

pytestmark = pytest.mark.django_db

KEY = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture
def faq(personas):
    return FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="What are your opening hours?\nWhen are you open?",
        answer="Monday to Friday, 9 to 6.",
        asks_for_contact=True,
    )


def post(client, token, text, client_key=None, key="acme-web"):
    body = {"text": text} if client_key is None else {"text": text, "client_key": client_key}
    return client.post(
        f"/api/chat/{key}/messages",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def membership(personas, user):
    return Membership.objects.get(user=user, company=personas.company_a)


def conversation():
    return Conversation.objects.select_related("inbox").get()


# --- idempotency -----------------------------------------------------------


def test_a_repeated_key_returns_the_stored_message_and_its_reply_and_writes_nothing(
    client, personas, faq
):
    token = start(client, "acme-web").json()["token"]
    first = post(client, token, "When are you open?", KEY)
    assert first.status_code == 200
    before = counts()
    last_message_at = conversation().last_message_at

    again = post(client, token, "When are you open?", KEY)

    assert again.status_code == 200
    assert again.json() == first.json()  # the same body: message, reply, status, offer
    assert first.json()["offer_contact_form"] is True
    assert [r["sender"] for r in again.json()["replies"]] == ["bot"]
    assert counts() == before
    assert Message.objects.filter(client_key=KEY).count() == 1
    assert conversation().last_message_at == last_message_at


def test_a_repeat_with_other_text_still_returns_the_first_message(client, personas, faq):
    token = start(client, "acme-web").json()["token"]
    first = post(client, token, "When are you open?", KEY).json()
    again = post(client, token, "something else entirely", KEY).json()
    assert again["message"] == first["message"]
    assert Message.objects.filter(sender="visitor").count() == 1


def test_a_repeat_of_a_message_that_handed_over_returns_the_system_reply(client, personas, faq):
    token = start(client, "acme-web").json()["token"]
    first = post(client, token, "I want to talk to a person", KEY).json()
    assert first["conversation"]["status"] == "waiting"
    again = post(client, token, "I want to talk to a person", KEY).json()
    assert again == first
    assert [r["sender"] for r in again["replies"]] == ["system"]
    assert Message.objects.count() == 2


def test_replies_written_later_are_not_taken_for_the_repeated_messages_replies(
    client, personas, faq
):
    token = start(client, "acme-web").json()["token"]
    first = post(client, token, "When are you open?", KEY).json()
    post(client, token, "When are you open?", "another-key-123")
    again = post(client, token, "When are you open?", KEY).json()
    assert [r["id"] for r in again["replies"]] == [r["id"] for r in first["replies"]]


def test_a_repeat_after_the_conversation_was_closed_returns_the_stored_message(
    client, personas, faq
):
    token = start(client, "acme-web").json()["token"]
    first = post(client, token, "When are you open?", KEY).json()
    conversation_close(membership=membership(personas, personas.bob), conversation=conversation())
    before = counts()

    again = post(client, token, "When are you open?", KEY)

    assert again.status_code == 200
    assert again.json()["message"] == first["message"]
    assert again.json()["replies"] == first["replies"]
    assert again.json()["conversation"]["status"] == "closed"
    assert counts() == before
    # a new message (new key) is refused
    refused = post(client, token, "hello?", "a-new-key-4567")
    assert refused.status_code == 409 and refused.json()["error"] == "conversation_closed"
    assert counts() == before


def test_different_keys_and_no_key_store_every_message(client, personas, faq):
    token = start(client, "acme-web").json()["token"]
    for client_key in ("key-one-1234", "key-two-1234", None, None):
        assert post(client, token, "When are you open?", client_key).status_code == 200
    assert Message.objects.filter(sender="visitor").count() == 4
    assert Message.objects.filter(sender="bot").count() == 4


def test_a_key_counts_per_conversation(client, personas, faq):
    token = start(client, "acme-web").json()["token"]
    post(client, token, "When are you open?", KEY)
    Conversation.objects.update(status=Conversation.Status.CLOSED, closed_at=timezone.now())
    assert start(client, "acme-web", token, new=True).status_code == 201
    response = post(client, token, "When are you open?", KEY)
    assert response.status_code == 200
    assert Message.objects.filter(client_key=KEY).count() == 2
    assert response.json()["conversation"]["status"] == "bot"


@pytest.mark.parametrize(
    "bad_key", ["short", "x" * 65, "has space 123", "semi;colon123", "ümlaut-1234", 12345678]
)
def test_a_malformed_key_is_refused_with_422_and_nothing_is_stored(client, personas, bad_key):
    token = start(client, "acme-web").json()["token"]
    before = counts()
    response = post(client, token, "hello", bad_key)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert "client_key" in response.json()["message"]
    assert counts() == before


def test_the_openapi_document_describes_the_key(client, db):
    spec = client.get("/api/openapi.json").json()
    schema = spec["components"]["schemas"]["MessageIn"]["properties"]["client_key"]
    text = str(schema)
    assert "^[A-Za-z0-9_-]{8,64}$" in text
    assert "returns the stored message" in schema["description"]
    post_op = spec["paths"]["/api/chat/{public_key}/messages"]["post"]
    assert {"409", "410"} <= set(post_op["responses"])
    assert "client_key" in post_op["description"]


# --- the conditional write: status changed between read and write --------


@pytest.fixture
def between_read_and_write(monkeypatch):
    """Run `action` after the request read the conversation, before it writes.

    message_text_for_storage runs between chat_auth_get and the write.
    """
    actions = []
    original = chat_services.message_text_for_storage

    def hooked(**kwargs):
        while actions:
            actions.pop(0)()
        return original(**kwargs)

    monkeypatch.setattr(chat_services, "message_text_for_storage", hooked)
    return actions.append


def test_a_take_over_between_read_and_write_keeps_the_operator_and_silences_the_bot(
    client, personas, faq, between_read_and_write
):
    token = start(client, "acme-web").json()["token"]
    between_read_and_write(
        lambda: conversation_take_over(
            membership=membership(personas, personas.bob), conversation=conversation()
        )
    )

    response = post(client, token, "When are you open?")

    assert response.status_code == 200
    data = response.json()
    assert data["replies"] == [] and data["conversation"]["status"] == "operator"
    current = conversation()
    assert current.status == Conversation.Status.OPERATOR
    assert current.assigned_to == personas.bob
    assert [m.sender for m in Message.objects.order_by("id")] == ["system", "visitor"]


def test_a_handover_between_read_and_write_stores_the_message_without_a_bot_answer(
    client, personas, faq, between_read_and_write
):
    token = start(client, "acme-web").json()["token"]
    between_read_and_write(lambda: handover(client, "acme-web", token))

    response = post(client, token, "When are you open?")

    assert response.status_code == 200
    assert response.json()["replies"] == []
    assert response.json()["conversation"]["status"] == "waiting"
    assert [m.sender for m in Message.objects.order_by("id")] == ["system", "visitor"]


def test_a_close_between_read_and_write_answers_409_and_stores_nothing(
    client, personas, faq, between_read_and_write
):
    token = start(client, "acme-web").json()["token"]
    between_read_and_write(
        lambda: conversation_close(
            membership=membership(personas, personas.bob), conversation=conversation()
        )
    )

    response = post(client, token, "When are you open?", KEY)

    assert response.status_code == 409
    assert response.json()["error"] == "conversation_closed"
    assert conversation().status == Conversation.Status.CLOSED
    assert [m.sender for m in Message.objects.order_by("id")] == ["system"]


def test_an_erasure_between_read_and_write_answers_410_and_then_401(
    client, personas, faq, between_read_and_write, settings, tmp_path
):
    settings.HAFEN_ERASURE_LEDGER_PATH = str(tmp_path / "ledger.jsonl")
    token = start(client, "acme-web").json()["token"]

    def erase():
        request = erasure_request_create(
            company=personas.company_a, visitor=Visitor.objects.get(), actor=personas.alice
        )
        erasure_execute(request=request, actor=personas.alice)

    between_read_and_write(erase)

    response = post(client, token, "When are you open?", KEY)

    assert response.status_code == 410
    assert response.json()["error"] == "visitor_erased"
    assert counts() == (0, 0, 0)
    after = post(client, token, "hello again")
    assert after.status_code == 401
    assert poll(client, "acme-web", token).status_code == 401


def test_a_handover_of_a_conversation_closed_meanwhile_is_409(client, personas):
    token = start(client, "acme-web").json()["token"]
    stale = conversation()
    conversation_close(membership=membership(personas, personas.bob), conversation=conversation())
    with pytest.raises(chat_services.ConversationClosed):
        chat_services.conversation_handover(inbox=personas.inbox_a, conversation=stale)
    assert handover(client, "acme-web", token).status_code == 409
    assert Message.objects.filter(sender="system").count() == 1  # the close's only


def test_a_start_for_a_visitor_erased_meanwhile_is_visitor_erased(personas, settings, tmp_path):
    settings.HAFEN_ERASURE_LEDGER_PATH = str(tmp_path / "ledger.jsonl")
    started = chat_services.conversation_start(inbox=personas.inbox_a, visitor=None)
    visitor = started.visitor
    Visitor.objects.filter(pk=visitor.pk).delete()
    with pytest.raises(chat_services.VisitorErased):
        chat_services.conversation_start(inbox=personas.inbox_a, visitor=visitor, start_new=True)


def test_a_post_with_a_key_takes_no_more_queries_than_one_without(
    client, personas, faq, django_assert_max_num_queries
):
    token = start(client, "acme-web").json()["token"]
    post(client, token, "When are you open?", "warm-up-key-1")  # warms the FAQ cache
    # elsewhere than PostgreSQL the search tokens are one INSERT more (conversations.search)
    with django_assert_max_num_queries(2 if connection.vendor == "postgresql" else 6):
        assert post(client, token, "When are you open?", KEY).status_code == 200
