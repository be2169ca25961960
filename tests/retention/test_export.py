"""Access requests: the export holds everything about the subject and nothing about anyone else."""

import json

import pytest
from auditlog.models import LogEntry
from django.utils import timezone

from chatbot_site.lib.audit import audit_access
from consent.models import ConsentRecord
from conversations.models import Conversation, Message, Visitor
from conversations.services.visitors import visitor_create
from retention.models import ErasureRequest
from retention.services.erasure import receipt_verify
from retention.services.export import visitor_export
from retention.services.holds import legal_hold_place
from tests.retention.helpers import make_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(personas):
    visitor, token = visitor_create(inbox=personas.inbox_a)
    Visitor.objects.filter(pk=visitor.pk).update(
        name="Subject Sommer", email="subject@example.org", phone="+49 40 1111111"
    )
    visitor.refresh_from_db()
    now = timezone.now()
    first = make_conversation(
        inbox=personas.inbox_a, now=now, age_days=3, visitor=visitor, bodies=("subject says hi",)
    )
    second = make_conversation(inbox=personas.inbox_a, now=now, age_days=1, visitor=visitor)
    ConsentRecord.objects.create(
        company=personas.company_a,
        visitor=visitor,
        purpose=ConsentRecord.Purpose.CONTACT,
        action=ConsentRecord.Action.GRANTED,
        purpose_text="Call me back about my order",
    )
    audit_access(
        company_id=personas.company_a.pk,
        actor=personas.bob,
        obj=first,
        event="conversation.open",
    )
    audit_access(
        company_id=personas.company_a.pk,
        actor=personas.alice,
        obj=second,
        event="conversation.open",
    )
    return visitor, token, [first, second]


@pytest.fixture
def others(personas):
    now = timezone.now()
    same_company = make_conversation(
        inbox=personas.inbox_a, now=now, age_days=1, bodies=("someone else entirely",)
    )
    Visitor.objects.filter(pk=same_company.visitor_id).update(name="Other Olsen")
    other_company = make_conversation(
        inbox=personas.inbox_b, now=now, age_days=1, bodies=("bravo visitor text",)
    )
    audit_access(
        company_id=personas.company_a.pk,
        actor=personas.charlie,
        obj=same_company,
        event="conversation.open",
    )
    return same_company, other_company


def test_the_export_contains_everything_about_the_subject(personas, subject, others):
    visitor, _token, conversations = subject
    data = visitor_export(visitor=visitor, actor=personas.alice)

    assert data["visitor"]["contact_details"] == {
        "name": "Subject Sommer",
        "email": "subject@example.org",
        "phone": "+49 40 1111111",
    }
    assert [c["reference"] for c in data["conversations"]] == [c.reference for c in conversations]
    texts = [m["text"] for c in data["conversations"] for m in c["messages"]]
    expected = list(
        Message.objects.filter(conversation__in=conversations)
        .order_by("conversation__started_at", "conversation_id", "id")
        .values_list("body", flat=True)
    )
    assert texts == expected and "subject says hi" in texts
    assert data["consent_records"][0]["purpose_text"] == "Call me back about my order"
    accesses = [(a["conversation"], a["teams"], a["role"]) for a in data["accesses"]]
    assert (conversations[0].reference, ["Support"], "operator") in accesses
    assert (conversations[1].reference, [], "admin") in accesses
    assert data["controller"]["name"] == "Acme"


def test_the_export_holds_nothing_about_anyone_else(personas, subject, others):
    visitor, _token, _ = subject
    same_company, other_company = others
    text = json.dumps(visitor_export(visitor=visitor, actor=personas.alice))
    for needle in (
        "someone else entirely",
        "Other Olsen",
        "bravo visitor text",
        same_company.reference,
        other_company.reference,
        "Quality",  # charlie's team opened only the other conversation
        "alice",
        "bob",
    ):
        assert needle not in text, needle


def test_every_export_is_audited_with_counts_only(personas, subject):
    visitor, _token, _ = subject
    visitor_export(visitor=visitor, actor=personas.alice)
    entry = LogEntry.objects.get(additional_data__event="visitor.export")
    assert entry.action == LogEntry.Action.ACCESS and entry.actor == personas.alice
    assert entry.additional_data["conversations"] == 2
    assert entry.additional_data["messages"] == 4
    assert "Sommer" not in str(entry.__dict__) and "subject says" not in str(entry.__dict__)


# --------------------------------------------------------------------------- #
# Self-service API with the visitor's token
# --------------------------------------------------------------------------- #


def test_a_visitor_downloads_their_own_data_with_their_token(client, personas, subject, others):
    visitor, token, conversations = subject
    response = client.get("/api/chat/acme-web/export", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    data = response.json()
    assert [c["reference"] for c in data["conversations"]] == [c.reference for c in conversations]
    assert "someone else entirely" not in response.content.decode()
    entry = LogEntry.objects.get(additional_data__event="visitor.export")
    assert entry.actor is None and entry.additional_data["origin"] == "visitor"


def test_a_visitor_erases_their_own_data_and_gets_a_signed_receipt(client, personas, subject):
    visitor, token, conversations = subject
    response = client.post("/api/chat/acme-web/erase", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    receipt = response.json()
    assert receipt_verify(receipt)
    assert receipt["receipt"]["executed_by"] == "visitor"
    assert receipt["receipt"]["erased"]["conversations"] == 2
    assert not Conversation.objects.filter(pk__in=[c.pk for c in conversations]).exists()
    assert ErasureRequest.objects.get().origin == "visitor"
    # the token is gone with the visitor
    again = client.get("/api/chat/acme-web/export", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert again.status_code == 401


@pytest.mark.parametrize("method,path", [("get", "export"), ("post", "erase")])
def test_self_service_needs_a_valid_token_and_a_known_inbox(
    client, personas, subject, method, path
):
    _visitor, token, _ = subject
    call = getattr(client, method)
    missing = call(f"/api/chat/acme-web/{path}")
    assert missing.status_code == 401 and missing.json()["error"] == "token_missing"
    wrong = call(f"/api/chat/acme-web/{path}", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401
    other_inbox = call(f"/api/chat/bravo-web/{path}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert other_inbox.status_code == 401  # the token belongs to company A's inbox
    unknown = call(f"/api/chat/no-such-inbox/{path}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_inbox"
    assert Conversation.objects.filter(company=personas.company_a).count() == 2


def test_a_held_visitor_gets_a_409_and_keeps_their_data(client, personas, subject):
    _visitor, token, conversations = subject
    legal_hold_place(conversation=conversations[0], reason="court", actor=None)
    response = client.post("/api/chat/acme-web/erase", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 409 and response.json()["error"] == "legal_hold"
    assert "court" not in response.content.decode()
    assert not ErasureRequest.objects.exists()
    assert Conversation.objects.filter(pk=conversations[0].pk).exists()
