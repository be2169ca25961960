"""Helpers for the visitor chat tests (not a test module; fixtures: tests/conftest.py)."""

from __future__ import annotations

from conversations.models import Conversation, Message, Visitor


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
