"""Faults answered cleanly: body caps (413), the database unavailable (503 with
Retry-After), and every error under /api/ as JSON {"error", "message"}; never a
traceback page, never an exception message in the log.
"""

import logging

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db

CANARY = "Canary-Kowalski-4711"


@pytest.fixture
def anon():
    """A client that answers with the response Django gives, instead of re-raising."""
    return Client(raise_request_exception=False)


def token_for(client) -> str:
    response = client.post("/api/chat/acme-web/conversations", content_type="application/json")
    assert response.status_code == 201
    return response.json()["token"]


def is_json_error(response, status: int, code: str) -> bool:
    body = response.json()
    return (
        response.status_code == status
        and response["Content-Type"].startswith("application/json")
        and body["error"] == code
        and isinstance(body["message"], str)
        and body["message"]
    )


# --- body caps ---------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("size", [100 * 1024, 3 * 1024 * 1024])
def test_a_large_body_to_the_chat_api_answers_json_413(anon, personas, settings, debug, size):
    settings.DEBUG = debug
    token = token_for(anon)
    response = anon.post(
        "/api/chat/acme-web/messages",
        data='{"text": "' + "x" * size + '"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert is_json_error(response, 413, "payload_too_large")
    assert b"Traceback" not in response.content


def test_a_body_just_under_the_cap_reaches_the_api(client, personas):
    token = token_for(client)
    response = client.post(
        "/api/chat/acme-web/messages",
        data='{"text": "' + "x" * (60 * 1024) + '"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400  # the message rule (4000 characters), not the cap


@pytest.mark.parametrize("debug", [False, True])
def test_a_3_mb_body_to_a_page_answers_a_plain_413(anon, personas, login, settings, debug):
    settings.DEBUG = debug
    response = anon.post("/accounts/login/", {"username": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    assert b"Traceback" not in response.content and b"RequestDataTooBig" not in response.content


# --- JSON errors under /api/ --------------------------------------------------------


def test_an_unknown_api_address_and_a_wrong_method_answer_json(anon, personas):
    assert is_json_error(anon.get("/api/chat/acme-web/no-such-thing"), 404, "not_found")
    assert is_json_error(anon.get("/api/nowhere"), 404, "not_found")
    wrong = anon.delete("/api/chat/acme-web/config")
    assert is_json_error(wrong, 405, "method_not_allowed")
    assert "GET" in wrong["Allow"]


def test_an_unexpected_error_in_the_api_is_json_500_and_its_message_is_not_logged(
    anon, personas, monkeypatch, caplog, settings
):
    import conversations.api

    def broken(public_key):
        raise RuntimeError(f"boom with {CANARY}")

    monkeypatch.setattr(conversations.api, "inbox_or_404", broken)
    caplog.set_level(logging.DEBUG)
    for debug in (False, True):
        settings.DEBUG = debug
        response = anon.get("/api/chat/acme-web/config")
        assert is_json_error(response, 500, "server_error")
        assert CANARY.encode() not in response.content and b"Traceback" not in response.content
    assert "RuntimeError" in caplog.text and "get_config" in caplog.text  # type and stack
    assert CANARY not in caplog.text


# --- the database unavailable -------------------------------------------------------


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_database_error_in_the_api_is_a_json_503_with_retry_after(
    anon, personas, monkeypatch, error
):
    import conversations.api

    def down(public_key):
        raise error("connection refused")

    monkeypatch.setattr(conversations.api, "inbox_or_404", down)
    response = anon.get("/api/chat/acme-web/config")
    assert is_json_error(response, 503, "unavailable")
    assert int(response["Retry-After"]) > 0


def test_a_database_error_on_a_page_is_a_plain_503(anon, personas, monkeypatch, settings):
    import conversations.views.chat

    def down(public_key):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(conversations.views.chat, "inbox_get_by_public_key", down)
    for debug in (False, True):
        settings.DEBUG = debug
        response = anon.get("/chat/acme-web/")
        assert response.status_code == 503 and int(response["Retry-After"]) > 0
        assert response["Content-Type"].startswith("text/html")
        assert b"Traceback" not in response.content and b"shutting down" not in response.content


def test_a_database_error_in_a_middleware_is_a_503_too(anon, personas, monkeypatch, settings):
    """The session of a signed-in user is read in middleware, outside any view."""
    from accounts.middleware import CurrentCompanyMiddleware

    def down(self, request):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(CurrentCompanyMiddleware, "__call__", down)
    settings.DEBUG = False
    page = anon.get("/accounts/login/")
    assert page.status_code == 503 and page["Retry-After"]
    assert page["Content-Type"].startswith("text/html")
    api = anon.get("/api/chat/acme-web/config")
    assert is_json_error(api, 503, "unavailable") and api["Retry-After"]


@pytest.mark.parametrize("path", ["/accounts/login/", "/demo/", "/api/openapi.json", "/console/"])
def test_trace_is_refused_on_every_kind_of_page(client, path):
    response = client.generic("TRACE", path)
    assert response.status_code == 405
    assert "TRACE" not in response["Allow"]
    if path.startswith("/api/"):
        assert response.json()["error"]
