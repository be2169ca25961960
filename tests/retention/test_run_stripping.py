"""Personal data is stripped per message: anything older than the window, whenever it was
written and whoever wrote it; never marked stripped when it could not be read."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.utils import timezone

from conversations.models import Conversation, Message, Visitor
from retention.models import RetentionPolicy, RetentionRun
from retention.selectors import retention_preview
from retention.services import purge
from retention.services.holds import legal_hold_place
from retention.services.policy import policy_get_or_create
from retention.services.purge import retention_run
from tests.factories import ConversationFactory, MessageFactory, VisitorFactory
from tests.retention.helpers import make_conversation

pytestmark = pytest.mark.django_db

EMAIL, PHONE = "[email removed]", "[phone number removed]"


def _policy(company, *, conversation_days=90, personal_data_days=30) -> RetentionPolicy:
    policy = policy_get_or_create(company=company)
    RetentionPolicy.objects.filter(pk=policy.pk).update(
        conversation_days=conversation_days, personal_data_days=personal_data_days
    )
    policy.refresh_from_db()
    return policy


def _conversation(inbox, *, started: datetime, **visitor_fields) -> Conversation:
    visitor = VisitorFactory(inbox=inbox, **visitor_fields)
    conversation = ConversationFactory(inbox=inbox, visitor=visitor, last_message_at=started)
    Conversation.objects.filter(pk=conversation.pk).update(started_at=started)
    Visitor.objects.filter(pk=visitor.pk).update(last_seen_at=started)
    return conversation


def _say(conversation, *, at: datetime, body: str, sender=Message.Sender.VISITOR, author=None):
    """A message written at `at`, as the chat writes it (the conversation's activity moves)."""
    message = MessageFactory(conversation=conversation, sender=sender, author=author, body=body)
    Message.objects.filter(pk=message.pk).update(created_at=at)
    Conversation.objects.filter(pk=conversation.pk, last_message_at__lt=at).update(
        last_message_at=at
    )
    Visitor.objects.filter(pk=conversation.visitor_id, last_seen_at__lt=at).update(last_seen_at=at)
    return message


def _body(message) -> str:
    return Message.objects.get(pk=message.pk).body


def test_a_late_operator_reply_is_stripped_once_it_is_older_than_the_window(personas):
    _policy(personas.company_a)
    later = timezone.now()
    first = later - timedelta(days=31)
    conv = _conversation(personas.inbox_a, started=first - timedelta(days=41))
    early = _say(conv, at=first - timedelta(days=40), body="mail me: early@example.com")

    assert retention_run(company_id=personas.company_a.pk, now=first).conversations_stripped == 1
    assert _body(early) == f"mail me: {EMAIL}"

    # After the strip: the operator answers with a phone number and an e-mail
    # address, and the visitor writes once more.
    reply = _say(
        conv,
        at=first + timedelta(hours=1),
        body="Call me on +49 30 1234567 or write to agent@example.com",
        sender=Message.Sender.OPERATOR,
        author=personas.bob,
    )
    late = _say(conv, at=first + timedelta(hours=2), body="ok, late.visitor@example.com")

    # Ten days on, they are inside the window: kept.
    middle = retention_run(company_id=personas.company_a.pk, now=first + timedelta(days=10))
    assert middle.messages_redacted == 0
    assert "agent@example.com" in _body(reply) and "late.visitor@example.com" in _body(late)

    # Once they are older than the window: stripped, whoever wrote them.
    run = retention_run(company_id=personas.company_a.pk, now=later)

    assert run.outcome == RetentionRun.Outcome.DONE
    assert (run.conversations_stripped, run.messages_redacted) == (1, 3)
    assert _body(reply) == f"Call me on {PHONE} or write to {EMAIL}"
    assert _body(late) == f"ok, {EMAIL}"
    # what was stripped before is not read again
    assert Message.objects.get(pk=early.pk).redacted_count == 1
    conv.refresh_from_db()
    assert conv.personal_data_stripped_through == later - timedelta(days=30)


def test_a_long_running_conversation_has_its_old_messages_stripped_and_its_new_ones_kept(
    personas,
):
    policy = _policy(personas.company_a)
    now = timezone.now()
    conv = _conversation(personas.inbox_a, started=now - timedelta(days=60))
    Visitor.objects.filter(pk=conv.visitor_id).update(
        name="Long Runner", email="runner@example.com"
    )
    old_visitor = _say(conv, at=now - timedelta(days=50), body="my number is 030 1234567")
    old_operator = _say(
        conv,
        at=now - timedelta(days=45),
        body="Noted: 030 1234567, we write to runner@example.com",
        sender=Message.Sender.OPERATOR,
        author=personas.bob,
    )
    new_visitor = _say(conv, at=now - timedelta(days=2), body="new mail: fresh@example.com")
    new_operator = _say(
        conv,
        at=now - timedelta(days=1),
        body="call +49 170 1234567",
        sender=Message.Sender.OPERATOR,
        author=personas.bob,
    )
    preview = retention_preview(
        company=personas.company_a,
        conversation_days=policy.conversation_days,
        personal_data_days=policy.personal_data_days,
        audit_days=policy.audit_days,
        now=now,
    )

    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert preview.conversations_to_strip == run.conversations_stripped == 1
    assert run.messages_redacted == 3
    assert _body(old_visitor) == f"my number is {PHONE}"
    assert _body(old_operator) == f"Noted: {PHONE}, we write to {EMAIL}"
    assert _body(new_visitor) == "new mail: fresh@example.com"
    assert _body(new_operator) == "call +49 170 1234567"
    # the conversation is still inside the window: the visitor keeps their details
    visitor = Visitor.objects.get(pk=conv.visitor_id)
    assert (visitor.name, visitor.email) == ("Long Runner", "runner@example.com")
    conv.refresh_from_db()
    assert conv.personal_data_stripped_through == now - timedelta(days=30)

    again = retention_run(company_id=personas.company_a.pk, now=now)
    assert (again.conversations_stripped, again.messages_redacted) == (0, 0)

    # A month later the new ones are old too, and nothing of theirs is in the window.
    month = retention_run(company_id=personas.company_a.pk, now=now + timedelta(days=30))
    assert month.messages_redacted == 2
    assert _body(new_visitor) == f"new mail: {EMAIL}"
    assert _body(new_operator) == f"call {PHONE}"
    visitor = Visitor.objects.get(pk=conv.visitor_id)
    assert (visitor.name, visitor.email, visitor.email_index) == ("", "", "")


def test_held_conversations_keep_late_messages_too(personas):
    _policy(personas.company_a)
    now = timezone.now()
    conv = _conversation(personas.inbox_a, started=now - timedelta(days=60))
    kept = _say(conv, at=now - timedelta(days=50), body="evidence: held@example.com")
    _say(conv, at=now - timedelta(days=1), body="still here")
    legal_hold_place(conversation=conv, reason="Court case", actor=personas.alice)

    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert run.conversations_stripped == 0 and "held@example.com" in _body(kept)


def test_the_preview_counts_the_conversations_the_run_strips(personas):
    policy = _policy(personas.company_a)
    now = timezone.now()
    make_conversation(inbox=personas.inbox_a, now=now, age_days=40, bodies=("a@example.com",))
    make_conversation(inbox=personas.inbox_a, now=now, age_days=5, bodies=("b@example.com",))
    long_running = _conversation(personas.inbox_a, started=now - timedelta(days=70))
    _say(long_running, at=now - timedelta(days=65), body="c@example.com")
    _say(long_running, at=now - timedelta(days=3), body="d@example.com")
    done_before = _conversation(personas.inbox_a, started=now - timedelta(days=70))
    _say(done_before, at=now - timedelta(days=65), body="e@example.com")
    Conversation.objects.filter(pk=done_before.pk).update(
        personal_data_stripped_through=now - timedelta(days=31)
    )
    make_conversation(inbox=personas.inbox_b, now=now, age_days=40, bodies=("f@example.com",))

    preview = retention_preview(
        company=personas.company_a,
        conversation_days=policy.conversation_days,
        personal_data_days=policy.personal_data_days,
        audit_days=policy.audit_days,
        now=now,
    )
    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert preview.conversations_to_strip == run.conversations_stripped == 2
    assert run.messages_redacted == 2


def _foreign_ciphertext(text: str) -> str:
    """A body encrypted with a key this process does not have."""
    return Fernet(Fernet.generate_key()).encrypt(text.encode()).decode()


def _write_raw_body(message, value: str) -> None:
    table = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET body = %s WHERE id = %s", [value, message.pk])


def test_a_message_no_key_decrypts_fails_the_run_and_nothing_is_marked_stripped(personas):
    _policy(personas.company_a)
    now = timezone.now()
    conv = _conversation(personas.inbox_a, started=now - timedelta(days=41))
    messages = [
        _say(conv, at=now - timedelta(days=40), body=f"message {i}: m{i}@example.com")
        for i in range(9)
    ]
    # In the middle: not among the few values the start-up key check samples.
    _write_raw_body(messages[4], _foreign_ciphertext("secret@example.com"))
    expired = make_conversation(inbox=personas.inbox_a, now=now, age_days=100)

    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert run.outcome == RetentionRun.Outcome.FAILED
    assert run.error.startswith("UndecryptableValue: conversations.Message.body")
    assert run.conversations_stripped == 0 and run.messages_redacted == 0
    conv.refresh_from_db()
    assert conv.personal_data_stripped_through is None and conv.personal_data_stripped_at is None
    assert "m0@example.com" in _body(messages[0])  # the batch rolled back whole
    # deleting needs no key: that part was done, and is in the summary
    assert run.conversations_deleted == 1
    assert not Conversation.objects.filter(pk=expired.pk).exists()
    assert RetentionPolicy.objects.get(company=personas.company_a).next_run_at == (
        now + purge.FAILURE_BACKOFF
    )


def test_keys_that_do_not_fit_the_data_fail_the_run_before_it_strips(personas):
    _policy(personas.company_a)
    now = timezone.now()
    conv = make_conversation(
        inbox=personas.inbox_a, now=now, age_days=40, bodies=("keep@example.com",)
    )
    newest = MessageFactory(conversation=conv, body="x")
    _write_raw_body(newest, _foreign_ciphertext("x"))  # the key check samples the newest

    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert run.outcome == RetentionRun.Outcome.FAILED
    assert run.error == "EncryptionKeyError: the encryption keys do not fit the data"
    conv.refresh_from_db()
    assert conv.personal_data_stripped_through is None
    assert Message.objects.filter(conversation=conv).first().body == "keep@example.com"


def test_the_message_text_is_never_logged(personas, caplog):
    caplog.set_level("DEBUG")
    _policy(personas.company_a)
    now = timezone.now()
    conv = _conversation(personas.inbox_a, started=now - timedelta(days=60))
    _say(conv, at=now - timedelta(days=50), body="canary-5519@example.com")
    bad = _say(conv, at=now - timedelta(days=49), body="x")
    for i in range(4):
        _say(conv, at=now - timedelta(days=48), body=f"filler {i}")
    _write_raw_body(bad, _foreign_ciphertext("canary-5519 hidden"))

    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert run.outcome == RetentionRun.Outcome.FAILED
    assert "canary-5519" not in caplog.text and "canary-5519" not in run.error


def test_a_message_exactly_at_the_cutoff_is_stripped_and_its_visitor_wiped(personas):
    _policy(personas.company_a)
    now = timezone.now()
    cutoff = now - timedelta(days=30)
    conv = _conversation(personas.inbox_a, started=cutoff - timedelta(days=1), name="Edge Case")
    on_the_line = _say(conv, at=cutoff, body="edge@example.com")

    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert run.conversations_stripped == 1 and _body(on_the_line) == EMAIL
    assert Visitor.objects.get(pk=conv.visitor_id).name == ""
    conv.refresh_from_db()
    assert conv.personal_data_stripped_through == cutoff
