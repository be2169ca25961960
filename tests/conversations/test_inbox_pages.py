"""Admins' inbox pages: settings, FAQ entries, the snippet; tenancy and roles."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from conversations.models import FaqEntry, Inbox

pytestmark = pytest.mark.django_db


def settings_form(**overrides) -> dict:
    data = {
        "name": "Web",
        "greeting": "Hi there",
        "language": "en",
        "allowed_origins": "https://www.acme.example",
        "token_ttl_days": "14",
        "bot_miss_limit": "2",  # issue 14
    }
    data.update(overrides)
    return data


@pytest.fixture
def entry(personas):
    return FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="Opening hours",
        answer="9 to 5",
    )


def test_an_admin_sees_the_inboxes_of_their_company_only(login, personas):
    client = login(personas.alice)
    response = client.get(reverse("inboxes:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "acme-web" in html and "acme-shop" in html
    assert "bravo-web" not in html


def test_the_list_page_runs_a_fixed_number_of_queries(
    login, personas, django_assert_max_num_queries
):
    client = login(personas.alice)
    client.get(reverse("inboxes:list"))
    for i in range(5):
        Inbox.objects.create(company=personas.company_a, name=f"Extra {i}")
    with django_assert_max_num_queries(8):
        assert client.get(reverse("inboxes:list")).status_code == 200


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_operators_and_viewers_get_a_404_on_every_inbox_page(login, personas, entry, who):
    client = login(getattr(personas, who))
    inbox = personas.inbox_a
    for url in (
        reverse("inboxes:list"),
        reverse("inboxes:create"),
        reverse("inboxes:edit", args=[inbox.pk]),
        reverse("inboxes:faq_create", args=[inbox.pk]),
        reverse("inboxes:faq_edit", args=[inbox.pk, entry.pk]),
        reverse("inboxes:faq_delete", args=[inbox.pk, entry.pk]),
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"name": "x"}).status_code == 404, url
    assert FaqEntry.objects.filter(pk=entry.pk).exists()


def test_anonymous_users_are_sent_to_the_login_page(client, personas):
    response = client.get(reverse("inboxes:list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_companys_admin_gets_a_404_for_inbox_and_faq_pages(login, personas, entry):
    client = login(personas.dave)
    inbox = personas.inbox_a
    for url in (
        reverse("inboxes:edit", args=[inbox.pk]),
        reverse("inboxes:faq_create", args=[inbox.pk]),
        reverse("inboxes:faq_edit", args=[inbox.pk, entry.pk]),
        reverse("inboxes:faq_delete", args=[inbox.pk, entry.pk]),
    ):
        assert client.get(url).status_code == 404, url
    client.post(reverse("inboxes:faq_delete", args=[inbox.pk, entry.pk]))
    client.post(reverse("inboxes:edit", args=[inbox.pk]), settings_form(name="Hijacked"))
    assert FaqEntry.objects.filter(pk=entry.pk).exists()
    inbox.refresh_from_db()
    assert inbox.name == "Web"


def test_a_faq_entry_of_another_inbox_is_a_404_under_this_one(login, personas):
    other = FaqEntry.objects.create(
        company=personas.company_a, inbox=personas.inbox_a2, questions="q", answer="a"
    )
    client = login(personas.alice)
    url = reverse("inboxes:faq_edit", args=[personas.inbox_a.pk, other.pk])
    assert client.get(url).status_code == 404


def test_the_edit_page_shows_the_one_line_widget_snippet(login, personas):
    client = login(personas.alice)
    html = client.get(reverse("inboxes:edit", args=[personas.inbox_a.pk])).content.decode()
    assert (
        "&lt;script src=&quot;http://testserver/static/hafen/widget.js&quot; "
        "data-inbox=&quot;acme-web&quot; async&gt;&lt;/script&gt;"
    ) in html


def test_the_snippet_uses_the_public_url_when_configured(login, personas, settings):
    settings.HAFEN_PUBLIC_URL = "https://chat.example.com"
    client = login(personas.alice)
    html = client.get(reverse("inboxes:edit", args=[personas.inbox_a.pk])).content.decode()
    assert "https://chat.example.com/static/hafen/widget.js" in html


def test_an_admin_saves_the_settings_and_the_change_is_audited(login, personas):
    client = login(personas.alice)
    url = reverse("inboxes:edit", args=[personas.inbox_a.pk])
    response = client.post(
        url,
        settings_form(
            allowed_origins="https://www.acme.example/\nhttp://localhost:8000",
            resume_enabled="on",
            notice_required="on",
        ),
    )
    assert response.status_code == 302
    inbox = Inbox.objects.get(pk=personas.inbox_a.pk)
    assert inbox.allowed_origins == "https://www.acme.example\nhttp://localhost:8000"
    assert inbox.resume_enabled and inbox.notice_required
    assert inbox.token_ttl_days == 14
    entry = LogEntry.objects.get_for_object(inbox).filter(action=LogEntry.Action.UPDATE).first()
    assert entry.actor == personas.alice
    assert entry.additional_data["company_id"] == personas.company_a.pk


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("allowed_origins", "https://www.acme.example/path"),
        ("allowed_origins", "javascript:alert(1)"),
        ("allowed_origins", "https://a.example; script-src *"),
        ("token_ttl_days", "0"),
        ("token_ttl_days", "1000"),
        ("name", ""),
    ],
)
def test_invalid_settings_show_a_form_error_and_change_nothing(login, personas, field, value):
    client = login(personas.alice)
    url = reverse("inboxes:edit", args=[personas.inbox_a.pk])
    response = client.post(url, settings_form(**{field: value}))
    assert response.status_code == 400  # refused: the form again, as typed
    assert response.context["form"].errors[field]
    inbox = Inbox.objects.get(pk=personas.inbox_a.pk)
    assert inbox.allowed_origins == "" and inbox.token_ttl_days == 30


def test_an_admin_creates_an_inbox_with_a_random_public_key(login, personas):
    client = login(personas.alice)
    response = client.post(reverse("inboxes:create"), settings_form(name="Support"))
    inbox = Inbox.objects.get(name="Support")
    assert response.status_code == 302
    assert response["Location"] == reverse("inboxes:edit", args=[inbox.pk])
    assert inbox.company == personas.company_a
    assert len(inbox.public_key) >= 16


def test_an_admin_adds_edits_and_deletes_a_faq_entry(login, personas):
    client = login(personas.alice)
    inbox = personas.inbox_a
    response = client.post(
        reverse("inboxes:faq_create", args=[inbox.pk]),
        {"questions": "  Opening hours \n\n When   open? ", "answer": " 9 to 5 ", "position": 0},
    )
    assert response.status_code == 302
    entry = FaqEntry.objects.get()
    assert entry.questions == "Opening hours\nWhen open?"
    assert entry.answer == "9 to 5"
    assert entry.company == personas.company_a

    client.post(
        reverse("inboxes:faq_edit", args=[inbox.pk, entry.pk]),
        {"questions": "Hours", "answer": "10 to 4", "asks_for_contact": "on", "position": 1},
    )
    entry.refresh_from_db()
    assert (entry.answer, entry.asks_for_contact) == ("10 to 4", True)

    html = client.get(reverse("inboxes:edit", args=[inbox.pk])).content.decode()
    assert "10 to 4" in html

    assert client.get(reverse("inboxes:faq_delete", args=[inbox.pk, entry.pk])).status_code == 200
    client.post(reverse("inboxes:faq_delete", args=[inbox.pk, entry.pk]))
    assert not FaqEntry.objects.exists()


def test_a_faq_entry_needs_a_question_and_an_answer(login, personas):
    client = login(personas.alice)
    response = client.post(
        reverse("inboxes:faq_create", args=[personas.inbox_a.pk]),
        {"questions": " \n ", "answer": "  ", "position": 0},
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"questions", "answer"}
    assert not FaqEntry.objects.exists()


def test_the_bot_answers_with_an_entry_the_admin_just_added(login, personas, client):
    from tests.conversations.chat_support import post, start

    admin = login(personas.alice)
    admin.post(
        reverse("inboxes:faq_create", args=[personas.inbox_a.pk]),
        {"questions": "Do you ship to Austria?", "answer": "Yes, in 3 days.", "position": 0},
    )
    admin.logout()
    token = start(client, "acme-web").json()["token"]
    reply = post(client, "acme-web", token, "do you ship to austria").json()["replies"][0]
    assert reply["body"] == "Yes, in 3 days."
