"""Retention batches as ONE statement on PostgreSQL: the same rows, locks and counts as raw_delete.

Every scenario runs twice: through the single-statement batch (PostgreSQL only)
and through the portable raw_delete path. On PostgreSQL the foreign keys are
checked at the end (the test's transaction would otherwise defer them forever).
"""

import threading
from datetime import timedelta

import psycopg
import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent.models import ConsentRecord, ContactRequest
from conversations.models import Conversation, Message, Visitor
from retention.models import ErasureRequest, LegalHold, RetentionPolicy, RetentionRun
from retention.services import purge
from retention.services.holds import legal_hold_lift, legal_hold_place
from retention.services.policy import policy_get_or_create
from retention.services.rawdelete import NotCompilable, cascade_ctes
from tests.retention.helpers import exists, make_conversation

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the single-statement batch is PostgreSQL's"
)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture(params=["one statement", "raw_delete"])
def batch_path(request, monkeypatch):
    if request.param == "one statement":
        if connection.vendor != "postgresql":
            pytest.skip("the single-statement batch is PostgreSQL's")
        assert purge._conversation_batch_statement() is not None
    else:
        monkeypatch.setattr(purge, "_conversation_batch_statement", lambda: None)
    return request.param


def _policy(company, *, conversation_days=90, personal_data_days=30):
    policy = policy_get_or_create(company=company)
    RetentionPolicy.objects.filter(pk=policy.pk).update(
        conversation_days=conversation_days, personal_data_days=personal_data_days
    )


def _foreign_keys_hold():
    if connection.vendor == "postgresql":
        connection.check_constraints()  # raises IntegrityError on a dangling reference


@pytest.mark.django_db
def test_a_batch_takes_contact_requests_lifted_holds_consents_and_lone_visitors_along(
    personas, now, batch_path
):
    _policy(personas.company_a)
    company, inbox = personas.company_a, personas.inbox_a
    asked = make_conversation(inbox=inbox, now=now, age_days=100, messages=3)
    asking_message = Message.objects.filter(conversation=asked).first()
    own_request = ContactRequest.objects.create(
        company=company, conversation=asked, message=asking_message, purpose_text="call back"
    )
    consent = ConsentRecord.objects.create(
        company=company,
        visitor_id=asked.visitor_id,
        purpose=ConsentRecord.Purpose.CONTACT,
        action=ConsentRecord.Action.GRANTED,
    )
    young = make_conversation(inbox=inbox, now=now, age_days=10)
    # a surviving request that points at a message of an expired conversation
    survivor_request = ContactRequest.objects.create(
        company=company, conversation=young, message=asking_message, purpose_text="follow-up"
    )
    was_held = make_conversation(inbox=inbox, now=now, age_days=200)
    lifted = legal_hold_place(conversation=was_held, reason="Closed case", actor=None)
    legal_hold_lift(hold=lifted, actor=None)
    erasure = ErasureRequest.objects.create(
        company=company, visitor_id=was_held.visitor_id, origin=ErasureRequest.Origin.ADMIN
    )
    held = make_conversation(inbox=inbox, now=now, age_days=300)
    legal_hold_place(conversation=held, reason="Open case", actor=None)
    returning = make_conversation(inbox=inbox, now=now, age_days=120)
    make_conversation(
        inbox=inbox, now=now, age_days=5, visitor=Visitor.objects.get(pk=returning.visitor_id)
    )
    recently_seen = make_conversation(inbox=inbox, now=now, age_days=95)
    Visitor.objects.filter(pk=recently_seen.visitor_id).update(last_seen_at=now)
    theirs = make_conversation(inbox=personas.inbox_b, now=now, age_days=400)

    run = purge.retention_run(company_id=company.pk, now=now, batch_size=2)
    _foreign_keys_hold()

    assert run.outcome == RetentionRun.Outcome.DONE
    assert (run.conversations_deleted, run.messages_deleted) == (4, 9)
    assert (run.visitors_deleted, run.consent_records_deleted) == (2, 1)
    for gone in (asked, was_held, returning, recently_seen):
        assert not exists(Conversation, gone.pk)
    assert not exists(Visitor, asked.visitor_id) and not exists(Visitor, was_held.visitor_id)
    assert not exists(ContactRequest, own_request.pk) and not exists(ConsentRecord, consent.pk)
    assert not exists(LegalHold, lifted.pk)
    survivor_request.refresh_from_db()
    assert survivor_request.message_id is None and survivor_request.conversation_id == young.pk
    erasure.refresh_from_db()
    assert erasure.visitor_id is None
    # kept: the held one, the young ones, the returning and the recently seen visitor, B's
    assert exists(Conversation, held.pk) and exists(Conversation, young.pk)
    assert exists(Visitor, returning.visitor_id) and exists(Visitor, recently_seen.visitor_id)
    assert exists(Conversation, theirs.pk) and Message.objects.filter(conversation=theirs).count()


