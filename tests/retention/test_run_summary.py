"""Every batch is in a summary as it commits; a run whose holder died is closed as
interrupted with its counts, and each run has exactly one audit entry."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Sum
from django.utils import timezone

from conversations.models import Conversation
from retention.models import RetentionPolicy, RetentionRun
from retention.services import purge
from retention.services.policy import policy_get_or_create
from tests.retention.helpers import make_conversation

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so the run cannot record it."""


@pytest.fixture
def expired(personas):
    policy = policy_get_or_create(company=personas.company_a)
    RetentionPolicy.objects.filter(pk=policy.pk).update(conversation_days=90)
    now = timezone.now()
    return now, [make_conversation(inbox=personas.inbox_a, now=now, age_days=100) for _ in range(5)]


def _entries(run_ids):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(RetentionRun), object_id__in=run_ids
    )


def test_a_run_is_running_with_the_counts_of_its_committed_batches(personas, expired, monkeypatch):
    now, _old = expired
    seen = []
    original = purge._delete_expired_conversations

    def watching(**kwargs):
        seen.append(RetentionRun.objects.values_list("outcome", "conversations_deleted").get())
        return original(**kwargs)

    monkeypatch.setattr(purge, "_delete_expired_conversations", watching)
    run = purge.retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)

    # before each batch: the row exists, RUNNING, with what the earlier batches did
    assert seen == [("running", 0), ("running", 2), ("running", 4)]
    assert run.outcome == RetentionRun.Outcome.DONE and run.conversations_deleted == 5
    assert _entries([run.pk]).count() == 1


def test_a_killed_run_is_closed_as_interrupted_by_the_next_and_no_deletion_is_lost(
    personas, expired, monkeypatch
):
    now, old = expired
    original = purge._delete_expired_conversations
    calls = {"n": 0}

    def dying(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed  # the worker dies during the second batch
        return original(**kwargs)

    monkeypatch.setattr(purge, "_delete_expired_conversations", dying)
    scheduled = RetentionPolicy.objects.get(company=personas.company_a).next_run_at
    with pytest.raises(Killed):
        purge.retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)
    killed = RetentionRun.objects.get()
    assert killed.outcome == RetentionRun.Outcome.RUNNING
    assert (killed.conversations_deleted, killed.messages_deleted, killed.batches) == (2, 4, 1)
    assert not _entries([killed.pk]).exists()  # its entry comes with its outcome
    # not moved on: a due company stays due for the next tick
    assert RetentionPolicy.objects.get(company=personas.company_a).next_run_at == scheduled

    monkeypatch.setattr(purge, "_delete_expired_conversations", original)
    later = timezone.now()
    run = purge.retention_run(company_id=personas.company_a.pk, now=later, batch_size=2)

    killed.refresh_from_db()
    assert killed.outcome == RetentionRun.Outcome.FAILED and killed.error == purge.INTERRUPTED
    assert killed.conversations_deleted == 2 and killed.finished_at is not None
    assert run.outcome == RetentionRun.Outcome.DONE and run.conversations_deleted == 3
    assert not Conversation.objects.filter(pk__in=[c.pk for c in old]).exists()
    runs = RetentionRun.objects.filter(company=personas.company_a)
    assert runs.aggregate(n=Sum("conversations_deleted"))["n"] == 5
    assert runs.aggregate(n=Sum("messages_deleted"))["n"] == 10
    entries = _entries([killed.pk, run.pk])
    assert sorted(entries.values_list("object_id", flat=True)) == sorted([killed.pk, run.pk])
    closed = entries.get(object_id=killed.pk)
    assert closed.changes_dict["outcome"][1] == "failed"
    assert closed.changes_dict["conversations_deleted"][1] == 2
    assert closed.additional_data["company_id"] == personas.company_a.pk


def test_a_running_run_of_another_company_is_left_alone(personas, expired):
    now, _old = expired
    other = RetentionRun.objects.create(
        company=personas.company_b,
        started_at=now,
        conversation_cutoff=now,
        personal_data_cutoff=now,
        audit_cutoff=now,
    )
    purge.retention_run(company_id=personas.company_a.pk, now=now)
    other.refresh_from_db()
    assert other.outcome == RetentionRun.Outcome.RUNNING


def test_a_batch_that_fails_leaves_no_count_behind(personas, expired, monkeypatch):
    now, _old = expired
    original = purge._delete_expired_conversations

    def failing(**kwargs):
        original(**kwargs)  # deleted inside the batch, counted inside it...
        raise RuntimeError("then the batch fails")  # ...and both roll back

    monkeypatch.setattr(purge, "_delete_expired_conversations", failing)
    run = purge.retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)

    stored = RetentionRun.objects.get(pk=run.pk)
    assert stored.outcome == RetentionRun.Outcome.FAILED and stored.conversations_deleted == 0
    assert Conversation.objects.filter(company=personas.company_a).count() == 5
