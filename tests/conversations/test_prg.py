"""Post/Redirect/Get in the console: a reload never repeats a POST, a reveal is shown
once on the page it redirects to, a reply to an erased conversation keeps its text."""

import time

import pytest
from django.urls import reverse
from guardian.shortcuts import assign_perm, remove_perm

from chatbot_site.lib.audit import audit_entries_for_company
from conversations.models import Conversation, Message
from conversations.views.console import REVEAL_SESSION_KEY
from tests.conversations.console_helpers import conversation_in

pytestmark = pytest.mark.django_db

EMAIL = "prg.canary@example.org"


def url(name, conversation):
    return reverse(f"conversations:{name}", kwargs={"conversation_id": conversation.pk})


def events(company, event):
    return [
        e for e in audit_entries_for_company(company.pk) if e.additional_data.get("event") == event
    ]


@pytest.fixture
def conversation(personas):
    c = conversation_in(personas.inbox_a, status="waiting", body=f"Mail me at {EMAIL}")
    c.visitor.email = EMAIL
    c.visitor.save()
    return c


def reveal(client, conversation):
    response = client.post(url("reveal", conversation), {"reason": "caller verified"})
    assert response.status_code == 302
    assert response["Location"] == url("detail", conversation)
    return response


def test_a_reveal_redirects_shows_the_data_once_and_a_reload_masks_it(
    personas, login, conversation
):
    client = login(personas.alice)
    reveal(client, conversation)
    shown = client.get(url("detail", conversation))
    assert EMAIL in shown.content.decode()
    assert shown["Cache-Control"] == "no-store"
    reloaded = client.get(url("detail", conversation))
    assert EMAIL not in reloaded.content.decode()
    # one reveal logged (the POST), and each GET an open; no second reveal
    assert len(events(personas.company_a, "personal_data.reveal")) == 1
    opens = events(personas.company_a, "conversation.open")
    assert len(opens) == 2
    assert sorted(bool(e.additional_data.get("revealed")) for e in opens) == [False, True]


def test_the_session_marker_holds_ids_and_times_only(personas, login, conversation):
    client = login(personas.alice)
    reveal(client, conversation)
    markers = client.session[REVEAL_SESSION_KEY]
    assert list(markers) == [str(conversation.pk)]
    assert isinstance(markers[str(conversation.pk)], float)


def test_a_reveal_not_looked_at_within_ten_minutes_expires(personas, login, conversation):
    client = login(personas.alice)
    reveal(client, conversation)
    session = client.session
    session[REVEAL_SESSION_KEY] = {str(conversation.pk): time.time() - 1}
    session.save()
    assert EMAIL not in client.get(url("detail", conversation)).content.decode()


def test_a_reveal_of_one_conversation_shows_nothing_of_another(personas, login, conversation):
    other = conversation_in(personas.inbox_a, status="waiting", body="Other: other@example.org")
    client = login(personas.alice)
    reveal(client, conversation)
    assert "other@example.org" not in client.get(url("detail", other)).content.decode()
    assert EMAIL in client.get(url("detail", conversation)).content.decode()


def test_a_right_revoked_between_reveal_and_redirect_shows_the_page_masked(
    personas, login, conversation
):
    perm = "conversations.view_personal_data"
    assign_perm(perm, personas.support.group, personas.inbox_a)
    client = login(personas.bob)
    reveal(client, conversation)
    remove_perm(perm, personas.support.group, personas.inbox_a)
    page = client.get(url("detail", conversation))
    assert page.status_code == 200
    assert EMAIL not in page.content.decode()


def test_a_failed_reveal_re_renders_with_400_and_logs_nothing(personas, login, conversation):
    response = login(personas.alice).post(url("reveal", conversation), {"reason": ""})
    assert response.status_code == 400
    assert events(personas.company_a, "personal_data.reveal") == []
    assert REVEAL_SESSION_KEY not in login(personas.alice).session


def test_every_successful_console_action_redirects(personas, login, conversation):
    client = login(personas.bob)
    for name, data in (
        ("take_over", {"expected_assignee": ""}),
        ("reply", {"text": "On it.", "expected_assignee": str(personas.bob.pk)}),
        ("close", {}),
    ):
        response = client.post(url(name, conversation), data)
        assert response.status_code == 302, name
        assert response["Location"] == url("detail", conversation), name


def test_a_reply_to_a_conversation_erased_meanwhile_keeps_the_text_on_a_clear_page(
    personas, login, conversation
):
    client = login(personas.bob)
    client.get(url("detail", conversation))
    typed = "Thanks for waiting, here is the <answer> you asked for."
    Conversation.objects.filter(pk=conversation.pk).delete()  # erased in the meantime
    response = client.post(url("reply", conversation), {"text": typed, "expected_assignee": ""})
    html = response.content.decode()
    assert response.status_code == 404
    assert "Reply not sent" in html and "Your reply was not sent." in html
    assert "Thanks for waiting, here is the &lt;answer&gt; you asked for.</textarea>" in html
    assert not Message.objects.filter(sender="operator").exists()


def test_a_reply_to_another_companys_conversation_reveals_nothing_of_it(personas, login):
    theirs = conversation_in(personas.inbox_b, status="waiting", body="B's secret")
    response = login(personas.bob).post(url("reply", theirs), {"text": "hello"})
    assert response.status_code == 404
    assert theirs.reference not in response.content.decode()
    assert not Message.objects.filter(sender="operator").exists()


def test_refused_admin_forms_re_render_with_400_and_keep_what_was_typed(personas, login):
    client = login(personas.alice)
    inbox = client.post(
        "/console/inboxes/new/", {"name": "", "greeting": "Typed greeting", "language": "en"}
    )
    assert inbox.status_code == 400 and b"Typed greeting" in inbox.content
    faq = client.post(
        f"/console/inboxes/{personas.inbox_a.pk}/faq/new/",
        {"questions": "", "answer": "Typed answer", "position": 0},
    )
    assert faq.status_code == 400 and b"Typed answer" in faq.content
    notice = client.post("/console/notices/new/", {"title": "", "text": "Typed notice text"})
    assert notice.status_code == 400 and b"Typed notice text" in notice.content
    policy = client.post(
        "/console/retention/",
        {"conversation_days": "0", "personal_data_days": "1", "audit_days": "1", "run_hour": "2"},
    )
    assert policy.status_code == 400
    # and a GET of each is a 200
    for url in ("/console/inboxes/new/", "/console/notices/new/", "/console/retention/"):
        assert client.get(url).status_code == 200, url
