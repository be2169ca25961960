"""Small helpers shared by the consent tests: the chat API, notices, raw rows."""

from __future__ import annotations

import json

from django.apps import apps
from django.db import connection
from django.utils import timezone

from consent.models import PrivacyNotice


def publish_notice(
    company, *, version: int | None = None, title: str = "Privacy", text: str = "We store little."
) -> PrivacyNotice:
    """A published notice row (tests of the gate do not need the admin flow)."""
    if version is None:
        version = PrivacyNotice.objects.filter(company=company).count() + 1
    return PrivacyNotice.objects.create(
        company=company, version=version, title=title, text=text, published_at=timezone.now()
    )


def api(client, method: str, path: str, payload: dict | None = None, token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if method == "get":
        return client.get(f"/api{path}", **headers)
    return client.post(
        f"/api{path}",
        data=json.dumps(payload or {}),
        content_type="application/json",
        **headers,
    )


def row_counts() -> dict[str, int]:
    """Rows per table, for every model installed: proves that nothing was written."""
    return {m._meta.db_table: m._default_manager.count() for m in apps.get_models()}


def raw_visitor_row(visitor_id: int) -> dict[str, str]:
    """The visitor's personal columns as stored, bypassing the fields' decryption."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, email, phone, email_index FROM conversations_visitor WHERE id = %s",
            [visitor_id],
        )
        name, email, phone, email_index = cursor.fetchone()
    return {"name": name, "email": email, "phone": phone, "email_index": email_index}


def audit_text() -> str:
    """Every audit entry as text, to look for canaries."""
    from auditlog.models import LogEntry

    return json.dumps(list(LogEntry.objects.values()), default=str)
