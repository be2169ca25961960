"""Retention batches as ONE statement on PostgreSQL: the same rows, locks and counts as the
portable statements (one per table).

Every scenario runs twice: through the single-statement batch (PostgreSQL only)
and through the portable path. On PostgreSQL the foreign keys are checked at the
end (the test's transaction would otherwise defer them forever). The statements
are written out by hand: a test here compares them with the models' foreign keys.
"""

import threading
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent.models import ConsentRecord, ContactRequest
from conversations.models import Conversation, Message, Visitor
from retention.models import ErasureRequest, LegalHold, RetentionPolicy, RetentionRun
from retention.services import purge, statements
from retention.services.holds import legal_hold_lift, legal_hold_place
from retention.services.policy import policy_get_or_create
from tests.retention.helpers import exists, make_conversation

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the single-statement batch is PostgreSQL's"
)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture(params=["one statement", "statement by statement"])
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


def _foreign_keys_to(model):
    """(table, column, rule) of every foreign key pointing at `model`, many-to-many included."""
    found = []
    for rel in model._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete):
            continue
        if rel.many_to_many:
            found.append((rel.through._meta.db_table, "(many-to-many)", "M2M"))
        elif rel.one_to_many or rel.one_to_one:
            child = rel.related_model
            found.append((child._meta.db_table, rel.field.column, rel.on_delete.__name__, child))
    return found


def _covered(sql, table, column, rule):
    sql = " ".join(sql.split())
    if rule == "CASCADE":
        return f"DELETE FROM {table} WHERE {column} IN" in sql
    if rule == "SET_NULL":
        return f"UPDATE {table} SET {column} = NULL" in sql
    return rule == "DO_NOTHING"


def _missing(*, one, portable_conversations, portable_visitors):
    """Foreign keys (walked from the models' metadata) that the statements do not cover."""
    missing = []

    def check(model, portable, seen):
        for table, column, rule, *child in _foreign_keys_to(model):
            if child and child[0] is Conversation and model is Visitor:
                # Conversations go first: the batch deletes only visitors with none
                # left outside it, and visitors_delete(with_conversations=True)
                # deletes them through the conversation statements.
                if "WHERE o.visitor_id = v.id" not in " ".join(one.split()):
                    missing.append("one statement: visitors with conversations")
                continue
            for form, sql in (("one statement", one), ("portable", portable)):
                if not _covered(sql, table, column, rule):
                    missing.append(f"{form}: {table}.{column} ({rule}) -> {model._meta.label}")
            if child and rule == "CASCADE" and child[0] not in seen:
                check(child[0], portable, seen | {child[0]})

    check(Conversation, portable_conversations, {Conversation})
    check(Visitor, portable_visitors, {Visitor})
    return missing


def test_the_written_out_statements_cover_every_foreign_key_to_conversations_and_visitors():
    # The models' metadata, compared with the SQL as written: a new foreign key
    # to a conversation or a visitor (or to a row that cascades from them) that
    # the statements do not delete or null fails here, in both forms.
    assert (
        _missing(
            one=statements.CONVERSATION_BATCH,
            portable_conversations=" ; ".join(sql for _, sql in statements.CONVERSATION_DELETES),
            portable_visitors=" ; ".join(sql for _, sql in statements.VISITOR_DELETES),
        )
        == []
    )
    assert "FROM conversations_conversation WHERE visitor_id IN" in (
        statements.VISITOR_CONVERSATIONS
    )


def test_the_coverage_check_notices_a_table_the_statements_miss():
    # Not vacuous: without the legal-hold and consent-record deletes, and with a
    # rule the statements cannot express, the check reports exactly those.
    without = [
        sql for _, sql in statements.CONVERSATION_DELETES if "retention_legalhold" not in sql
    ]
    missing = _missing(
        one=statements.CONVERSATION_BATCH.replace("DELETE FROM consent_consentrecord", "--"),
        portable_conversations=" ; ".join(without),
        portable_visitors=" ; ".join(sql for _, sql in statements.VISITOR_DELETES),
    )
    assert missing == [
        "portable: retention_legalhold.conversation_id (CASCADE) -> conversations.Conversation",
        "one statement: consent_consentrecord.visitor_id (CASCADE) -> conversations.Visitor",
    ]
    assert not _covered(
        statements.CONVERSATION_BATCH, "retention_legalhold", "conversation_id", "PROTECT"
    )


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
