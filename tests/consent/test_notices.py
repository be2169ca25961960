"""Privacy notices: drafts, immutable published versions, consecutive versions, admin pages."""

import pytest
from auditlog.models import LogEntry

from chatbot_site.lib.audit import audit_entries_for_company
from consent.models import PrivacyNotice
from consent.services import (
    ConsentError,
    inbox_set_notice_required,
    notice_create_draft,
    notice_new_version_from,
    notice_publish,
    notice_update_draft,
)

pytestmark = pytest.mark.django_db


def draft(personas, **kwargs):
    return notice_create_draft(
        company=personas.company_a,
        title=kwargs.get("title", "Datenschutz"),
        text=kwargs.get("text", "Wir speichern wenig."),
        actor=personas.alice,
    )


def test_it_numbers_versions_consecutively_per_company(personas):
    first = draft(personas)
    notice_publish(notice=first, actor=personas.alice)
    second = notice_new_version_from(notice=first, actor=personas.alice)
    other = notice_create_draft(
        company=personas.company_b, title="Privacy", text="Little.", actor=personas.dave
    )
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert (second.title, second.text, second.published_at) == (first.title, first.text, None)


def test_it_edits_a_draft(personas):
    notice = draft(personas)
    notice_update_draft(notice=notice, title="Neu", text="Anders.", actor=personas.alice)
    notice.refresh_from_db()
    assert (notice.title, notice.text) == ("Neu", "Anders.")


def test_it_refuses_to_change_a_published_notice(personas):
    notice = notice_publish(notice=draft(personas), actor=personas.alice)
    with pytest.raises(ConsentError) as caught:
        notice_update_draft(notice=notice, title="Neu", text="Anders.", actor=personas.alice)
    assert caught.value.code == "notice_published"
    notice.refresh_from_db()
    assert (notice.title, notice.text) == ("Datenschutz", "Wir speichern wenig.")


def test_it_refuses_to_publish_twice(personas):
    notice = notice_publish(notice=draft(personas), actor=personas.alice)
    published_at = notice.published_at
    with pytest.raises(ConsentError):
        notice_publish(notice=notice, actor=personas.alice)
    notice.refresh_from_db()
    assert notice.published_at == published_at


def test_it_keeps_one_draft_at_a_time(personas):
    draft(personas)
    with pytest.raises(ConsentError) as caught:
        draft(personas)
    assert caught.value.code == "draft_exists"
    assert PrivacyNotice.objects.count() == 1


@pytest.mark.parametrize(
    ("title", "text", "code"),
    [("", "x", "title_missing"), ("x", "  ", "text_missing"), ("x" * 201, "x", "title_too_long")],
)
def test_it_rejects_an_incomplete_notice(personas, title, text, code):
    with pytest.raises(ConsentError) as caught:
        draft(personas, title=title, text=text)
    assert caught.value.code == code
    assert not PrivacyNotice.objects.exists()


def test_it_audits_the_publication_once_with_the_version(personas):
    notice = draft(personas)
    notice_publish(notice=notice, actor=personas.alice)
    entries = audit_entries_for_company(personas.company_a.pk).filter(
        content_type__model="privacynotice", action=LogEntry.Action.UPDATE
    )
    assert [e.additional_data["event"] for e in entries] == ["notice.publish"]
    assert entries[0].additional_data["version"] == 1
    assert entries[0].actor == personas.alice
    assert "Wir speichern" not in str(list(LogEntry.objects.values()))


def test_it_audits_the_inbox_switch(personas):
    inbox_set_notice_required(inbox=personas.inbox_a, required=True, actor=personas.alice)
    personas.inbox_a.refresh_from_db()
    assert personas.inbox_a.notice_required
    entry = audit_entries_for_company(personas.company_a.pk).get(
        additional_data__event="inbox.notice_required"
    )
    assert entry.additional_data["notice_required"] is True
    inbox_set_notice_required(inbox=personas.inbox_a, required=True, actor=personas.alice)
    assert (
        audit_entries_for_company(personas.company_a.pk)
        .filter(additional_data__event="inbox.notice_required")
        .count()
        == 1
    )


# --- admin pages ---------------------------------------------------------------


def test_an_admin_writes_previews_and_publishes_a_notice(login, personas):
    client = login(personas.alice)
    page = client.get("/console/notices/")
    assert page.status_code == 200 and b"No notice yet" in page.content
    response = client.post(
        "/console/notices/new/",
        {"language": "de", "title": "Datenschutz", "text": "Absatz eins.\n\nAbsatz zwei."},
    )
    assert response.status_code == 302 and response["Location"] == "/console/notices/1/"
    preview = client.get("/console/notices/1/preview/")
    assert (
        b"<p>Absatz eins.</p>" in preview.content
        and b"Accept and start the chat" in preview.content
    )
    response = client.post("/console/notices/1/publish/")
    assert response.status_code == 302
    notice = PrivacyNotice.objects.get()
    assert notice.is_published
    page = client.get("/console/notices/")
    assert b"Current" in page.content and b"New version from this" in page.content


