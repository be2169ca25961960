"""Operators ask for contact details with a stated purpose; the visitor sees the request."""

import pytest
from guardian.shortcuts import assign_perm

from chatbot_site.lib.audit import audit_entries_for_company
from consent.models import ContactRequest
from conversations.models import Conversation, Message
from tests.consent.helpers import api
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db

PURPOSE = "So we can call you back about your order."


@pytest.fixture
def started(client, personas):
    data = api(client, "post", "/chat/acme-web/conversations").json()
    conversation = Conversation.objects.get(reference=data["conversation"]["reference"])
    return conversation, data["token"]


def url(conversation):
    return f"/console/conversations/{conversation.pk}/request-contact/"


def test_an_operator_asks_for_contact_details_with_a_purpose(login, client, personas, started):
    conversation, token = started
    response = login(personas.bob).post(url(conversation), {"purpose": PURPOSE})
    assert response.status_code == 302
    assert response["Location"] == f"/console/conversations/{conversation.pk}/"
    request = ContactRequest.objects.get()
    assert (request.conversation, request.purpose_text, request.requested_by) == (
        conversation,
        PURPOSE,
        personas.bob,
    )
    system = Message.objects.get(pk=request.message_id)
    assert system.sender == Message.Sender.SYSTEM and PURPOSE in system.body
    state = api(client, "get", "/chat/acme-web/consents", token=token).json()
    assert state["contact"] == {
        "granted": False,
        "name": "",
        "email": "",
        "phone": "",
        "purpose": PURPOSE,
        "requested": True,
    }
    entry = audit_entries_for_company(personas.company_a.pk).get(
        additional_data__event="consent.contact_request"
    )
    assert entry.additional_data["conversation_id"] == conversation.pk
    assert PURPOSE not in str(entry.changes) + str(entry.additional_data)


def test_the_request_is_answered_by_the_visitors_opt_in(login, client, personas, started):
    conversation, token = started
    login(personas.bob).post(url(conversation), {"purpose": PURPOSE})
    api(
        client,
        "post",
        "/chat/acme-web/contact",
        {"email": "x@example.org", "purpose": PURPOSE, "opt_in": True},
        token=token,
    )
    client.logout()
    state = api(client, "get", "/chat/acme-web/consents", token=token).json()
    assert state["contact"]["requested"] is False and state["contact"]["granted"] is True


def test_it_needs_a_purpose(login, personas, started):
    conversation, _token = started
    response = login(personas.bob).post(url(conversation), {"purpose": "  "})
    assert response.status_code == 302
    assert not ContactRequest.objects.exists()
    assert not Message.objects.filter(sender=Message.Sender.SYSTEM).exists()


def test_a_viewer_cannot_ask(login, personas, started):
    conversation, _token = started
    assert login(personas.charlie).post(url(conversation), {"purpose": PURPOSE}).status_code == 404
    assert not ContactRequest.objects.exists()


def test_an_operator_without_the_reply_right_cannot_ask(login, personas):
    conversation = ConversationFactory(inbox=personas.inbox_a2)
    assign_perm("conversations.view_conversations", personas.support.group, personas.inbox_a2)
    assert login(personas.bob).post(url(conversation), {"purpose": PURPOSE}).status_code == 404
    assert not ContactRequest.objects.exists()


def test_another_company_gets_404(login, personas, started):
    conversation, _token = started
    assert login(personas.dave).post(url(conversation), {"purpose": PURPOSE}).status_code == 404
    assert not ContactRequest.objects.exists()


def test_it_only_accepts_post(login, personas, started):
    conversation, _token = started
    assert login(personas.bob).get(url(conversation)).status_code == 405


def test_a_closed_conversation_cannot_be_asked(login, personas, started):
    conversation, _token = started
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.CLOSED)
    login(personas.bob).post(url(conversation), {"purpose": PURPOSE})
    assert not ContactRequest.objects.exists()


def test_the_conversation_page_offers_the_request_to_who_may_reply(login, personas, started):
    conversation, _token = started
    page = login(personas.bob).get(f"/console/conversations/{conversation.pk}/")
    assert page.status_code == 200
    assert url(conversation).encode() in page.content
    page = login(personas.charlie).get(f"/console/conversations/{conversation.pk}/")
    assert page.status_code == 200
    assert url(conversation).encode() not in page.content
