"""The whole path through the chat API: gate first, then redaction without consent."""

import pytest
from django.db import connection

from conversations.models import Conversation, Message, Visitor
from tests.consent.helpers import api, audit_text, publish_notice, row_counts

pytestmark = pytest.mark.django_db

CANARY_EMAIL = "canary.z9k4@example.net"
CANARY_PHONE = "0171 2345678"


def raw_bodies() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM conversations_message")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def gated(personas):
    personas.inbox_a.notice_required = True
    personas.inbox_a.save()
    return publish_notice(personas.company_a)


def test_no_conversation_and_no_message_before_acceptance(client, personas, gated):
    before = row_counts()
    start = api(client, "post", "/chat/acme-web/conversations")
    assert start.status_code == 403
    assert start.json()["error"] == "notice_required"
    assert start.json()["notice_version"] == 1
    assert row_counts() == before
    # A visitor created by an earlier acceptance whose notice is now outdated:
    token = api(client, "post", "/chat/acme-web/notice/accept", {"version": 1}).json()["token"]
    publish_notice(personas.company_a, version=2)
    assert api(client, "post", "/chat/acme-web/conversations", token=token).status_code == 403
    message = api(client, "post", "/chat/acme-web/messages", {"text": "hello"}, token=token)
    assert message.status_code in (403, 409)
    assert Conversation.objects.count() == 0 and Message.objects.count() == 0


def test_after_acceptance_the_chat_starts(client, personas, gated):
    token = api(client, "post", "/chat/acme-web/notice/accept", {"version": 1}).json()["token"]
    start = api(client, "post", "/chat/acme-web/conversations", token=token)
    assert start.status_code in (200, 201)
    assert start.json()["token"] == token
    posted = api(client, "post", "/chat/acme-web/messages", {"text": "Hallo"}, token=token)
    assert posted.status_code == 200
    assert Visitor.objects.count() == 1


def test_it_redacts_an_email_typed_without_consent(client, personas):
    token = api(client, "post", "/chat/acme-web/conversations").json()["token"]
    posted = api(
        client,
        "post",
        "/chat/acme-web/messages",
        {"text": f"Write to {CANARY_EMAIL} or call {CANARY_PHONE}"},
        token=token,
    )
    assert posted.status_code == 200
    assert posted.json()["redacted_count"] == 2
    stored = Message.objects.get(sender=Message.Sender.VISITOR)
    assert stored.body == "Write to [email removed] or call [phone number removed]"
    assert stored.redacted_count == 2
    assert posted.json()["message"]["body"] == stored.body
    for raw in raw_bodies():
        assert CANARY_EMAIL not in raw and "2345678" not in raw and "removed" not in raw
    assert CANARY_EMAIL not in audit_text()


def test_it_keeps_an_email_typed_after_consent(client, personas):
    token = api(client, "post", "/chat/acme-web/conversations").json()["token"]
    given = api(
        client,
        "post",
        "/chat/acme-web/contact",
        {"email": "me@example.org", "purpose": "Call back", "opt_in": True},
        token=token,
    )
    assert given.status_code == 201
    posted = api(
        client, "post", "/chat/acme-web/messages", {"text": f"Also {CANARY_EMAIL}"}, token=token
    )
    assert posted.json()["redacted_count"] == 0
    stored = Message.objects.get(sender=Message.Sender.VISITOR)
    assert stored.body == f"Also {CANARY_EMAIL}"
    assert all(CANARY_EMAIL not in raw for raw in raw_bodies())  # encrypted at rest
    assert CANARY_EMAIL not in audit_text()
    # After withdrawal it is redacted again, in new and in stored messages.
    api(client, "post", "/chat/acme-web/contact/withdraw", token=token)
    stored.refresh_from_db()
    assert stored.body == "Also [email removed]"
    again = api(client, "post", "/chat/acme-web/messages", {"text": CANARY_EMAIL}, token=token)
    assert again.json()["redacted_count"] == 1


def test_it_redacts_in_the_inbox_language(client, personas):
    personas.inbox_a.language = "de"
    personas.inbox_a.save()
    token = api(client, "post", "/chat/acme-web/conversations").json()["token"]
    api(client, "post", "/chat/acme-web/messages", {"text": CANARY_EMAIL}, token=token)
    assert Message.objects.get(sender=Message.Sender.VISITOR).body == "[E-Mail entfernt]"
