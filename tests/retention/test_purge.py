"""Retention runs: batched, idempotent, tenant-safe, respecting holds and windows."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.utils import timezone

from chatbot_site.lib.audit import audit_entries_for_company
from chatbot_site.lib.crypto import blind_index
from consent.models import ConsentRecord
from conversations.models import Conversation, Message, Visitor
from retention.models import RetentionPolicy, RetentionRun
from retention.selectors import retention_preview
from retention.services import purge
from retention.services.holds import legal_hold_lift, legal_hold_place
from retention.services.policy import policy_get_or_create
from retention.services.purge import retention_run
from tests.retention.helpers import exists, make_conversation
from tests.retention.test_run_lock import held_elsewhere

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


def _policy(company, *, conversation_days=90, personal_data_days=30, audit_days=365):
    policy = policy_get_or_create(company=company)
    RetentionPolicy.objects.filter(pk=policy.pk).update(
        conversation_days=conversation_days,
        personal_data_days=personal_data_days,
        audit_days=audit_days,
    )
    policy.refresh_from_db()
    return policy


def test_it_purges_only_expired_conversations_in_batches_of_two(personas, now):
    _policy(personas.company_a)
    old = [make_conversation(inbox=personas.inbox_a, now=now, age_days=100) for _ in range(5)]
    young = make_conversation(inbox=personas.inbox_a, now=now, age_days=89)

    run = retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)

    assert run.outcome == RetentionRun.Outcome.DONE
    assert run.conversations_deleted == 5 and run.messages_deleted == 10
    assert run.visitors_deleted == 5
    assert not any(exists(Conversation, c.pk) for c in old)
    assert not Message.objects.filter(conversation_id__in=[c.pk for c in old]).exists()
    assert (
        exists(Conversation, young.pk) and Message.objects.filter(conversation=young).count() == 2
    )
    # 5 conversations at 2 per batch: 2 + 2 + 1 (short batch ends the step)
    assert run.batches >= 3


def test_running_twice_deletes_nothing_more(personas, now):
    _policy(personas.company_a)
    for _ in range(3):
        make_conversation(inbox=personas.inbox_a, now=now, age_days=200)
    make_conversation(inbox=personas.inbox_a, now=now, age_days=10)

    first = retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)
    counts_after_first = (Conversation.objects.count(), Message.objects.count())
    second = retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)

    assert first.conversations_deleted == 3
    assert second.conversations_deleted == 0 and second.messages_deleted == 0
    assert second.conversations_stripped == 0 and second.visitors_deleted == 0
    assert (Conversation.objects.count(), Message.objects.count()) == counts_after_first


def test_another_companys_data_is_untouched(personas, now):
    _policy(personas.company_a, conversation_days=1, personal_data_days=1)
    _policy(personas.company_b, conversation_days=1000, personal_data_days=1000)
    theirs = make_conversation(
        inbox=personas.inbox_b, now=now, age_days=500, bodies=("call +43 660 1234567",)
    )
    Visitor.objects.filter(pk=theirs.visitor_id).update(email="b@example.com")
    mine = make_conversation(inbox=personas.inbox_a, now=now, age_days=500)

    retention_run(company_id=personas.company_a.pk, now=now)

    assert not exists(Conversation, mine.pk)
    theirs.refresh_from_db()
    assert theirs.personal_data_stripped_at is None
    assert Message.objects.filter(conversation=theirs).first().body == "call +43 660 1234567"
    assert Visitor.objects.get(pk=theirs.visitor_id).email == "b@example.com"


def test_a_legal_hold_keeps_a_conversation_from_purge_and_strip(personas, now):
    _policy(personas.company_a)
    held = make_conversation(
        inbox=personas.inbox_a, now=now, age_days=400, bodies=("mail me: held@example.com",)
    )
    legal_hold_place(conversation=held, reason="Court case 12/34", actor=personas.alice)

    run = retention_run(company_id=personas.company_a.pk, now=now)

    held.refresh_from_db()
    assert run.conversations_deleted == 0 and held.legal_hold
    assert held.personal_data_stripped_at is None
    assert "held@example.com" in Message.objects.filter(conversation=held).first().body
    assert exists(Visitor, held.visitor_id)


def test_a_lifted_hold_lets_the_next_run_delete_it(personas, now):
    _policy(personas.company_a)
    held = make_conversation(inbox=personas.inbox_a, now=now, age_days=400)
    hold = legal_hold_place(conversation=held, reason="Dispute", actor=personas.alice)
    retention_run(company_id=personas.company_a.pk, now=now)
    assert exists(Conversation, held.pk)

    legal_hold_lift(hold=hold, actor=personas.alice)
    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert run.conversations_deleted == 1
    assert not exists(Conversation, held.pk)


def test_nothing_younger_than_its_window_is_stripped_or_deleted(personas, now):
    _policy(personas.company_a, conversation_days=90, personal_data_days=30)
    fresh = make_conversation(
        inbox=personas.inbox_a, now=now, age_days=29.9, bodies=("my mail is fresh@example.com",)
    )
    Visitor.objects.filter(pk=fresh.visitor_id).update(name="Fresh Person")

    retention_run(company_id=personas.company_a.pk, now=now)

    fresh.refresh_from_db()
    assert fresh.personal_data_stripped_at is None
    assert "fresh@example.com" in Message.objects.filter(conversation=fresh).first().body
    assert Visitor.objects.get(pk=fresh.visitor_id).name == "Fresh Person"


def test_stripping_redacts_messages_wipes_contact_details_and_ends_the_token(personas, now):
    _policy(personas.company_a, conversation_days=90, personal_data_days=30)
    conv = make_conversation(
        inbox=personas.inbox_a,
        now=now,
        age_days=45,
        bodies=("write to strip.me@example.com or call 030 1234567", "no data here"),
    )
    Visitor.objects.filter(pk=conv.visitor_id).update(
        name="Erika Mustermann",
        email="strip.me@example.com",
        phone="+49 30 1234567",
        email_index=blind_index("strip.me@example.com"),
        token_expires_at=now + timedelta(days=30),
    )

    run = retention_run(company_id=personas.company_a.pk, now=now)

    conv.refresh_from_db()
    visitor = Visitor.objects.get(pk=conv.visitor_id)
    bodies = list(Message.objects.filter(conversation=conv).values_list("body", flat=True))
    assert run.conversations_stripped == 1 and run.messages_redacted == 2
    assert conv.personal_data_stripped_at == now
    assert bodies == ["write to [email removed] or call [phone number removed]", "no data here"]
    assert (visitor.name, visitor.email, visitor.phone, visitor.email_index) == ("", "", "", "")
    assert visitor.token_expires_at <= now
    assert Message.objects.filter(conversation=conv).first().redacted_count == 2


def test_a_visitor_with_a_newer_conversation_keeps_their_details(personas, now):
    _policy(personas.company_a, conversation_days=90, personal_data_days=30)
    old = make_conversation(inbox=personas.inbox_a, now=now, age_days=45)
    Visitor.objects.filter(pk=old.visitor_id).update(name="Returning Visitor")
    make_conversation(
        inbox=personas.inbox_a, now=now, age_days=1, visitor=Visitor.objects.get(pk=old.visitor_id)
    )

    retention_run(company_id=personas.company_a.pk, now=now)

    old.refresh_from_db()
    assert old.personal_data_stripped_at == now
    assert Visitor.objects.get(pk=old.visitor_id).name == "Returning Visitor"


def test_an_injected_failure_rolls_back_only_that_batch_and_the_next_run_completes(
    personas, now, monkeypatch
):
    _policy(personas.company_a)
    old = [make_conversation(inbox=personas.inbox_a, now=now, age_days=100) for _ in range(5)]
    # The step every batch runs inside its transaction, on PostgreSQL (one
    # statement) and elsewhere (one statement per table) alike.
    original = purge._delete_expired_conversations
    calls = {"n": 0}

    def failing_delete(**kwargs):
        result = original(**kwargs)  # the rows are gone inside the batch...
        calls["n"] += 1
        if calls["n"] == 2:
            assert result[Conversation._meta.label] == 2
            raise RuntimeError("worker killed")  # ...and come back on rollback
        return result

    monkeypatch.setattr(purge, "_delete_expired_conversations", failing_delete)
    failed = retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)

    assert failed.outcome == RetentionRun.Outcome.FAILED and failed.error == "RuntimeError"
    assert failed.conversations_deleted == 2
    remaining = Conversation.objects.filter(pk__in=[c.pk for c in old])
    assert remaining.count() == 3  # batch 1 committed, batch 2 rolled back whole
    assert Message.objects.filter(conversation__in=remaining).count() == 6
    assert RetentionPolicy.objects.get(company=personas.company_a).next_run_at > now

    monkeypatch.setattr(purge, "_delete_expired_conversations", original)
    again = retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)
    assert again.outcome == RetentionRun.Outcome.DONE and again.conversations_deleted == 3
    assert not remaining.exists()


def test_a_spent_budget_leaves_the_window_due_and_a_partial_summary(personas, now):
    policy = _policy(personas.company_a)
    RetentionPolicy.objects.filter(pk=policy.pk).update(next_run_at=now - timedelta(minutes=1))
    for _ in range(11):
        make_conversation(inbox=personas.inbox_a, now=now, age_days=100)

    run = retention_run(company_id=personas.company_a.pk, now=now, batch_size=2, max_batches=5)

    assert run.outcome == RetentionRun.Outcome.PARTIAL and run.conversations_deleted == 10
    assert RetentionPolicy.objects.get(pk=policy.pk).next_run_at < now
    done = retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)
    assert done.outcome == RetentionRun.Outcome.DONE and done.conversations_deleted == 1
    assert RetentionPolicy.objects.get(pk=policy.pk).next_run_at > now


def test_a_second_run_of_the_same_company_waits_for_the_lock(personas, now):
    with held_elsewhere(personas.company_a.pk):
        assert retention_run(company_id=personas.company_a.pk, now=now) is None
    assert retention_run(company_id=personas.company_a.pk, now=now) is not None


def test_a_purge_writes_no_per_row_audit_entries_only_the_summary(personas, now):
    _policy(personas.company_a, conversation_days=90, personal_data_days=30)
    for _ in range(3):
        make_conversation(inbox=personas.inbox_a, now=now, age_days=100)
    make_conversation(inbox=personas.inbox_a, now=now, age_days=50, bodies=("a@example.com",))
    before = set(LogEntry.objects.values_list("id", flat=True))

    run = retention_run(company_id=personas.company_a.pk, now=now)

    new = LogEntry.objects.exclude(id__in=before)
    assert run.conversations_deleted == 3 and run.conversations_stripped == 1
    assert {e.content_type.model for e in new} == {"retentionrun"}
    assert new.count() == 1  # the summary, written once


def test_old_audit_entries_of_the_company_are_deleted_and_others_kept(personas, now):
    _policy(personas.company_a, audit_days=400)
    _policy(personas.company_b, audit_days=400)
    conv = make_conversation(inbox=personas.inbox_a, now=now, age_days=1)
    other = make_conversation(inbox=personas.inbox_b, now=now, age_days=1)
    audit_entries_for_company(personas.company_a.pk).update(timestamp=now - timedelta(days=401))
    audit_entries_for_company(personas.company_b.pk).update(timestamp=now - timedelta(days=401))
    old_a = audit_entries_for_company(personas.company_a.pk).count()
    old_b = audit_entries_for_company(personas.company_b.pk).count()

    run = retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)

    assert old_a > 2 and run.audit_entries_deleted == old_a
    assert audit_entries_for_company(personas.company_b.pk).count() == old_b
    assert exists(Conversation, conv.pk) and exists(Conversation, other.pk)


def test_visitors_without_conversations_go_with_their_consent_records(personas, now):
    _policy(personas.company_a)
    conv = make_conversation(inbox=personas.inbox_a, now=now, age_days=100)
    record = ConsentRecord.objects.create(
        company=personas.company_a,
        visitor_id=conv.visitor_id,
        purpose=ConsentRecord.Purpose.CONTACT,
        action=ConsentRecord.Action.GRANTED,
    )

    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert run.visitors_deleted == 1 and run.consent_records_deleted == 1
    assert not exists(Visitor, conv.visitor_id) and not exists(ConsentRecord, record.pk)


def test_the_dry_run_preview_predicts_the_run(personas, now):
    policy = _policy(personas.company_a, conversation_days=90, personal_data_days=30)
    for age in (10, 31, 40, 91, 120, 300):
        make_conversation(inbox=personas.inbox_a, now=now, age_days=age, messages=3)
    held = make_conversation(inbox=personas.inbox_a, now=now, age_days=200)
    legal_hold_place(conversation=held, reason="x", actor=None)
    make_conversation(inbox=personas.inbox_b, now=now, age_days=300)

    preview = retention_preview(
        company=personas.company_a,
        conversation_days=policy.conversation_days,
        personal_data_days=policy.personal_data_days,
        audit_days=policy.audit_days,
        now=now,
    )
    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert (preview.conversations_to_delete, preview.messages_to_delete) == (3, 9)
    assert preview.conversations_to_strip == 2 and preview.held_conversations == 1
    assert run.conversations_deleted == 3 and run.messages_deleted == 9
    assert run.conversations_stripped == 2


def test_a_run_logs_counts_but_never_personal_data(personas, now, caplog):
    caplog.set_level("DEBUG")
    _policy(personas.company_a)
    make_conversation(
        inbox=personas.inbox_a,
        now=now,
        age_days=40,
        bodies=("canary-7731@example.com +49 170 7731773",),
        name="Canary Name",
    )
    Visitor.objects.update(name="Canary Name")

    retention_run(company_id=personas.company_a.pk, now=now)

    assert "retention run" in caplog.text
    assert "canary-7731" not in caplog.text and "Canary Name" not in caplog.text
    dumped = str(list(LogEntry.objects.values()))
    assert "canary-7731" not in dumped and "Canary Name" not in dumped


def test_a_pending_erasure_request_does_not_block_the_purge_of_its_visitor(personas, now):
    from retention.models import ErasureRequest
    from retention.services.erasure import erasure_request_create

    _policy(personas.company_a)
    conv = make_conversation(inbox=personas.inbox_a, now=now, age_days=100)
    request = erasure_request_create(
        company=personas.company_a, visitor=conv.visitor, actor=personas.alice
    )

    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert run.outcome == RetentionRun.Outcome.DONE and run.visitors_deleted == 1
    assert ErasureRequest.objects.get(pk=request.pk).visitor_id is None
