"""The visitor chat API: each endpoint, the happy paths and the refusals."""

import json

import pytest
from django.db import connection
from django.utils import timezone
from openapi_spec_validator import validate

from chatbot_site.lib.crypto import hash_token
from consent.models import ConsentRecord, PrivacyNotice
from conversations.models import Conversation, FaqEntry, Message, Visitor
from conversations.selectors.chat import chat_auth_get
from conversations.services.visitors import visitor_create
from tests.conversations.chat_support import (
    counts,
    handover,
    poll,
    post,
    start,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def faq(personas):
    return FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="What are your opening hours?\nWhen are you open?",
        answer="Monday to Friday, 9 to 6.",
    )


def publish_notice(company, version=1):
    return PrivacyNotice.objects.create(
        company=company,
        version=version,
        title="Privacy",
        text="We store your messages encrypted.",
        published_at=timezone.now(),
    )


def test_the_openapi_document_validates_and_describes_every_chat_endpoint(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    paths = spec["paths"]
    assert {"get"} <= set(paths["/api/chat/{public_key}/config"])
    assert {"post"} <= set(paths["/api/chat/{public_key}/conversations"])
    assert {"get", "post"} <= set(paths["/api/chat/{public_key}/messages"])
    assert {"post"} <= set(paths["/api/chat/{public_key}/handover"])
    assert paths["/api/chat/{public_key}/messages"]["post"]["security"]


def test_the_config_is_public_and_says_what_the_page_needs(client, personas):
    response = client.get("/api/chat/acme-web/config")
    assert response.status_code == 200
    body = response.json()
    assert body.pop("strings")["talkToPerson"] == "Talk to a person"  # issue 14
    assert body.pop("languages") == ["de", "en"]
    assert body == {
        "name": "Web",
        "greeting": "Hello from Acme!",
        "language": "en",
        "resume_enabled": False,
        "token_ttl_days": 30,
        "notice_required": False,
        "notice": None,
        "transparency_url": "/privacy/acme/",
    }


def test_the_config_names_the_notice_a_visitor_must_accept(client, personas):
    personas.inbox_a.notice_required = True
    personas.inbox_a.save()
    publish_notice(personas.company_a, version=3)
    data = client.get("/api/chat/acme-web/config").json()
    assert data["notice_required"] is True
    assert data["notice"]["version"] == 3


def test_an_unknown_inbox_is_a_404_on_every_endpoint(client, db):
    for response in (
        client.get("/api/chat/nope/config"),
        start(client, "nope"),
        post(client, "nope", "x", "hi"),
        poll(client, "nope", "x"),
        handover(client, "nope", "x"),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "unknown_inbox"
    assert counts() == (0, 0, 0)


def test_starting_creates_a_visitor_with_only_the_token_hash(client, personas):
    response = start(client, "acme-web")
    assert response.status_code == 201
    data = response.json()
    assert data["resumed"] is False and data["messages"] == []
    assert data["conversation"]["status"] == "bot"
    visitor = Visitor.objects.get()
    assert data["token"] not in visitor.token_hash
    assert len(visitor.token_hash) == 64
    conversation = Conversation.objects.get()
    assert conversation.reference == data["conversation"]["reference"]
    assert conversation.visitor == visitor and conversation.company == personas.company_a


def test_a_valid_token_resumes_the_open_conversation_with_its_messages(client, personas, faq):
    token = start(client, "acme-web").json()["token"]
    post(client, "acme-web", token, "When are you open?")
    response = start(client, "acme-web", token)
    assert response.status_code == 200
    data = response.json()
    assert data["resumed"] is True and data["token"] == token
    assert [m["sender"] for m in data["messages"]] == ["visitor", "bot"]
    assert Conversation.objects.count() == 1 and Visitor.objects.count() == 1


def test_an_unknown_or_expired_token_starts_afresh(client, personas):
    token = start(client, "acme-web").json()["token"]
    Visitor.objects.update(token_expires_at=timezone.now())
    response = start(client, "acme-web", token)
    assert response.status_code == 201
    assert response.json()["token"] != token
    assert Visitor.objects.count() == 2


def test_a_token_of_another_inbox_does_not_resume_there(client, personas):
    token = start(client, "acme-web").json()["token"]
    assert post(client, "acme-shop", token, "hello").status_code == 401
    assert post(client, "bravo-web", token, "hello").status_code == 401


def test_posting_a_faq_question_gets_the_bots_answer_in_the_same_response(client, personas, faq):
    token = start(client, "acme-web").json()["token"]
    response = post(client, "acme-web", token, "when are you open")
    assert response.status_code == 200
    data = response.json()
    assert data["message"]["sender"] == "visitor"
    assert data["message"]["body"] == "when are you open"
    assert [(r["sender"], r["body"]) for r in data["replies"]] == [
        ("bot", "Monday to Friday, 9 to 6.")
    ]
    assert data["conversation"]["status"] == "bot"
    assert data["offer_contact_form"] is False
    assert Message.objects.count() == 2


def test_an_answer_that_asks_for_contact_offers_the_contact_form(client, personas, faq):
    faq.asks_for_contact = True
    faq.save()
    token = start(client, "acme-web").json()["token"]
    assert post(client, "acme-web", token, "When are you open?").json()["offer_contact_form"]


def test_no_match_hands_over_with_a_system_message_and_the_bot_goes_quiet(client, personas, faq):
    # Issue 14: the inbox's bot_miss_limit (here 1) misses in a row hand over.
    personas.inbox_a.bot_miss_limit = 1
    personas.inbox_a.save()
    token = start(client, "acme-web").json()["token"]
    data = post(client, "acme-web", token, "asdf qwer").json()
    assert data["conversation"]["status"] == "waiting"
    assert [r["sender"] for r in data["replies"]] == ["system"]
    assert "person" in data["replies"][0]["body"]
    again = post(client, "acme-web", token, "When are you open?").json()
    assert again["replies"] == []
    assert Conversation.objects.get().status == Conversation.Status.WAITING


def test_personal_data_is_redacted_without_consent_and_the_count_returned(client, personas):
    token = start(client, "acme-web").json()["token"]
    data = post(client, "acme-web", token, "mail me at jane.doe@example.org").json()
    assert data["redacted_count"] == 1
    assert data["message"]["redacted_count"] == 1
    stored = Message.objects.get(sender="visitor")
    assert "jane.doe@example.org" not in stored.body
    assert stored.redacted_count == 1


def test_polling_returns_new_messages_after_an_id_with_the_status(client, personas, faq):
    token = start(client, "acme-web").json()["token"]
    first = post(client, "acme-web", token, "When are you open?").json()
    bob = UserFactory(first_name="Bob", email="bob@acme.example")
    conversation = Conversation.objects.get()
    Message.objects.create(
        company=personas.company_a,
        conversation=conversation,
        sender=Message.Sender.OPERATOR,
        author=bob,
        body="Hi, Bob here.",
    )
    Conversation.objects.update(status=Conversation.Status.OPERATOR)
    response = poll(client, "acme-web", token, after=first["replies"][0]["id"])
    assert response.status_code == 200
    data = response.json()
    assert data["conversation"]["status"] == "operator"
    assert [(m["sender"], m["author_name"], m["body"]) for m in data["messages"]] == [
        ("operator", "Bob", "Hi, Bob here.")
    ]
    raw = response.content.decode()
    assert bob.username not in raw and "bob@acme.example" not in raw
    assert poll(client, "acme-web", token, after=data["messages"][0]["id"]).json()["messages"] == []


def test_an_operator_without_a_first_name_is_shown_without_a_name(client, personas):
    token = start(client, "acme-web").json()["token"]
    Message.objects.create(
        company=personas.company_a,
        conversation=Conversation.objects.get(),
        sender=Message.Sender.OPERATOR,
        author=UserFactory(username="operator-x", first_name=""),
        body="Hello",
    )
    message = poll(client, "acme-web", token).json()["messages"][0]
    assert message["author_name"] is None


def test_the_bodies_of_posting_and_polling_are_exactly_what_their_schemas_render(
    client, personas, faq
):
    # Both endpoints render their bodies without ninja's response validation;
    # validating and rendering them again must change nothing.
    from chatbot_site.api import api
    from conversations.api import MessagePostOut, MessagesOut

    token = start(client, "acme-web").json()["token"]
    posted = post(client, "acme-web", token, "When are you open?")
    Message.objects.create(
        company=personas.company_a,
        conversation=Conversation.objects.get(),
        sender=Message.Sender.OPERATOR,
        author=UserFactory(first_name="Bob"),
        body="Hi, Bob here.",
    )
    polled = poll(client, "acme-web", token)
    for response, schema in ((posted, MessagePostOut), (polled, MessagesOut)):
        assert response.status_code == 200
        assert response["Content-Type"] == api.get_content_type()
        rendered = api.renderer.render(
            None, schema.model_validate(response.json()).model_dump(), response_status=200
        )
        assert json.loads(rendered) == response.json()
        assert rendered == response.content.decode()  # same keys, order and formats
    assert len(polled.json()["messages"]) == 3


def test_polling_rejects_a_negative_after(client, personas):
    token = start(client, "acme-web").json()["token"]
    assert poll(client, "acme-web", token, after=-1).status_code == 422


def test_handover_sets_waiting_once_and_is_idempotent(client, personas):
    token = start(client, "acme-web").json()["token"]
    response = handover(client, "acme-web", token)
    assert response.status_code == 200
    data = response.json()
    assert data["conversation"]["status"] == "waiting"
    assert [m["sender"] for m in data["messages"]] == ["system"]
    again = handover(client, "acme-web", token).json()
    assert again["messages"] == [] and again["conversation"]["status"] == "waiting"
    assert Message.objects.count() == 1


def test_a_closed_conversation_refuses_messages_and_handover_with_409(client, personas):
    token = start(client, "acme-web").json()["token"]
    Conversation.objects.update(status=Conversation.Status.CLOSED, closed_at=timezone.now())
    before = counts()
    response = post(client, "acme-web", token, "hello?")
    assert response.status_code == 409
    assert response.json()["error"] == "conversation_closed"
    assert handover(client, "acme-web", token).status_code == 409
    assert counts() == before


def test_a_closed_conversation_is_shown_until_the_visitor_starts_a_new_one(client, personas):
    token = start(client, "acme-web").json()["token"]
    Conversation.objects.update(status=Conversation.Status.CLOSED, closed_at=timezone.now())
    shown = start(client, "acme-web", token).json()
    assert shown["conversation"]["status"] == "closed" and shown["resumed"] is True
    fresh = start(client, "acme-web", token, new=True)
    assert fresh.status_code == 201
    assert fresh.json()["conversation"]["status"] == "bot"
    assert fresh.json()["token"] == token
    assert Conversation.objects.count() == 2 and Visitor.objects.count() == 1
    assert post(client, "acme-web", token, "hello again").status_code == 200


def test_new_true_keeps_an_open_conversation(client, personas):
    token = start(client, "acme-web").json()["token"]
    assert start(client, "acme-web", token, new=True).status_code == 200
    assert Conversation.objects.count() == 1


def test_a_required_notice_blocks_starting_and_posting_until_accepted(client, personas):
    token = start(client, "acme-web").json()["token"]
    personas.inbox_a.notice_required = True
    personas.inbox_a.save()
    notice = publish_notice(personas.company_a, version=2)
    before = counts()

    fresh = start(client, "acme-web")
    assert fresh.status_code == 403
    assert fresh.json()["error"] == "notice_required"
    assert fresh.json()["notice_version"] == 2
    response = post(client, "acme-web", token, "hello")
    assert response.status_code == 403 and response.json()["notice_version"] == 2
    assert counts() == before

    ConsentRecord.objects.create(
        company=personas.company_a,
        visitor=Visitor.objects.get(),
        purpose=ConsentRecord.Purpose.NOTICE,
        action=ConsentRecord.Action.GRANTED,
        notice=notice,
    )
    assert post(client, "acme-web", token, "hello").status_code == 200


def notice_consent(visitor, notice, action=ConsentRecord.Action.GRANTED):
    return ConsentRecord.objects.create(
        company=visitor.company,
        visitor=visitor,
        purpose=ConsentRecord.Purpose.NOTICE,
        action=action,
        notice=notice,
    )


def test_a_new_notice_version_blocks_posting_and_handover_until_it_is_accepted(client, personas):
    first = publish_notice(personas.company_a, version=1)
    personas.inbox_a.notice_required = True
    personas.inbox_a.save()
    visitor, token = visitor_create(inbox=personas.inbox_a)
    notice_consent(visitor, first)
    assert start(client, "acme-web", token).status_code == 201
    assert post(client, "acme-web", token, "hello").status_code == 200

    # An unpublished draft owes nothing; a published version 2 does.
    draft = PrivacyNotice.objects.create(
        company=personas.company_a, version=2, title="Privacy", text="Draft."
    )
    assert post(client, "acme-web", token, "hello").status_code == 200
    draft.published_at = timezone.now()
    draft.save()
    before = counts()
    refused = post(client, "acme-web", token, "hello")
    assert refused.status_code == 403
    assert refused.json()["error"] == "notice_required"
    assert refused.json()["notice_version"] == 2
    assert handover(client, "acme-web", token).status_code == 403
    assert counts() == before

    notice_consent(visitor, draft)
    assert post(client, "acme-web", token, "hello").status_code == 200
    # A withdrawal (the latest notice record) owes the notice again.
    notice_consent(visitor, draft, action=ConsentRecord.Action.WITHDRAWN)
    assert post(client, "acme-web", token, "hello").status_code == 403
    # Without the requirement nothing is owed.
    personas.inbox_a.notice_required = False
    personas.inbox_a.save()
    assert post(client, "acme-web", token, "hello").status_code == 200


def test_the_chat_lookup_leaves_contact_details_encrypted_until_one_is_read(personas):
    visitor, token = visitor_create(inbox=personas.inbox_a)
    Visitor.objects.filter(pk=visitor.pk).update(email="me@example.org")
    auth = chat_auth_get(public_key="acme-web", token_hash=hash_token(token), now=timezone.now())
    assert auth.visitor == visitor and auth.conversation is None
    assert auth.visitor.inbox == personas.inbox_a
    assert auth.visitor.company == personas.company_a == auth.visitor.inbox.company
    assert auth.notice_settled
    assert auth.visitor.get_deferred_fields() == {"name", "email", "phone"}
    assert auth.visitor.email == "me@example.org"  # loaded (and decrypted) on demand
    assert chat_auth_get(public_key="acme-web", token_hash="0" * 64, now=timezone.now()) is None
    for other_inbox in ("acme-shop", "bravo-web"):
        assert (
            chat_auth_get(public_key=other_inbox, token_hash=hash_token(token), now=timezone.now())
            is None
        )


def test_an_accepted_visitor_without_a_conversation_gets_one_started(client, personas):
    visitor, token = visitor_create(inbox=personas.inbox_a)
    response = start(client, "acme-web", token)
    assert response.status_code == 201
    assert response.json()["token"] == token
    assert Conversation.objects.get().visitor == visitor


def test_errors_are_json_with_a_message(client, personas):
    response = post(client, "acme-web", None, "hi")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["error"] == "token_missing" and body["message"]


def test_posting_a_message_takes_a_handful_of_queries(
    client, personas, faq, django_assert_max_num_queries
):
    token = start(client, "acme-web").json()["token"]
    post(client, "acme-web", token, "When are you open?")  # warms the FAQ cache
    # One query for conversation+visitor+inbox+company+consent; then on
    # PostgreSQL one statement for both messages and the conversation's
    # UPDATE (and the search tokens), elsewhere INSERT, UPDATE and the search
    # tokens' INSERT in a transaction.
    with django_assert_max_num_queries(2 if connection.vendor == "postgresql" else 6):
        assert post(client, "acme-web", token, "When are you open?").status_code == 200
    with django_assert_max_num_queries(2):
        assert poll(client, "acme-web", token).status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_the_lookup_and_the_write_of_a_posted_message_run_as_prepared_statements(
    client, personas, faq
):
    token = start(client, "acme-web").json()["token"]
    for _ in range(7):  # psycopg prepares a statement on its 5th run on a connection
        assert post(client, "acme-web", token, "When are you open?").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any("FROM conversations_inbox i" in s for s in prepared), prepared
    assert any("INSERT INTO conversations_message" in s for s in prepared), prepared
    # Django's own (client-side bound) queries are never prepared.
    assert not any('"conversations_faqentry"' in s for s in prepared)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_without_prepared_statements_the_chat_runs_unprepared(client, personas, faq):
    connection.ensure_connection()
    raw = connection.connection
    threshold, raw.prepare_threshold = raw.prepare_threshold, None  # as with the setting off
    try:
        token = start(client, "acme-web").json()["token"]
        for _ in range(7):
            assert post(client, "acme-web", token, "When are you open?").status_code == 200
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            assert cursor.fetchone()[0] == 0
    finally:
        raw.prepare_threshold = threshold
