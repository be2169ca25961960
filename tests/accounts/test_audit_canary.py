"""Canary: personal data handled in the console never reaches the audit log or the logs."""

import logging

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from tests.conversations.console_helpers import conversation_in

pytestmark = pytest.mark.django_db

CANARY_EMAIL = "canary.h4.7f3a@example.org"
CANARY_PHONE = "+49 30 7734 5519"
CANARY_DIGITS = "77345519"


def audit_text() -> str:
    return "\n".join(str(row) for row in LogEntry.objects.values())


def test_the_canary_appears_in_no_audit_entry_and_no_log_output(personas, login, caplog):
    caplog.set_level(logging.DEBUG)
    conversation = conversation_in(
        personas.inbox_a,
        status="waiting",
        body=f"I am {CANARY_EMAIL}, call me on {CANARY_PHONE}",
    )
    visitor = conversation.visitor
    visitor.email, visitor.phone, visitor.name = CANARY_EMAIL, CANARY_PHONE, "Canary Person"
    visitor.save()
    ids = {"conversation_id": conversation.pk}
    client = login(personas.alice)

    opened = client.get(reverse("conversations:detail", kwargs=ids))
    assert opened.status_code == 200 and CANARY_EMAIL not in opened.content.decode()
    revealed = client.post(
        reverse("conversations:reveal", kwargs=ids),
        {"reason": f"caller {CANARY_EMAIL} / {CANARY_PHONE} asked for a callback"},
    )
    assert revealed.status_code == 302  # Post/Redirect/Get: shown once on the detail page
    shown = client.get(revealed["Location"])
    assert shown.status_code == 200 and CANARY_EMAIL in shown.content.decode()
    replied = client.post(
        reverse("conversations:reply", kwargs=ids),
        {"text": f"We will call {CANARY_PHONE} and write to {CANARY_EMAIL}."},
    )
    assert replied.status_code == 302
    exported = client.get(reverse("conversations:export", kwargs=ids))
    assert exported.status_code == 200
    client.post(reverse("conversations:take_over", kwargs=ids))
    client.post(reverse("conversations:close", kwargs=ids))
    audit_csv = client.get(reverse("accounts:audit_export"))
    csv_text = b"".join(audit_csv.streaming_content).decode()
    audit_page = client.get(reverse("accounts:audit")).content.decode()

    events = {
        e["additional_data"].get("event")
        for e in LogEntry.objects.values("additional_data")
        if e["additional_data"]
    }
    assert {"conversation.open", "personal_data.reveal", "conversation.export"} <= events
    stored = audit_text()
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    for canary in (CANARY_EMAIL, CANARY_DIGITS, "7734 5519", "Canary Person"):
        assert canary not in stored, canary
        assert canary not in logged, canary
        assert canary not in csv_text, canary
        assert canary not in audit_page, canary
    assert "[email removed]" in stored  # the reason was kept, redacted
