"""Anonymous by default: no address, user agent or referrer in any table or log."""

import logging

import pytest

from tests.canary import raw_table_text
from tests.conversations.chat_support import (
    start,
)

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.77"
PROXY = "198.51.100.23"
AGENT = "CanaryBrowser/9.9 (Zq7x; rv:42)"
REFERER = "https://referer-canary.example/private/page?id=zq7x"
HEADERS = {
    "REMOTE_ADDR": ADDRESS,
    "HTTP_X_FORWARDED_FOR": f"{ADDRESS}, {PROXY}",
    "HTTP_X_REAL_IP": ADDRESS,
    "HTTP_USER_AGENT": AGENT,
    "HTTP_REFERER": REFERER,
}


def test_chat_requests_leave_no_address_agent_or_referrer_anywhere(client, personas, caplog):
    caplog.set_level(logging.DEBUG)
    client.get("/chat/acme-web/", **HEADERS)
    client.get("/api/chat/acme-web/config", **HEADERS)
    token = start(client, "acme-web", **{}).json()["token"]
    response = client.post(
        "/api/chat/acme-web/messages",
        data={"text": "hello"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **HEADERS,
    )
    assert response.status_code == 200
    client.get("/api/chat/acme-web/messages", HTTP_AUTHORIZATION=f"Bearer {token}", **HEADERS)
    client.post("/api/chat/acme-web/handover", HTTP_AUTHORIZATION=f"Bearer {token}", **HEADERS)
    client.post(
        "/api/chat/acme-web/conversations",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **HEADERS,
    )
    # errors, too
    client.post(
        "/api/chat/acme-web/messages", data=b"\xff", content_type="application/json", **HEADERS
    )
    client.get("/api/chat/nope/config", **HEADERS)

    dump = raw_table_text()
    for value in (ADDRESS, PROXY, "CanaryBrowser", "referer-canary", "zq7x", "Zq7x"):
        assert value not in dump, value
        assert value not in caplog.text, value
