"""Canned replies: admins manage them, operators get them in the reply box."""

import json
import re

import pytest
from auditlog.models import LogEntry

from accounts.models import Membership
from chatbot_site.lib.audit import audit_entries_for_company
from chatbot_site.lib.errors import NotAllowed
from conversations.models import CannedReply
from conversations.services.canned import CannedReplyError, canned_reply_create
from tests.conversations.console_helpers import conversation_in

pytestmark = pytest.mark.django_db


def canned(company, shortcut="greeting", text="Hello, how can I help?"):
    return CannedReply.objects.create(company=company, shortcut=shortcut, text=text)


def test_an_admin_creates_a_canned_reply_and_is_redirected_to_the_list(personas, login):
    client = login(personas.alice)
    response = client.post("/console/canned/new/", {"shortcut": "Greeting", "text": "  Hi!  "})
    assert response.status_code == 302 and response["Location"] == "/console/canned/"
    reply = CannedReply.objects.get()
    assert (reply.company, reply.shortcut, reply.text) == (personas.company_a, "greeting", "Hi!")
    page = client.get("/console/canned/")
    assert b"/greeting" in page.content and b"Canned reply added." in page.content


def test_a_creation_is_audited_with_the_admin_and_the_company(personas, login):
    login(personas.alice).post("/console/canned/new/", {"shortcut": "bye", "text": "Goodbye"})
    entries = [
        e
        for e in audit_entries_for_company(personas.company_a.pk)
        if e.content_type.model == "cannedreply"
    ]
    assert len(entries) == 1
    assert entries[0].action == LogEntry.Action.CREATE
    assert entries[0].actor_id == personas.alice.pk


def test_a_duplicate_shortcut_is_a_400_that_keeps_the_typed_text(personas, login):
    canned(personas.company_a)
    response = login(personas.alice).post(
        "/console/canned/new/", {"shortcut": "greeting", "text": "Another text typed"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Another canned reply already uses this shortcut." in html
    assert "Another text typed</textarea>" in html
    assert CannedReply.objects.count() == 1


def test_a_bad_shortcut_or_empty_text_is_a_400_and_writes_nothing(personas, login):
    client = login(personas.alice)
    bad = client.post("/console/canned/new/", {"shortcut": "two words", "text": "x"})
    assert bad.status_code == 400
    assert b"Use letters, digits, hyphens and underscores only." in bad.content
    empty = client.post("/console/canned/new/", {"shortcut": "ok", "text": "   "})
    assert empty.status_code == 400 and b"Enter the reply text." in empty.content
    assert not CannedReply.objects.exists()


def test_the_same_shortcut_may_exist_in_another_company(personas, login):
    canned(personas.company_b)
    response = login(personas.alice).post(
        "/console/canned/new/", {"shortcut": "greeting", "text": "Hi"}
    )
    assert response.status_code == 302
    assert CannedReply.objects.filter(shortcut="greeting").count() == 2


def test_an_admin_edits_and_deletes_a_canned_reply(personas, login):
    reply = canned(personas.company_a)
    client = login(personas.alice)
    form = client.get(f"/console/canned/{reply.pk}/")
    assert form.status_code == 200 and b"Hello, how can I help?" in form.content
    response = client.post(f"/console/canned/{reply.pk}/", {"shortcut": "hello", "text": "Hi!"})
    assert response.status_code == 302
    reply.refresh_from_db()
    assert (reply.shortcut, reply.text) == ("hello", "Hi!")
    assert client.get(f"/console/canned/{reply.pk}/delete/").status_code == 200
    assert CannedReply.objects.exists()  # a GET deletes nothing
    response = client.post(f"/console/canned/{reply.pk}/delete/")
    assert response.status_code == 302 and not CannedReply.objects.exists()


def test_operators_and_viewers_get_404_on_the_admin_pages_and_change_nothing(personas, login):
    reply = canned(personas.company_a)
    for user in (personas.bob, personas.charlie):
        client = login(user)
        for url in (
            "/console/canned/",
            "/console/canned/new/",
            f"/console/canned/{reply.pk}/",
            f"/console/canned/{reply.pk}/delete/",
        ):
            assert client.get(url).status_code == 404, url
            assert client.post(url, {"shortcut": "x", "text": "y"}).status_code == 404, url
    reply.refresh_from_db()
    assert (reply.shortcut, CannedReply.objects.count()) == ("greeting", 1)


def test_another_companys_admin_gets_404_for_a_canned_reply(personas, login):
    reply = canned(personas.company_a)
    client = login(personas.dave)
    assert client.get(f"/console/canned/{reply.pk}/").status_code == 404
    assert client.post(f"/console/canned/{reply.pk}/delete/").status_code == 404
    assert b"/greeting</code>" not in client.get("/console/canned/").content
    assert CannedReply.objects.filter(pk=reply.pk).exists()


def test_the_service_refuses_a_non_admin(personas):
    bob = Membership.objects.get(user=personas.bob, company=personas.company_a)
    with pytest.raises(NotAllowed):
        canned_reply_create(membership=bob, shortcut="x", text="y")
    assert not CannedReply.objects.exists()


def test_the_service_refuses_a_taken_shortcut_with_a_clear_error(personas):
    alice = Membership.objects.get(user=personas.alice, company=personas.company_a)
    canned_reply_create(membership=alice, shortcut="dup", text="one")
    with pytest.raises(CannedReplyError) as refused:
        canned_reply_create(membership=alice, shortcut="DUP", text="two")
    assert refused.value.field == "shortcut"


def test_the_reply_box_gets_the_companys_canned_replies_as_a_json_data_block(personas, login):
    canned(personas.company_a, "greeting", "Hello <b>there</b>")
    canned(personas.company_b, "secret", "Company B only")
    conversation = conversation_in(personas.inbox_a, status="waiting", body="hi")
    html = login(personas.bob).get(f"/console/conversations/{conversation.pk}/").content.decode()
    block = re.search(
        r'<script id="canned-replies" type="application/json">(.*?)</script>', html, re.S
    )
    assert block, "no canned-replies data block"
    assert json.loads(block.group(1)) == [{"shortcut": "greeting", "text": "Hello <b>there</b>"}]
    assert "<b>there</b>" not in html  # escaped inside the block
    assert "console/reply_box.js" in html


def test_a_viewer_gets_no_canned_replies(personas, login):
    canned(personas.company_a)
    conversation = conversation_in(personas.inbox_a, status="waiting", body="hi")
    html = login(personas.charlie).get(f"/console/conversations/{conversation.pk}/").content
    assert b"Hello, how can I help?" not in html
