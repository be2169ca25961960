"""Helpers for the visitor chat tests (not a test module)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from conversations.models import Conversation, Message, Visitor


@pytest.fixture(autouse=True)
def fresh_rate_limits(settings):
    """Each test counts in its own rate-limit namespace; the limits are the defaults."""
    settings.HAFEN_RATE_KEY_PREFIX = f"test-rl:{uuid.uuid4().hex}"
    # The personas' passwords: a fast hasher keeps these tests quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def start(client, key: str, token: str | None = None, **body):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(
        f"/api/chat/{key}/conversations",
        data=body or None,
        content_type="application/json",
        **headers,
    )


def post(client, key: str, token: str | None, text, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(
        f"/api/chat/{key}/messages",
        data={"text": text},
        content_type="application/json",
        **headers,
        **extra,
    )


def poll(client, key: str, token: str | None, after: int = 0):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(f"/api/chat/{key}/messages", {"after": after}, **headers)


def handover(client, key: str, token: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(f"/api/chat/{key}/handover", **headers)


def counts() -> tuple[int, int, int]:
    return Visitor.objects.count(), Conversation.objects.count(), Message.objects.count()


def all_table_text() -> str:
    """Every row of every table, as text: for canary checks."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                chunks.append(" ".join(str(v) for v in row))
    return "\n".join(chunks)
