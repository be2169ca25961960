"""The chat page and the demo page: CSP framing, no cookies, language, hooks."""

import json
import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def config_of(response) -> dict:
    match = re.search(
        r'<script id="hafen-chat-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match
    return json.loads(match.group(1))


def test_the_chat_page_may_be_framed_only_by_self_and_the_allowed_origins(client, personas):
    personas.inbox_a.allowed_origins = "https://www.acme.example\nhttps://shop.acme.example:8443/"
    personas.inbox_a.save()
    response = client.get("/chat/acme-web/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://www.acme.example https://shop.acme.example:8443" in csp
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "X-Frame-Options" not in response


def test_an_origin_that_is_not_an_origin_never_reaches_the_header(client, personas):
    personas.inbox_a.allowed_origins = "https://ok.example\nhttps://evil.example; script-src *"
    personas.inbox_a.save()
    csp = client.get("/chat/acme-web/")["Content-Security-Policy"]
    assert "evil" not in csp and "script-src *" not in csp
    assert "https://ok.example" in csp


def test_the_chat_page_sets_no_cookie(client, personas):
    response = client.get("/chat/acme-web/")
    assert not response.cookies
    assert "Set-Cookie" not in response
    assert "csrfmiddlewaretoken" not in response.content.decode()


def test_the_chat_page_view_never_touches_the_session(rf, personas):
    from django.contrib.sessions.backends.db import SessionStore

    from conversations.views.chat import chat_page

    request = rf.get("/chat/acme-web/")
    request.session = SessionStore()
    response = chat_page(request, public_key="acme-web")
    assert response.status_code == 200
    assert request.session.accessed is False


def test_the_chat_page_loads_nothing_from_another_host(client, personas):
    html = client.get("/chat/acme-web/").content.decode()
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), url


def test_the_chat_page_speaks_the_inbox_language(client, personas):
    response = client.get("/chat/acme-web/")
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.content.decode()
    personas.inbox_a.language = "de"
    personas.inbox_a.save()
    # A browser language the chat does not offer: the inbox's (issue 14 offers de and en).
    response = client.get("/chat/acme-web/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response["Content-Language"] == "de"
    assert '<html lang="de">' in response.content.decode()


def test_the_page_config_carries_the_token_policy_and_strings(client, personas):
    config = config_of(client.get("/chat/acme-web/"))
    assert config["apiBase"] == "/api/chat/acme-web"
    assert config["resume_enabled"] is False
    assert config["storageKey"] == "hafen:acme-web:token"
    assert config["transparency_url"] == "/privacy/acme/"
    assert config["strings"]["talkToPerson"]


def test_the_greeting_and_the_controls_are_labelled(client, personas):
    html = client.get("/chat/acme-web/").content.decode()
    assert "Hello from Acme!" in html
    assert 'aria-live="polite"' in html
    assert '<label for="chat-input">' in html
    assert 'href="/privacy/acme/"' in html


def test_html_in_the_greeting_is_escaped(client, personas):
    personas.inbox_a.greeting = "<b>hi</b></script><script>alert(1)</script>"
    personas.inbox_a.save()
    html = client.get("/chat/acme-web/").content.decode()
    assert "<script>alert(1)</script>" not in html
    config = config_of(client.get("/chat/acme-web/"))
    assert config["greeting"] == personas.inbox_a.greeting


def test_an_unknown_chat_is_a_404(client, db):
    assert client.get("/chat/nope/").status_code == 404


def test_the_demo_page_embeds_the_widget_with_one_line(client, db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    response = client.get("/demo/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Demo GmbH" in html
    assert (
        '<script src="http://testserver/static/hafen/widget.js" data-inbox="demo-website" async>'
        in html
    )
    assert not response.cookies


def test_the_demo_page_says_how_to_seed_when_the_demo_inbox_is_missing(client, db):
    response = client.get("/demo/")
    assert response.status_code == 200
    assert "seed_demo" in response.content.decode()


def test_the_widget_and_chat_script_never_insert_html():
    from pathlib import Path

    from django.contrib.staticfiles import finders

    for name in ("hafen/widget.js", "hafen/chat.js"):
        source = Path(finders.find(name)).read_text()
        assert "innerHTML" not in source and "insertAdjacentHTML" not in source, name
        assert "http://" not in source.replace("http://www.w3.org/2000/svg", ""), name
