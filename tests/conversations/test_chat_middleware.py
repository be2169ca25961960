"""The audit middleware looks up the user only for requests that carry a session."""

import pytest
from auditlog.models import LogEntry

from conversations.models import Conversation
from tests.conversations.chat_support import post, start

pytestmark = pytest.mark.django_db


def test_a_visitors_chat_call_does_not_touch_the_session(client, personas):
    started = start(client, "acme-web")
    assert started.status_code == 201
    posted = post(client, "acme-web", started.json()["token"], "hello")
    assert posted.status_code == 200
    for response in (started, posted):
        assert "Cookie" not in response.get("Vary", "")  # the session was never read
        assert "sessionid" not in response.cookies
    entry = LogEntry.objects.get_for_object(Conversation.objects.get()).get()
    assert entry.actor is None


def test_a_signed_in_user_is_still_the_actor_of_what_their_request_changes(login, personas):
    client = login(personas.alice)
    assert start(client, "acme-web").status_code == 201
    entry = LogEntry.objects.get_for_object(Conversation.objects.get()).get()
    assert entry.actor == personas.alice
