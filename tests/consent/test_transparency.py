"""The public transparency page: live rights, retention, notices, no personal data."""

import pytest
from guardian.shortcuts import assign_perm, remove_perm

from tests.consent.helpers import publish_notice
from tests.factories import VisitorFactory

pytestmark = pytest.mark.django_db


def page(client, slug="acme", **params):
    return client.get(f"/privacy/{slug}/", params)


def test_it_explains_which_team_has_which_access(client, personas):
    body = page(client, lang="en").content.decode()
    assert (
        "Team Support:</strong> reads and answers conversations, sees personal data only masked"
        in body
    )
    assert "Team Quality:</strong> reads conversations, sees personal data only masked" in body
    assert "Administrators" in body and "full access" in body
    assert "No team has access to this chat." in body  # inbox "Shop"


def test_it_reflects_a_rights_change_at_once(client, personas):
    assign_perm("conversations.view_personal_data", personas.support.group, personas.inbox_a)
    body = page(client, lang="en").content.decode()
    assert "Team Support:</strong> reads and answers conversations, sees contact details" in body
    remove_perm("conversations.view_conversations", personas.quality.group, personas.inbox_a)
    assert "Team Quality" not in page(client, lang="en").content.decode()


def test_it_leaves_out_rights_without_seeing_conversations(client, personas):
    assign_perm("conversations.reply_conversations", personas.quality.group, personas.inbox_a2)
    body = page(client, lang="en").content.decode()
    shop = body[body.index("Chat “Shop”") :]
    assert "Team Quality" not in shop[: shop.index("Administrators")]


def test_it_shows_no_operator_names_and_no_personal_data(client, personas):
    personas.alice.email = "alice.admin@acme.example"
    personas.alice.first_name = "Alicia"
    personas.alice.save()
    VisitorFactory(inbox=personas.inbox_a, name="Vera Visitor", email="vera@example.org")
    body = page(client, lang="en").content.decode()
    for secret in ("alice", "bob", "charlie", "dave", "Alicia", "Vera", "vera@example.org"):
        assert secret not in body


def test_it_shows_default_retention_periods_without_a_policy(client, personas):
    body = page(client, lang="en").content.decode()
    assert "Conversations are deleted 180 days after the last message." in body
    assert "standard periods" in body


def test_it_shows_the_companys_retention_policy(client, personas):
    from retention.models import RetentionPolicy

    RetentionPolicy.objects.create(
        company=personas.company_a, conversation_days=90, personal_data_days=7, audit_days=400
    )
    body = page(client, lang="en").content.decode()
    assert "Conversations are deleted 90 days after the last message." in body
    assert "removed after 7 days" in body and "kept for 400 days" in body
    assert "standard periods" not in body


def test_it_lists_the_current_notice_and_its_history_each_readable(client, personas):
    publish_notice(personas.company_a, title="First words", text="Old text.")
    publish_notice(personas.company_a, title="Better words", text="New text.")
    body = page(client, lang="en").content.decode()
    assert "The current privacy notice is version 2" in body
    assert "First words" in body and "Better words" in body
    old = client.get("/privacy/acme/notice/1/")
    assert old.status_code == 200 and "Old text." in old.content.decode()


def test_it_never_shows_a_draft(client, personas):
    from consent.models import PrivacyNotice

    PrivacyNotice.objects.create(
        company=personas.company_a, version=1, title="Secret", text="Draft."
    )
    assert "Secret" not in page(client, lang="en").content.decode()
    assert client.get("/privacy/acme/notice/1/").status_code == 404


def test_it_shows_data_location_and_privacy_contact(client, personas):
    personas.company_a.data_location = "EU (Frankfurt)"
    personas.company_a.privacy_contact = "dpo@acme.example"
    personas.company_a.save()
    body = page(client).content.decode()
    assert "EU (Frankfurt)" in body and "dpo@acme.example" in body


def test_it_speaks_the_requested_language(client, personas):
    assert 'lang="de"' in page(client, lang="de").content.decode()
    assert 'lang="en"' in page(client, lang="en").content.decode()
    assert 'lang="en"' in page(client, lang="xx").content.decode()  # Acme's language


def test_it_answers_404_for_an_unknown_company(client, personas):
    assert page(client, slug="nope").status_code == 404
    assert client.get("/privacy/bravo/notice/1/").status_code == 404


def test_it_shows_only_the_companys_own_teams(client, personas):
    body = page(client, slug="bravo", lang="en").content.decode()
    assert "Support" not in body and "Quality" not in body


def test_it_shows_each_notice_in_the_readers_language(client, personas):
    notice = publish_notice(personas.company_a, title="Datenschutz", text="Deutsch.")
    notice.translation_title, notice.translation_text = "Privacy", "English."
    notice.save()
    assert "English." in client.get("/privacy/acme/notice/1/?lang=en").content.decode()
    assert "Deutsch." in client.get("/privacy/acme/notice/1/?lang=de").content.decode()
    assert "Privacy" in page(client, lang="en").content.decode()
