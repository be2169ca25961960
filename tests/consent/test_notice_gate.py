"""The notice gate through the API: accept, decline, outdated versions, re-acceptance."""

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from consent.models import ConsentRecord
from consent.selectors import notice_to_accept
from conversations.models import Visitor
from tests.consent.helpers import api, publish_notice, row_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def gated(personas):
    personas.inbox_a.notice_required = True
    personas.inbox_a.save()
    return publish_notice(personas.company_a)


def test_it_shows_the_current_notice_and_that_it_is_owed(client, personas, gated):
    response = api(client, "get", "/chat/acme-web/notice")
    assert response.status_code == 200
    body = response.json()
    assert body["required"] is True and body["owed"] is True
    assert body["notice"]["version"] == gated.version
    assert body["notice"]["title"] == "Privacy"
    assert body["transparency_url"] == "/privacy/acme/"


def test_it_creates_an_anonymous_visitor_and_a_consent_record_on_acceptance(
    client, personas, gated
):
    response = api(client, "post", "/chat/acme-web/notice/accept", {"version": gated.version})
    assert response.status_code == 201
    token = response.json()["token"]
    assert token
    visitor = Visitor.objects.get()
    assert visitor.inbox == personas.inbox_a and not visitor.has_contact_details
    record = ConsentRecord.objects.get()
    assert (record.visitor, record.purpose, record.action, record.notice) == (
        visitor,
        ConsentRecord.Purpose.NOTICE,
        ConsentRecord.Action.GRANTED,
        gated,
    )
    assert notice_to_accept(inbox=personas.inbox_a, visitor=visitor) is None
    state = api(client, "get", "/chat/acme-web/notice", token=token).json()
    assert state["owed"] is False


def test_it_records_a_second_acceptance_of_the_same_version_only_once(client, personas, gated):
    token = api(client, "post", "/chat/acme-web/notice/accept", {"version": 1}).json()["token"]
    again = api(client, "post", "/chat/acme-web/notice/accept", {"version": 1}, token=token)
    assert again.status_code == 200
    assert again.json()["token"] is None
    assert ConsentRecord.objects.count() == 1 and Visitor.objects.count() == 1


def test_it_refuses_an_outdated_version_and_names_the_current_one(client, personas, gated):
    publish_notice(personas.company_a, version=2)
    before = row_counts()
    response = api(client, "post", "/chat/acme-web/notice/accept", {"version": 1})
    assert response.status_code == 409
    assert response.json()["error"] == "notice_outdated"
    assert response.json()["notice_version"] == 2
    assert "2" in response.json()["message"]
    assert row_counts() == before


def test_it_asks_a_returning_visitor_again_after_a_new_version(client, personas, gated):
    token = api(client, "post", "/chat/acme-web/notice/accept", {"version": 1}).json()["token"]
    publish_notice(personas.company_a, version=2, text="We changed something.")
    state = api(client, "get", "/chat/acme-web/notice", token=token).json()
    assert state["owed"] is True and state["notice"]["version"] == 2
    response = api(client, "post", "/chat/acme-web/notice/accept", {"version": 2}, token=token)
    assert response.status_code == 200
    assert api(client, "get", "/chat/acme-web/notice", token=token).json()["owed"] is False
    versions = list(ConsentRecord.objects.values_list("notice__version", flat=True))
    assert versions == [1, 2]


def test_it_stores_nothing_when_the_visitor_declines(client, personas, gated):
    before = row_counts()
    response = api(client, "post", "/chat/acme-web/notice/decline")
    assert response.status_code == 200
    assert "Nothing was stored" in response.json()["message"]
    assert "chat can only start" in response.json()["message"]
    assert row_counts() == before
    assert not response.cookies


def test_it_answers_404_when_there_is_no_notice_to_accept(client, personas):
    response = api(client, "post", "/chat/acme-web/notice/accept", {"version": 1})
    assert response.status_code == 404
    assert response.json()["error"] == "no_notice"
    assert Visitor.objects.count() == 0


def test_it_answers_404_for_an_unknown_inbox(client, personas, gated):
    assert api(client, "get", "/chat/nope/notice").status_code == 404
    assert api(client, "post", "/chat/nope/notice/accept", {"version": 1}).status_code == 404


def test_it_does_not_accept_a_notice_of_another_company(client, personas, gated):
    response = api(client, "post", "/chat/bravo-web/notice/accept", {"version": 1})
    assert response.status_code == 404  # Bravo has no notice; Acme's is not Bravo's
    assert Visitor.objects.count() == 0


def test_it_treats_a_token_of_another_inbox_as_no_visitor(client, personas, gated):
    token = api(client, "post", "/chat/acme-web/notice/accept", {"version": 1}).json()["token"]
    state = api(client, "get", "/chat/bravo-web/notice", token=token).json()
    assert state["notice"] is None and state["owed"] is False


def test_it_rejects_a_malformed_acceptance_with_a_clear_error(client, personas, gated):
    response = api(client, "post", "/chat/acme-web/notice/accept", {"version": "latest"})
    assert response.status_code == 422
    assert "version" in response.json()["message"]
    assert Visitor.objects.count() == 0


def test_it_audits_the_acceptance_with_the_company_and_no_personal_data(client, personas, gated):
    from chatbot_site.lib.audit import audit_entries_for_company

    api(client, "post", "/chat/acme-web/notice/accept", {"version": 1})
    entry = audit_entries_for_company(personas.company_a.pk).get(
        additional_data__event="consent.notice_accept"
    )
    assert entry.additional_data["notice_version"] == 1
    assert entry.actor is None


def test_it_rate_limits_acceptances_per_inbox(client, personas, gated, settings):
    settings.HAFEN_RATE_INBOX_PER_MINUTE = 1
    assert api(client, "post", "/chat/acme-web/notice/accept", {"version": 1}).status_code == 201
    limited = api(client, "post", "/chat/acme-web/notice/accept", {"version": 1})
    assert limited.status_code == 429
    assert Visitor.objects.count() == 1


def test_it_shows_the_notice_in_the_inbox_language_when_translated(client, personas, gated):
    gated.translation_title = "Datenschutz"
    gated.translation_text = "Wir speichern wenig."
    gated.language = "en"
    gated.save()
    assert api(client, "get", "/chat/acme-web/notice").json()["notice"]["title"] == "Privacy"
    personas.inbox_a.language = "de"
    personas.inbox_a.save()
    notice = api(client, "get", "/chat/acme-web/notice").json()["notice"]
    assert (notice["language"], notice["title"]) == ("de", "Datenschutz")


def test_chatting_and_giving_contact_details_are_refused_alike_while_the_notice_is_owed(
    client, personas, gated
):
    # one check (consent.services.notice_require): same code, message and version
    token = api(client, "post", "/chat/acme-web/notice/accept", {"version": 1}).json()["token"]
    publish_notice(personas.company_a, version=2)
    chat = api(client, "post", "/chat/acme-web/conversations", {}, token=token)
    contact = api(
        client,
        "post",
        "/chat/acme-web/contact",
        {"email": "a@example.org", "purpose": "Call back.", "opt_in": True},
        token=token,
    )
    assert chat.status_code == contact.status_code == 403
    message = "Please read and accept the privacy notice before chatting."
    assert contact.json() == {"error": "notice_required", "message": message, "notice_version": 2}
    # the chat endpoints answer in the request's language (here the site's), the
    # consent endpoints in the inbox's: the same text, translated
    with translation.override(settings.LANGUAGE_CODE):
        assert chat.json() == {**contact.json(), "message": gettext(message)}