def test_the_edit_page_of_a_published_notice_is_read_only(login, personas):
    notice = notice_publish(notice=draft(personas), actor=personas.alice)
    client = login(personas.alice)
    page = client.get("/console/notices/1/")
    assert b"cannot be changed" in page.content
    assert b'name="title"' not in page.content
    response = client.post("/console/notices/1/", {"title": "Hacked", "text": "Changed"})
    assert response.status_code == 200
    notice.refresh_from_db()
    assert notice.title == "Datenschutz"


def test_an_admin_starts_a_new_version_from_the_published_one(login, personas):
    notice_publish(notice=draft(personas), actor=personas.alice)
    client = login(personas.alice)
    response = client.post("/console/notices/1/new-version/")
    assert response["Location"] == "/console/notices/2/"
    client.post("/console/notices/2/", {"language": "de", "title": "Datenschutz", "text": "Neu."})
    assert PrivacyNotice.objects.get(version=2).text == "Neu."
    assert PrivacyNotice.objects.get(version=1).text == "Wir speichern wenig."


def test_the_form_shows_a_clear_error_for_an_empty_text(login, personas):
    client = login(personas.alice)
    response = client.post("/console/notices/new/", {"language": "en", "title": "T", "text": ""})
    assert response.status_code == 400
    assert b"errorlist" in response.content
    assert not PrivacyNotice.objects.exists()


def test_an_admin_switches_acceptance_per_inbox_from_the_notices_page(login, personas):
    client = login(personas.alice)
    response = client.post("/console/notices/inboxes/", {"required": [personas.inbox_a2.pk]})
    assert response.status_code == 302
    personas.inbox_a.refresh_from_db()
    personas.inbox_a2.refresh_from_db()
    assert (personas.inbox_a.notice_required, personas.inbox_a2.notice_required) == (False, True)
    client.post("/console/notices/inboxes/", {})
    personas.inbox_a2.refresh_from_db()
    assert personas.inbox_a2.notice_required is False


def test_the_switch_ignores_inboxes_of_another_company(login, personas):
    client = login(personas.alice)
    client.post("/console/notices/inboxes/", {"required": [personas.inbox_b.pk]})
    personas.inbox_b.refresh_from_db()
    assert personas.inbox_b.notice_required is False


@pytest.mark.parametrize("user", ["bob", "charlie"])
def test_operators_and_viewers_do_not_get_the_notice_pages(login, personas, user):
    client = login(getattr(personas, user))
    assert client.get("/console/notices/").status_code == 404
    assert client.post("/console/notices/new/", {"title": "T", "text": "x"}).status_code == 404
    assert not PrivacyNotice.objects.exists()


def test_another_companys_admin_gets_404_for_our_notice(login, personas):
    draft(personas)
    client = login(personas.dave)
    assert client.get("/console/notices/1/").status_code == 404
    assert client.get("/console/notices/1/preview/").status_code == 404
    assert client.post("/console/notices/1/publish/").status_code == 404
    assert not PrivacyNotice.objects.get().is_published


def test_anonymous_users_are_sent_to_log_in(client, personas):
    response = client.get("/console/notices/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_notice_carries_an_optional_translation(personas):
    notice = notice_create_draft(
        company=personas.company_a,
        language="de",
        title="Datenschutz",
        text="Wir speichern wenig.",
        translation_title="Privacy",
        translation_text="We store little.",
        actor=personas.alice,
    )
    assert notice.in_language("en") == ("en", "Privacy", "We store little.")
    assert notice.in_language("de") == ("de", "Datenschutz", "Wir speichern wenig.")
    copy = notice_new_version_from(
        notice=notice_publish(notice=notice, actor=personas.alice), actor=personas.alice
    )
    assert (copy.translation_title, copy.translation_text) == ("Privacy", "We store little.")


def test_a_notice_without_translation_is_shown_in_its_own_language(personas):
    notice = draft(personas)
    assert notice.language == "en"  # Acme's language is the default
    assert notice.in_language("de") == ("en", "Datenschutz", "Wir speichern wenig.")


def test_it_refuses_half_a_translation(personas):
    with pytest.raises(ConsentError) as caught:
        notice_create_draft(
            company=personas.company_a,
            title="T",
            text="x",
            translation_title="Only a title",
            actor=personas.alice,
        )
    assert caught.value.code == "translation_incomplete"
    assert not PrivacyNotice.objects.exists()


def test_an_admin_writes_both_languages_and_previews_both(login, personas):
    client = login(personas.alice)
    client.post(
        "/console/notices/new/",
        {
            "language": "de",
            "title": "Datenschutz",
            "text": "Deutscher Text.",
            "translation_title": "Privacy",
            "translation_text": "English text.",
        },
    )
    notice = PrivacyNotice.objects.get()
    assert (notice.language, notice.translation_text) == ("de", "English text.")
    preview = client.get("/console/notices/1/preview/").content.decode()
    assert "Deutscher Text." in preview and "English text." in preview
    edit = client.get("/console/notices/1/").content.decode()
    assert '<option value="de" selected>' in edit and "English text." in edit
