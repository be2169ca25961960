import json

import pytest
from auditlog.models import LogEntry
from django.urls import NoReverseMatch, reverse

from chatbot_site.lib.audit import audit_entries_for_company
from conversations.models import Conversation, Message
from tests.conversations.console_helpers import conversation_in
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

EMAIL = "erika.mustermann@example.org"
PHONE = "+49 30 901820"


def url(name, conversation):
    name = name if ":" in name else f"conversations:{name}"
    return reverse(name, kwargs={"conversation_id": conversation.pk})


def events(company, event):
    return [
        e for e in audit_entries_for_company(company.pk) if e.additional_data.get("event") == event
    ]


@pytest.fixture
def conversation(personas):
    c = conversation_in(
        personas.inbox_a, status="waiting", body=f"Write to {EMAIL} or call {PHONE}"
    )
    visitor = c.visitor
    visitor.name, visitor.email, visitor.phone = "Erika Mustermann", EMAIL, PHONE
    visitor.save()
    return c


def test_opening_a_conversation_shows_its_messages_with_personal_data_masked(
    personas, login, conversation
):
    response = login(personas.bob).get(url("detail", conversation))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Write to [•••• email] or call [•••• phone]" in html
    assert EMAIL not in html and "901820" not in html and "Mustermann" not in html
    assert f"Visitor #{conversation.visitor_id}" in html
    assert "••••••" in html  # the masked contact fields


def test_each_open_is_audited_as_an_access_by_the_acting_user(personas, login, conversation):
    client = login(personas.charlie)
    client.get(url("detail", conversation))
    client.get(url("detail", conversation))
    opened = events(personas.company_a, "conversation.open")
    assert len(opened) == 2
    assert {e.action for e in opened} == {LogEntry.Action.ACCESS}
    assert {e.actor_id for e in opened} == {personas.charlie.pk}
    assert opened[0].object_pk == str(conversation.pk)


def test_a_reveal_needs_a_reason_and_writes_nothing_without_one(personas, login, conversation):
    client = login(personas.alice)
    response = client.post(url("reveal", conversation), {"reason": "   "})
    assert response.status_code == 400
    assert b"Give a reason for revealing personal data." in response.content
    assert EMAIL.encode() not in response.content
    assert events(personas.company_a, "personal_data.reveal") == []


def test_a_reveal_shows_personal_data_for_that_response_only_and_logs_the_redacted_reason(
    personas, login, conversation
):
    client = login(personas.alice)
    posted = client.post(
        url("reveal", conversation), {"reason": f"Visitor asked by phone, {EMAIL} confirmed"}
    )
    # Post/Redirect/Get: the page the POST redirects to shows the data, once
    assert posted.status_code == 302 and posted["Location"] == url("detail", conversation)
    response = client.get(posted["Location"])
    html = response.content.decode()
    assert response.status_code == 200
    assert EMAIL in html and "Erika Mustermann" in html
    assert response["Cache-Control"] == "no-store"
    [entry] = events(personas.company_a, "personal_data.reveal")
    assert entry.action == LogEntry.Action.ACCESS and entry.actor_id == personas.alice.pk
    assert entry.additional_data["reason"] == "Visitor asked by phone, [email removed] confirmed"
    # the next view is masked again: the one-time marker was used up
    again = client.get(url("detail", conversation)).content.decode()
    assert EMAIL not in again


def test_without_the_personal_data_right_a_reveal_is_refused(personas, login, conversation):
    response = login(personas.bob).post(url("reveal", conversation), {"reason": "curious"})
    assert response.status_code == 403
    assert events(personas.company_a, "personal_data.reveal") == []
    assert (
        b"Reveal personal data" not in login(personas.bob).get(url("detail", conversation)).content
    )


def test_a_reply_reaches_the_conversation_and_assigns_it_to_the_operator(
    personas, login, conversation
):
    before = conversation.last_message_at
    response = login(personas.bob).post(url("reply", conversation), {"text": "Hello, I am Bob."})
    assert response.status_code == 302
    message = Message.objects.filter(conversation=conversation).latest("id")
    assert (message.sender, message.author, message.body) == (
        "operator",
        personas.bob,
        "Hello, I am Bob.",
    )
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPERATOR
    assert conversation.assigned_to == personas.bob
    assert conversation.last_message_at > before


def test_an_empty_reply_is_a_form_error_and_writes_nothing(personas, login, conversation):
    count = Message.objects.count()
    response = login(personas.bob).post(url("reply", conversation), {"text": "  "})
    assert response.status_code == 400
    assert b"Write a reply first." in response.content
    assert Message.objects.count() == count


def test_a_closed_conversation_cannot_be_answered(personas, login, conversation):
    client = login(personas.bob)
    client.post(url("close", conversation))
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED and conversation.closed_at
    response = client.post(url("reply", conversation), {"text": "Still there?"})
    assert response.status_code == 409
    assert b"closed" in response.content
    assert not Message.objects.filter(conversation=conversation, sender="operator").exists()


def test_taking_over_a_waiting_conversation_assigns_it_and_tells_the_visitor(
    personas, login, conversation
):
    response = login(personas.bob).post(url("take_over", conversation))
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPERATOR
    assert conversation.assigned_to == personas.bob
    system = Message.objects.filter(conversation=conversation, sender="system").get()
    assert "operator" in system.body.lower()


