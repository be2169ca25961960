"""The conversation page's live endpoint (conversations/views/live.py).

It must answer exactly what the detail page would show (same rights, same
masking, same row partial), page by ?after=, and log nothing per fetch.
"""

import pytest
from django.urls import reverse
from guardian.shortcuts import remove_perm

from chatbot_site.lib.audit import audit_entries_for_company
from conversations.models import Conversation, Message
from conversations.views import live
from tests.conversations.console_helpers import conversation_in
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

CANARY_EMAIL = "kanarienvogel.live7391@example.org"
CANARY_NAME = "Kanarienvogel Livetest"


def live_url(conversation, after=None):
    path = reverse("conversations:live", kwargs={"conversation_id": conversation.pk})
    return path if after is None else f"{path}?after={after}"


def opens(company):
    return [
        e
        for e in audit_entries_for_company(company.pk)
        if e.additional_data.get("event") == "conversation.open"
    ]


@pytest.fixture
def conversation(personas):
    c = conversation_in(personas.inbox_a, status="waiting")
    # the visitor consented: the address is stored in the message and the contact details
    MessageFactory(conversation=c, body=f"Please write to {CANARY_EMAIL}")
    visitor = c.visitor
    visitor.name, visitor.email = CANARY_NAME, CANARY_EMAIL
    visitor.save()
    return c


def test_the_rows_are_rendered_by_the_same_partial_as_the_detail_page(
    personas, login, conversation
):
    MessageFactory(conversation=conversation, body="Second one")
    client = login(personas.bob)
    data = client.get(live_url(conversation, after=0)).json()
    page = client.get(reverse("conversations:detail", args=[conversation.pk])).content.decode()
    rows = [row.strip() for row in data["messages_html"].strip().split("\n")]
    assert len(rows) == 2
    for row in rows:
        assert row in page  # byte for byte what the page shows
    ids = list(
        Message.objects.filter(conversation=conversation)
        .order_by("id")
        .values_list("id", flat=True)
    )
    assert data["last_id"] == ids[-1]
    assert f'data-after="{ids[-1]}"' in page


def test_a_canary_email_is_masked_for_a_viewer_in_rows_and_contact_details(
    personas, login, conversation
):
    response = login(personas.charlie).get(live_url(conversation))
    assert response.status_code == 200
    body = response.content.decode()
    data = response.json()
    assert CANARY_EMAIL not in body and "kanarienvogel" not in body.lower()
    assert "Livetest" not in body
    assert "Please write to [•••• email]" in data["messages_html"]
    assert "masked" in data["contact_html"]
    assert data["has_contact_details"] is True
    assert data["can_reply"] is False
    assert response["Cache-Control"] == "no-store"


def test_contact_details_given_after_the_page_opened_arrive_masked(personas, login):
    c = conversation_in(personas.inbox_a, status="waiting")
    client = login(personas.bob)
    assert client.get(live_url(c)).json()["has_contact_details"] is False
    visitor = c.visitor
    visitor.email = CANARY_EMAIL
    visitor.save()
    data = client.get(live_url(c)).json()
    assert data["has_contact_details"] is True
    assert CANARY_EMAIL not in data["contact_html"]
    assert "•" in data["contact_html"]


def test_after_pages_through_new_messages_only(personas, login, conversation, monkeypatch):
    first = Message.objects.get(conversation=conversation)
    later = [MessageFactory(conversation=conversation, body=f"later {n}") for n in range(3)]
    client = login(personas.bob)

    data = client.get(live_url(conversation, after=first.pk)).json()
    assert [f'data-message-id="{m.pk}"' in data["messages_html"] for m in later] == [True] * 3
    assert f'data-message-id="{first.pk}"' not in data["messages_html"]
    assert data["last_id"] == later[-1].pk and data["more"] is False

    nothing = client.get(live_url(conversation, after=later[-1].pk)).json()
    assert nothing["messages_html"].strip() == ""
    assert nothing["last_id"] == later[-1].pk

    # a page size smaller than what is new: `more` until the page has caught up
    monkeypatch.setattr(live, "LIVE_PAGE_SIZE", 2)
    page1 = client.get(live_url(conversation, after=0)).json()
    assert page1["more"] is True and page1["last_id"] == later[0].pk
    page2 = client.get(live_url(conversation, after=page1["last_id"])).json()
    assert page2["more"] is False and page2["last_id"] == later[2].pk
    assert "later 1" in page2["messages_html"] and "later 0" not in page2["messages_html"]


def test_another_teams_inbox_and_another_company_are_404(personas, login):
    other_inbox = conversation_in(personas.inbox_a2, body="not for bob")
    other_company = conversation_in(personas.inbox_b, body="not for alice")
    assert login(personas.bob).get(live_url(other_inbox)).status_code == 404
    assert login(personas.alice).get(live_url(other_company)).status_code == 404
    assert login(personas.dave).get(live_url(other_inbox)).status_code == 404


def test_signed_out_is_sent_to_the_login_page(client, personas, conversation):
    response = client.get(live_url(conversation))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize("after", ["abc", "-1", "1.5", "9" * 30])
def test_a_bad_after_is_a_400_with_a_message(personas, login, conversation, after):
    response = login(personas.bob).get(live_url(conversation, after=after))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_after"
    assert response.json()["message"]


def test_live_fetches_are_not_audited_one_by_one(personas, login, conversation):
    client = login(personas.bob)
    client.get(reverse("conversations:detail", args=[conversation.pk]))
    for _ in range(3):
        assert client.get(live_url(conversation)).status_code == 200
    assert len(opens(personas.company_a)) == 1


def test_the_state_says_who_holds_the_conversation(personas, login, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(
        status=Conversation.Status.OPERATOR, assigned_to=personas.alice
    )
    personas.alice.first_name, personas.alice.last_name = "Alice", "Admin"
    personas.alice.save()
    bob = login(personas.bob).get(live_url(conversation)).json()
    assert bob["status"] == "operator" and bob["assigned_to"] == personas.alice.pk
    assert bob["assignee_name"] == "Alice Admin" and bob["assignee_username"] == "alice"
    assert bob["holds"] is False and bob["can_reply"] is True
    alice = login(personas.alice).get(live_url(conversation)).json()
    assert alice["holds"] is True


def test_a_lost_right_ends_the_stream(personas, login, conversation):
    client = login(personas.charlie)
    assert client.get(live_url(conversation)).status_code == 200
    remove_perm("conversations.view_conversations", personas.quality.group, personas.inbox_a)
    assert client.get(live_url(conversation)).status_code == 404
