"""Bad input to the chat API: a 4xx JSON error with a message, and nothing stored."""

import pytest

from tests.conversations.chat_support import (
    counts,
    post,
    start,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(client, personas):
    return start(client, "acme-web").json()["token"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\t \n",
        "x" * 4001,
        "nul \x00 byte",
        "bell \x07",
        "escape \x1b[31m red",
        "delete \x7f",
        "c1 \x85 control",
        "lone surrogate \ud800",
    ],
    ids=[
        "empty",
        "spaces",
        "whitespace",
        "too-long",
        "nul",
        "bell",
        "ansi-escape",
        "del",
        "c1-control",
        "surrogate",
    ],
)
def test_bad_text_is_a_400_and_stores_nothing(client, token, text):
    before = counts()
    response = post(client, "acme-web", token, text)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_text"
    assert body["message"]
    assert counts() == before


def test_4000_characters_with_newlines_and_tabs_are_fine(client, token):
    text = ("line\twith tab\n" * 400)[:4000]
    assert len(text.strip()) <= 4000
    response = post(client, "acme-web", token, text)
    assert response.status_code == 200
    assert response.json()["message"]["body"] == text.strip()


def test_invalid_utf8_body_is_a_400_json_error_not_a_500(client, token):
    before = counts()
    for raw in (b"\xff\xfe", b'{"text": "caf\xe9"}', b"\xc3\x28"):
        response = client.post(
            "/api/chat/acme-web/messages",
            data=raw,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 400, raw
        assert response.json()["message"]
    assert counts() == before


def test_a_body_that_is_not_json_or_lacks_text_is_refused(client, token):
    before = counts()
    for raw, status in ((b"not json", 400), (b"{}", 422), (b'{"text": 5}', 422), (b"[]", 422)):
        response = client.post(
            "/api/chat/acme-web/messages",
            data=raw,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == status, raw
        assert response.json()["message"]
    assert counts() == before


@pytest.mark.parametrize(
    "header",
    [None, "Bearer ", "Bearer wrong-token", "Basic abc", "bearer"],
    ids=["missing", "empty", "wrong", "other-scheme", "no-token"],
)
def test_missing_or_wrong_tokens_are_a_401(client, token, header):
    before = counts()
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    for response in (
        client.post(
            "/api/chat/acme-web/messages",
            data={"text": "hi"},
            content_type="application/json",
            **extra,
        ),
        client.get("/api/chat/acme-web/messages", **extra),
        client.post("/api/chat/acme-web/handover", **extra),
    ):
        assert response.status_code == 401
        assert response.json()["error"] in {"token_missing", "token_invalid"}
    assert counts() == before


def test_an_expired_token_is_a_401(client, token):
    from django.utils import timezone

    from conversations.models import Visitor

    Visitor.objects.update(token_expires_at=timezone.now())
    before = counts()
    response = post(client, "acme-web", token, "hello")
    assert response.status_code == 401
    assert response.json()["error"] == "token_invalid"
    assert counts() == before


def test_html_is_stored_and_returned_as_the_text_it_is(client, token):
    text = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = post(client, "acme-web", token, text)
    assert response.status_code == 200
    assert response.json()["message"]["body"] == text
