"""403, 404 and 500 pages: styled, in the active language, in the console layout for
signed-in staff and neutral for visitors; the 500 page needs no database (issue 12)."""

import pytest
from django.db import connection
from django.test import RequestFactory

from chatbot_site.errors import handler500
from tests.conversations.console_helpers import conversation_in

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
DE = {"HTTP_ACCEPT_LANGUAGE": "de"}
CONSOLE_MARK = 'class="mainnav"'  # the console navigation of templates/base.html


@pytest.fixture(autouse=True)
def production_errors(settings):
    """DEBUG=False: Django's technical pages are replaced by the handlers."""
    settings.DEBUG = False


class DatabaseBlocked(RuntimeError):
    """Raised by every query while blocked (not a "database unavailable" error: a plain 500)."""


def _refuse(execute, sql, params, many, context):
    raise DatabaseBlocked("no query may run here")


def page(response) -> str:
    return response.content.decode()


def pick_language(client, headers) -> None:
    """The language a person chose (cookie): wins over the company's, as in the console."""
    client.cookies["django_language"] = headers["HTTP_ACCEPT_LANGUAGE"]


@pytest.mark.parametrize(
    ("headers", "lang", "title"), [(EN, "en", "Page not found"), (DE, "de", "Seite nicht gefunden")]
)
def test_a_missing_console_page_is_shown_inside_the_console_to_staff(
    client, personas, headers, lang, title
):
    client.force_login(personas.alice)
    pick_language(client, headers)
    response = client.get("/console/no-such-page/", **headers)
    assert response.status_code == 404
    body = page(response)
    assert f'<html lang="{lang}">' in body and title in body
    assert CONSOLE_MARK in body and "Acme" in body  # her company, her navigation
    assert 'class="error-code">404<' in body
    assert 'href="/static/console/console.css"' in body


def test_staff_see_the_error_in_their_companys_language_unless_they_picked_one(client, personas):
    personas.company_a.language = "de"
    personas.company_a.save()
    client.force_login(personas.alice)
    response = client.get("/console/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="de">' in page(response) and "Seite nicht gefunden" in page(response)


@pytest.mark.parametrize(
    ("headers", "lang", "title"), [(EN, "en", "Page not found"), (DE, "de", "Seite nicht gefunden")]
)
def test_a_missing_page_is_neutral_for_visitors(client, personas, headers, lang, title):
    for url in ("/console/no-such-page/", "/privacy/no-such-company/", "/chat/no-such-key/"):
        response = client.get(url, **headers)
        assert response.status_code == 404, url
        body = page(response)
        assert f'<html lang="{lang}">' in body and title in body, url
        assert CONSOLE_MARK not in body and "Acme" not in body, url
        assert 'class="error-code">404<' in body, url


def test_another_companys_object_is_the_same_404_page_in_the_console(client, personas):
    client.force_login(personas.dave)
    response = client.get(f"/console/inboxes/{personas.inbox_a.pk}/", **EN)
    assert response.status_code == 404
    body = page(response)
    assert "Page not found" in body and CONSOLE_MARK in body and "Bravo" in body
    assert "Acme" not in body


@pytest.mark.parametrize(("headers", "title"), [(EN, "Forbidden"), (DE, "Verboten")])
def test_a_refused_page_is_a_403_in_the_console_layout(client, personas, headers, title):
    conversation = conversation_in(personas.inbox_a, status="waiting")
    client.force_login(personas.charlie)  # a viewer: he sees the inbox, he may not reply
    pick_language(client, headers)
    response = client.post(
        f"/console/conversations/{conversation.pk}/reply/", {"body": "hi"}, **headers
    )
    assert response.status_code == 403
    body = page(response)
    assert title in body and CONSOLE_MARK in body
    assert 'class="error-code">403<' in body


def test_the_500_page_renders_with_the_database_blocked():
    request = RequestFactory().get("/console/", **DE)
    with connection.execute_wrapper(_refuse):
        response = handler500(request)
    assert response.status_code == 500
    body = page(response)
    assert 'class="error-code">500<' in body and CONSOLE_MARK not in body


@pytest.mark.parametrize(
    ("headers", "lang", "title"),
    [(EN, "en", "Server error (500)"), (DE, "de", "Serverfehler (500)")],
)
def test_a_failing_page_answers_the_500_page_without_touching_the_database(
    client, personas, headers, lang, title
):
    client.force_login(personas.alice)
    pick_language(client, headers)
    client.raise_request_exception = False
    with connection.execute_wrapper(
        _refuse
    ):  # the page fails, and so would any query of the 500 page
        response = client.get("/console/", **headers)
    assert response.status_code == 500
    body = page(response)
    assert f'<html lang="{lang}">' in body and title in body
    assert "Traceback" not in body and "DatabaseBlocked" not in body
    assert "Content-Security-Policy" in response and "no-store" in response["Cache-Control"]


def test_api_errors_stay_json(client, personas):
    missing = client.get("/api/no-such-endpoint/")
    assert missing.status_code == 404 and missing.json()["error"]
    no_inbox = client.get("/api/chat/no-such-inbox/config")
    assert no_inbox.status_code == 404 and no_inbox["Content-Type"].startswith("application/json")
