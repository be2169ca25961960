"""Beat -> run_due -> one run_company per due company; a real worker on Redis end to end."""

import time
from datetime import timedelta

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.exceptions import Retry
from django.conf import settings
from django.utils import timezone

from conversations.models import Conversation
from retention import tasks
from retention.models import RetentionPolicy, RetentionRun
from retention.selectors import companies_due
from retention.services import lock, purge
from retention.services.policy import policy_get_or_create
from tests.factories import CompanyFactory
from tests.retention.helpers import make_conversation
from tests.retention.test_run_lock import held_elsewhere
from tests.services import redis_url


def _due(company, *, when, conversation_days=90):
    policy = policy_get_or_create(company=company)
    RetentionPolicy.objects.filter(pk=policy.pk).update(
        next_run_at=when, conversation_days=conversation_days
    )


def test_beat_runs_retention_every_15_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["retention-run-due"]
    assert entry["task"] == "retention.run_due" and entry["schedule"] == 15 * 60
    assert tasks.run_due.acks_late and tasks.run_company.acks_late


@pytest.mark.django_db
def test_due_companies_are_selected_in_one_query(personas, django_assert_num_queries):
    now = timezone.now()
    _due(personas.company_a, when=now - timedelta(minutes=1))
    _due(personas.company_b, when=now + timedelta(hours=3))
    never = CompanyFactory()  # no policy yet: the defaults are due
    unscheduled = CompanyFactory()
    policy_get_or_create(company=unscheduled)
    RetentionPolicy.objects.filter(company=unscheduled).update(next_run_at=None)

    with django_assert_num_queries(1):
        due = companies_due(now=now)

    assert due == sorted([personas.company_a.pk, never.pk, unscheduled.pk])


@pytest.mark.django_db
def test_run_due_enqueues_one_task_per_due_company_with_ids_only(personas, monkeypatch):
    _due(personas.company_a, when=timezone.now() - timedelta(minutes=1))
    _due(personas.company_b, when=timezone.now() + timedelta(hours=1))
    sent = []
    monkeypatch.setattr(tasks.run_company, "delay", lambda **kw: sent.append(kw))

    assert tasks.run_due() == {"enqueued": 1}
    assert sent == [{"company_id": personas.company_a.pk}]


@pytest.mark.django_db
def test_a_partial_run_re_enqueues_itself_and_returns_a_small_summary(personas, monkeypatch):
    now = timezone.now()
    _due(personas.company_a, when=now - timedelta(minutes=1))
    for _ in range(12):
        make_conversation(
            inbox=personas.inbox_a, now=now, age_days=100, bodies=("secret@example.com",)
        )
    monkeypatch.setattr(purge, "MAX_BATCHES", 1)
    monkeypatch.setattr(purge, "BATCH_SIZE", 2)
    sent = []
    monkeypatch.setattr(tasks.run_company, "delay", lambda **kw: sent.append(kw))

    summary = tasks.run_company(company_id=personas.company_a.pk)

    # the budget is clamped to purge.MIN_BATCHES (5): 5 batches of 2
    assert summary["outcome"] == "partial" and summary["conversations_deleted"] == 10
    assert sent == [{"company_id": personas.company_a.pk}]
    assert all(isinstance(v, int | str) for v in summary.values())
    assert "secret" not in str(summary)
    outcomes = [tasks.run_company(company_id=personas.company_a.pk)["outcome"] for _ in range(6)]
    assert outcomes[-1] == "done" and len(sent) == outcomes.count("partial") + 1
    assert not Conversation.objects.filter(company=personas.company_a).exists()


@pytest.mark.django_db
def test_a_locked_company_is_retried_later_not_dropped(personas, monkeypatch):
    asked = []

    def retry(**kwargs):
        asked.append(kwargs)
        return Retry()

    monkeypatch.setattr(tasks.run_company, "retry", retry)
    with held_elsewhere(personas.company_a.pk), pytest.raises(Retry):
        tasks.run_company(company_id=personas.company_a.pk)
    assert asked == [
        {"countdown": tasks.LOCK_RETRY_COUNTDOWN, "max_retries": tasks.LOCK_MAX_RETRIES}
    ]
    # longer than a dead holder's lock can last
    assert tasks.LOCK_RETRY_COUNTDOWN * tasks.LOCK_MAX_RETRIES > lock.LEASE_TTL


@pytest.mark.django_db
def test_a_company_still_locked_after_every_retry_is_left_to_the_next_tick(personas):
    tasks.run_company.push_request(retries=tasks.LOCK_MAX_RETRIES)
    try:
        with held_elsewhere(personas.company_a.pk):
            summary = tasks.run_company(company_id=personas.company_a.pk)
    finally:
        tasks.run_company.pop_request()
    assert summary == {"company_id": personas.company_a.pk, "outcome": "locked"}


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_runs_the_beat_enqueued_retention_end_to_end(personas):
    url = redis_url()
    now = timezone.now()
    _due(personas.company_a, when=now - timedelta(minutes=1))
    _due(personas.company_b, when=now + timedelta(hours=5), conversation_days=1)
    expired = make_conversation(inbox=personas.inbox_a, now=now, age_days=100)
    young = make_conversation(inbox=personas.inbox_a, now=now, age_days=1)
    not_due = make_conversation(inbox=personas.inbox_b, now=now, age_days=100)

    app = Celery("hafen-retention-test")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=url, result_backend=url, task_default_queue="hafen-retention-test")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = app.send_task("retention.run_due").get(timeout=20)
        assert result == {"enqueued": 1}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            run = RetentionRun.objects.filter(company=personas.company_a).first()
            if run and run.outcome != RetentionRun.Outcome.RUNNING:
                break
            time.sleep(0.2)

    assert run.outcome == RetentionRun.Outcome.DONE and run.conversations_deleted == 1
    assert not Conversation.objects.filter(pk=expired.pk).exists()
    assert Conversation.objects.filter(pk__in=[young.pk, not_due.pk]).count() == 2
    assert not RetentionRun.objects.filter(company=personas.company_b).exists()
    assert RetentionPolicy.objects.get(company=personas.company_a).next_run_at > now
