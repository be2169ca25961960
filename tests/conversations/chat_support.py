"""Helpers for the visitor chat tests (not a test module)."""

from __future__ import annotations

import uuid

import pytest

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
