"""Cache-Control: no-store on every response that can show personal data (issue 12).

NoStoreMiddleware puts it on every response of a view (chatbot_site/middleware.py);
the console part walks the URL conf (tests/test_console_urls.py), so a page
added later is covered too.
"""

from pathlib import Path

import pytest
from django.conf import settings

from retention.services.erasure import erasure_execute, erasure_request_create
from tests.conversations.chat_support import post, start
from tests.conversations.console_helpers import conversation_in
from tests.test_console_urls import console_urls  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def assert_no_store(response, where: str) -> None:
    assert "no-store" in response.get("Cache-Control", ""), (
        f"{where}: Cache-Control is {response.get('Cache-Control')!r} ({response.status_code})"
    )
    assert response.get("Pragma") == "no-cache", where


def test_every_console_url_is_no_store_for_get_and_post(client, personas, console_urls):  # noqa: F811
    client.force_login(personas.alice)
    for url, _has_params in console_urls:
        assert_no_store(client.get(url), f"GET {url}")
        assert_no_store(client.post(url), f"POST {url}")


def test_console_urls_are_no_store_for_anonymous_redirects_too(client, console_urls):  # noqa: F811
    for url, _has_params in console_urls:
        assert_no_store(client.get(url), f"GET {url} (anonymous)")


def test_account_pages_exports_receipts_and_the_audit_csv_are_no_store(client, personas):
    for url in ("/accounts/login/", "/accounts/logout/"):
        assert_no_store(client.get(url), url)
    client.force_login(personas.alice)
    conversation = conversation_in(personas.inbox_a)
    erasure = erasure_request_create(
        company=personas.company_a, visitor=conversation.visitor, actor=None
    )
    erasure_execute(request=erasure, actor=None)
    for url in (
        f"/console/erasure/{erasure.pk}/receipt.json",
        "/console/audit/export.csv",
        "/console/erasure/verify/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_store(response, url)


def test_api_answers_are_no_store_errors_included(client, personas):
    started = start(client, "acme-web")
    assert started.status_code == 201
    token = started.json()["token"]
    posted = post(client, "acme-web", token, "Hello")
    assert posted.status_code == 200
    assert_no_store(started, "POST conversations")
    assert_no_store(posted, "POST messages")
    assert_no_store(client.get("/api/chat/acme-web/config"), "GET config")
    assert_no_store(client.get("/api/chat/no-such-inbox/config"), "GET config of no inbox")
    assert_no_store(client.get("/api/no-such-endpoint/"), "unknown API path")


def test_public_pages_are_no_store_and_the_chat_page_keeps_its_own(client, personas):
    for url in ("/privacy/acme/", "/chat/acme-web/", "/demo/", "/no-such-page/"):
        assert_no_store(client.get(url), url)


def test_static_files_are_left_alone(client, settings):
    settings.WHITENOISE_USE_FINDERS = True  # read before the client's first request
    response = client.get("/static/console/console.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "Pragma" not in response


def test_every_csv_the_code_writes_goes_through_safe_row():
    """Exports safe to open: a module that writes CSV also neutralises its cells
    (chatbot_site/lib/csvsafe.py); a new CSV writer without it fails here."""
    root = Path(settings.BASE_DIR)
    writers = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith((".venv/", "tests/", "bench/")) or "/migrations/" in relative:
            continue
        source = path.read_text(encoding="utf-8")
        if "csv.writer(" in source or "csv.DictWriter(" in source:
            writers.append(relative)
            assert "safe_row(" in source, f"{relative} writes CSV without safe_row"
    assert "accounts/views.py" in writers  # the audit export: the scan sees it