@pytest.mark.django_db
def test_a_visitor_whose_conversations_span_batches_goes_with_the_last_one(
    personas, now, batch_path
):
    _policy(personas.company_a)
    first = make_conversation(inbox=personas.inbox_a, now=now, age_days=150)
    visitor = Visitor.objects.get(pk=first.visitor_id)
    for age in (140, 130):
        make_conversation(inbox=personas.inbox_a, now=now, age_days=age, visitor=visitor)

    run = purge.retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)
    _foreign_keys_hold()

    assert (run.conversations_deleted, run.messages_deleted, run.visitors_deleted) == (3, 6, 1)
    assert not exists(Visitor, visitor.pk)


@postgres_only
@pytest.mark.django_db
def test_on_postgresql_a_batch_is_one_statement(personas, now):
    _policy(personas.company_a)
    for _ in range(3):
        make_conversation(inbox=personas.inbox_a, now=now, age_days=100)

    with CaptureQueriesContext(connection) as queries:
        run = purge.retention_run(company_id=personas.company_a.pk, now=now, batch_size=2)

    statements = [q["sql"] for q in queries.captured_queries]
    assert run.conversations_deleted == 3
    assert sum(sql.startswith("WITH doomed AS") for sql in statements) == 2  # 2 + 1 (short)
    assert not [sql for sql in statements if sql.startswith(("DELETE", 'UPDATE "consent'))]


def test_cascade_ctes_refuse_a_rule_they_cannot_translate():
    # accounts.Team.group is PROTECT: that cascade stays with raw_delete
    with pytest.raises(NotCompilable):
        cascade_ctes(Group, source="doomed", prefix="g")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_hold_placed_while_the_batch_waits_for_the_row_is_respected(personas, now):
    _policy(personas.company_a)
    contested = make_conversation(inbox=personas.inbox_a, now=now, age_days=100)
    others = [make_conversation(inbox=personas.inbox_a, now=now, age_days=100) for _ in range(2)]
    params = connection.settings_dict
    holder = psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        password=params["PASSWORD"],
        host=params["HOST"],
        port=params["PORT"] or None,
    )
    try:
        # Another transaction holds the row and is placing a hold on it...
        holder.execute(
            "UPDATE conversations_conversation SET legal_hold = true WHERE id = %s", [contested.pk]
        )
        # ...and commits while the run's batch waits for that row.
        commit = threading.Timer(0.5, holder.commit)
        commit.start()
        run = purge.retention_run(company_id=personas.company_a.pk, now=now)
        commit.join()
    finally:
        holder.close()

    assert run.outcome == RetentionRun.Outcome.DONE and run.conversations_deleted == 2
    assert (
        exists(Conversation, contested.pk) and Conversation.objects.get(pk=contested.pk).legal_hold
    )
    assert Message.objects.filter(conversation=contested).count() == 2
    assert not any(exists(Conversation, c.pk) for c in others)
    assert run.finished_at - run.started_at >= timedelta(seconds=0.4)  # it did wait