def test_a_viewer_gets_no_reply_box_and_cannot_reply_take_over_or_close(
    personas, login, conversation
):
    client = login(personas.charlie)
    html = client.get(url("detail", conversation)).content.decode()
    assert 'name="text"' not in html and "Take over" not in html
    assert "You can read this conversation but not answer it." in html
    assert client.post(url("reply", conversation), {"text": "hi"}).status_code == 403
    assert client.post(url("take_over", conversation)).status_code == 403
    assert client.post(url("close", conversation)).status_code == 403
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.WAITING


def test_the_export_is_masked_json_and_audited(personas, login, conversation):
    MessageFactory(conversation=conversation, sender="bot", body="How can I help?")
    response = login(personas.bob).get(url("export", conversation))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert data["conversation"]["reference"] == conversation.reference
    assert [m["text"] for m in data["messages"]] == [
        "Write to [•••• email] or call [•••• phone]",
        "How can I help?",
    ]
    assert data["visitor"]["email"] == "••••••"
    [entry] = events(personas.company_a, "conversation.export")
    assert entry.actor_id == personas.bob.pk and entry.action == LogEntry.Action.ACCESS


def test_the_erase_link_is_shown_only_with_the_erase_right_and_when_erasure_exists(
    personas, login, conversation
):
    try:
        erase_url = url("retention:erasure_start", conversation)
    except NoReverseMatch:
        erase_url = None
    admin_html = login(personas.alice).get(url("detail", conversation)).content.decode()
    bob_html = login(personas.bob).get(url("detail", conversation)).content.decode()
    assert (f'href="{erase_url}">Erase<' in admin_html) is (erase_url is not None)
    assert ">Erase<" not in bob_html


def test_a_conversation_of_an_ungranted_inbox_is_a_404(personas, login):
    hidden = conversation_in(personas.inbox_a2)
    client = login(personas.bob)
    assert client.get(url("detail", hidden)).status_code == 404
    assert client.post(url("reply", hidden), {"text": "x"}).status_code == 404
    assert events(personas.company_a, "conversation.open") == []


def taken_by(conversation, user):
    Conversation.objects.filter(pk=conversation.pk).update(
        status=Conversation.Status.OPERATOR, assigned_to=user
    )


def test_the_page_carries_the_assignee_it_showed_in_its_forms(personas, login, conversation):
    html = login(personas.bob).get(url("detail", conversation)).content.decode()
    assert html.count('name="expected_assignee" value=""') == 2  # take over, reply
    taken_by(conversation, personas.alice)
    html = login(personas.bob).get(url("detail", conversation)).content.decode()
    assert html.count(f'name="expected_assignee" value="{personas.alice.pk}"') == 2


def test_a_take_over_of_a_conversation_someone_took_since_the_page_was_shown_names_them(
    personas, login, conversation
):
    taken_by(conversation, personas.alice)  # after bob's page showed it waiting
    response = login(personas.bob).post(url("take_over", conversation), {"expected_assignee": ""})
    assert response.status_code == 409
    html = response.content.decode()
    assert "alice has already taken over this conversation." in html
    # the page shows the conversation as it is now
    assert f'name="expected_assignee" value="{personas.alice.pk}"' in html
    conversation.refresh_from_db()
    assert conversation.assigned_to == personas.alice
    assert not Message.objects.filter(conversation=conversation, sender="system").exists()


def test_taking_over_from_the_colleague_the_page_showed_is_allowed(personas, login, conversation):
    taken_by(conversation, personas.alice)
    response = login(personas.bob).post(
        url("take_over", conversation), {"expected_assignee": str(personas.alice.pk)}
    )
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.assigned_to == personas.bob
    assert Message.objects.filter(conversation=conversation, sender="system").count() == 1


def test_a_reply_refused_because_someone_took_over_keeps_the_typed_text(
    personas, login, conversation
):
    taken_by(conversation, personas.alice)
    count = Message.objects.count()
    response = login(personas.bob).post(
        url("reply", conversation), {"text": "Hello, Bob here.", "expected_assignee": ""}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "alice has already taken over this conversation." in html
    assert "Hello, Bob here.</textarea>" in html
    assert Message.objects.count() == count
    conversation.refresh_from_db()
    assert conversation.assigned_to == personas.alice
    # sent again from that page (which now shows alice), the reply goes through
    again = login(personas.bob).post(
        url("reply", conversation),
        {"text": "Hello, Bob here.", "expected_assignee": str(personas.alice.pk)},
    )
    assert again.status_code == 302
    assert Message.objects.filter(sender="operator", author=personas.bob).count() == 1


def test_a_reply_to_a_conversation_closed_meanwhile_keeps_the_text_and_it_stays_closed(
    personas, login, conversation
):
    client = login(personas.bob)
    client.post(url("close", conversation))
    response = client.post(url("reply", conversation), {"text": "Still there?"})
    assert response.status_code == 409
    assert client.post(url("take_over", conversation)).status_code == 409
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED and conversation.assigned_to is None


def test_a_malformed_expected_assignee_is_a_400_and_changes_nothing(personas, login, conversation):
    response = login(personas.bob).post(url("take_over", conversation), {"expected_assignee": "x"})
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.WAITING
