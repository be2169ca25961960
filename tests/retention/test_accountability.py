"""Accountability that survives erasure, and the audit retention floor (issue 15).

Erasing a visitor keeps the audit entries about them (who opened, revealed,
exported what, when, why), pseudonymised and without personal data; nobody can
shorten audit retention below HAFEN_AUDIT_RETENTION_MIN_DAYS, and shortening it
is itself an audit event.
"""

import time
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from accounts.models import Membership
from chatbot_site.lib.audit import audit_entries_for_company
from chatbot_site.lib.errors import ServiceError
from consent.services.visitors import contact_details_give
from conversations.models import Conversation, Visitor
from conversations.services.operator import conversation_open, personal_data_reveal
from retention.models import RetentionPolicy
from retention.services.erasure import erasure_execute, erasure_request_create
from retention.services.policy import policy_get_or_create, policy_update
from retention.services.purge import retention_run
from retention.services.receipts import receipt_verify
from tests.retention.helpers import make_conversation

pytestmark = pytest.mark.django_db

CANARY_NAME = "Kanarie Vogelsang-Lindqvist"
CANARY_EMAIL = "kanarie-8812@example.org"
CANARY_PHONE = "+49 30 88128812"
REASON = "Customer asked for a call back about order 4711"


def _membership(user, company) -> Membership:
    return Membership.objects.get(user=user, company=company)


def _grant(personas, *rights: str) -> None:
    for right in rights:
        assign_perm(f"conversations.{right}", personas.support.group, personas.inbox_a)


@pytest.fixture
def consenting_visitor(personas):
    """A visitor who gave name, e-mail and phone with consent, in two conversations."""
    now = timezone.now()
    conversation = make_conversation(
        inbox=personas.inbox_a, now=now, age_days=1, bodies=(f"I am {CANARY_NAME}",), messages=3
    )
    visitor = Visitor.objects.get(pk=conversation.visitor_id)
    contact_details_give(
        visitor=visitor,
        name=CANARY_NAME,
        email=CANARY_EMAIL,
        phone=CANARY_PHONE,
        purpose="Call me back",
        opt_in=True,
    )
    second = make_conversation(inbox=personas.inbox_a, now=now, age_days=0.5, visitor=visitor)
    visitor.refresh_from_db()
    return visitor, [conversation, second]


def _log_entry_text() -> str:
    """Every column of every LogEntry, as the ORM reads it and as the table holds it."""
    parts = [str(row) for row in LogEntry.objects.values_list()]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM auditlog_logentry")
        parts += [" ".join(str(v) for v in row) for row in cursor.fetchall()]
    return "\n".join(parts)


def _erase(*, visitor, actor, membership):
    request = erasure_request_create(
        company=visitor.company, visitor=visitor, actor=actor, membership=membership
    )
    return erasure_execute(request=request, actor=actor, membership=membership)


def _operator_opens_and_reveals(personas, conversation):
    bob = _membership(personas.bob, personas.company_a)
    conversation_open(membership=bob, conversation=conversation)
    personal_data_reveal(membership=bob, conversation=conversation, reason=REASON)
    return LogEntry.objects.filter(
        actor=personas.bob,
        additional_data__event__in=["conversation.open", "personal_data.reveal"],
    ).values_list("pk", "timestamp")


def test_the_operators_open_and_reveal_survive_the_admins_erasure_pseudonymised(
    personas, consenting_visitor, login
):
    _grant(personas, "view_personal_data")
    visitor, conversations = consenting_visitor
    before = dict(_operator_opens_and_reveals(personas, conversations[0]))
    assert len(before) == 2
    references = [c.reference for c in conversations]
    assert CANARY_NAME in str(list(Visitor.objects.values_list("name")))  # the data exists

    done = _erase(
        visitor=visitor,
        actor=personas.alice,
        membership=_membership(personas.alice, personas.company_a),
    )

    pseudonym = f"erased-subject-{done.pk}"
    kept = LogEntry.objects.filter(pk__in=before).select_related("actor")
    assert {e.additional_data["event"] for e in kept} == {
        "conversation.open",
        "personal_data.reveal",
    }
    for entry in kept:
        assert entry.actor == personas.bob and entry.timestamp == before[entry.pk]
        assert entry.object_repr == entry.object_pk == pseudonym and entry.object_id is None
        assert entry.additional_data["subject"] == pseudonym
        assert "conversation_id" not in entry.additional_data
        assert entry.additional_data["inbox_id"] == personas.inbox_a.pk
    reveal = kept.get(additional_data__event="personal_data.reveal")
    assert reveal.additional_data["reason"] == REASON  # the "why" stays
    # The subject is gone from the data; nothing in the audit table names them.
    assert not Conversation.objects.filter(pk__in=[c.pk for c in conversations]).exists()
    text = _log_entry_text()
    assert pseudonym in text  # the scan sees the rows
    for needle in (CANARY_NAME, CANARY_EMAIL, CANARY_PHONE, "88128812", *references):
        assert needle not in text, needle
    assert visitor.token_hash not in text and visitor.email_index not in text
    # The receipt says what was kept, signed.
    receipt = done.receipt["receipt"]
    assert receipt["access_records_kept"] >= 4  # create, contact grant, open, reveal, ...
    assert receipt["subject_pseudonym"] == pseudonym and receipt_verify(done.receipt)
    # The admin's audit page shows the operator's access, with the pseudonym.
    page = login(personas.alice).get(
        reverse("accounts:audit"), {"actor": personas.bob.pk, "action": LogEntry.Action.ACCESS}
    )
    assert page.status_code == 200
    body = page.content.decode()
    assert "personal_data.reveal" in body and "conversation.open" in body
    assert body.count(pseudonym) >= 2 and personas.bob.get_username() in body
    assert CANARY_NAME not in body


def test_an_operator_with_reveal_and_erase_rights_cannot_erase_the_trace_of_their_access(
    personas, consenting_visitor
):
    _grant(personas, "view_personal_data", "erase_conversations")
    visitor, conversations = consenting_visitor
    before = dict(_operator_opens_and_reveals(personas, conversations[0]))

    done = _erase(
        visitor=visitor,
        actor=personas.bob,
        membership=_membership(personas.bob, personas.company_a),
    )

    kept = LogEntry.objects.filter(pk__in=before, actor=personas.bob)
    assert kept.count() == 2
    assert set(kept.values_list("object_pk", flat=True)) == {f"erased-subject-{done.pk}"}
    execute = LogEntry.objects.get(additional_data__event="erasure.execute")
    assert execute.actor == personas.bob
    assert (
        execute.additional_data["access_records_kept"]
        == done.receipt["receipt"]["access_records_kept"]
    )


def test_changes_keep_the_field_names_but_no_values(personas, consenting_visitor):
    visitor, conversations = consenting_visitor
    Conversation.objects.get(pk=conversations[0].pk).save()  # auditlog's own entries exist
    visitor_type = ContentType.objects.get_for_model(Visitor)
    LogEntry.objects.create(
        content_type=visitor_type,
        object_pk=str(visitor.pk),
        object_id=visitor.pk,
        object_repr=f"visitor #{visitor.pk}",
        action=LogEntry.Action.UPDATE,
        changes={"name": ["", CANARY_NAME], "phone": ["", CANARY_PHONE]},
        changes_text=f"name {CANARY_NAME}",
        serialized_data={"fields": {"email": CANARY_EMAIL}},
        additional_data={"company_id": personas.company_a.pk, "visitor_id": visitor.pk},
    )

    done = erasure_execute(
        request=erasure_request_create(company=personas.company_a, visitor=visitor, actor=None),
        actor=None,
    )

    entry = LogEntry.objects.get(changes_text="", content_type=visitor_type, action=1, actor=None)
    assert entry.changes == {"name": "••••••", "phone": "••••••"}
    assert entry.serialized_data is None
    assert entry.additional_data == {
        "company_id": personas.company_a.pk,
        "subject": f"erased-subject-{done.pk}",
    }
    assert CANARY_NAME not in _log_entry_text() and CANARY_EMAIL not in _log_entry_text()


def test_other_visitors_entries_are_untouched(personas, consenting_visitor):
    visitor, _ = consenting_visitor
    other = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    conversation_open(
        membership=_membership(personas.alice, personas.company_a), conversation=other
    )
    theirs = LogEntry.objects.get(additional_data__conversation_id=other.pk)
    erasure_execute(
        request=erasure_request_create(company=personas.company_a, visitor=visitor, actor=None),
        actor=None,
    )
    after = LogEntry.objects.get(pk=theirs.pk)
    assert after.object_repr == theirs.object_repr == f"conversation {other.reference}"
    assert after.additional_data == theirs.additional_data


def test_ten_thousand_entries_are_pseudonymised_in_one_update(personas, consenting_visitor):
    visitor, conversations = consenting_visitor
    conversation_type = ContentType.objects.get_for_model(Conversation)
    LogEntry.objects.bulk_create(
        LogEntry(
            content_type=conversation_type,
            object_pk=str(conversations[0].pk),
            object_id=conversations[0].pk,
            object_repr=f"conversation {conversations[0].reference}",
            action=LogEntry.Action.ACCESS,
            changes={"status": ["bot", "closed"]},
            additional_data={
                "company_id": personas.company_a.pk,
                "event": "conversation.open",
                "conversation_id": conversations[0].pk,
                "n": i,
            },
        )
        for i in range(10_000)
    )
    request = erasure_request_create(company=personas.company_a, visitor=visitor, actor=None)

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        done = erasure_execute(request=request, actor=None)
    elapsed = time.perf_counter() - started

    updates = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "auditlog_')
    ]
    print(
        f"\nerasure pseudonymising {done.receipt['receipt']['access_records_kept']:,} audit "
        f"entries on {connection.vendor}: {elapsed:.3f} s, {len(updates)} UPDATE"
    )
    assert len(updates) == 1
    assert done.receipt["receipt"]["access_records_kept"] >= 10_000
    pseudonym = f"erased-subject-{done.pk}"
    assert LogEntry.objects.filter(object_pk=pseudonym, additional_data__n=9_999).exists()
    assert not LogEntry.objects.filter(additional_data__conversation_id=conversations[0].pk)


# --------------------------------------------------------------------------- #
# The audit retention floor
# --------------------------------------------------------------------------- #


def _post_policy(client, audit_days):
    return client.post(
        reverse("retention:policy"),
        {
            "conversation_days": 90,
            "personal_data_days": 30,
            "audit_days": audit_days,
            "run_hour": 4,
        },
    )


def test_the_policy_form_refuses_audit_retention_below_the_floor(personas, login):
    client = login(personas.alice)
    policy = policy_get_or_create(company=personas.company_a)
    response = _post_policy(client, 1)
    assert response.status_code == 400
    assert "at least 365 days" in response.content.decode()
    policy.refresh_from_db()
    assert policy.audit_days == 365 and policy.conversation_days == 180  # nothing changed
    assert _post_policy(client, 365).status_code == 302


def test_the_floor_follows_the_setting(personas, login, settings):
    settings.HAFEN_AUDIT_RETENTION_MIN_DAYS = 30
    client = login(personas.alice)
    assert _post_policy(client, 30).status_code == 302
    assert RetentionPolicy.objects.get(company=personas.company_a).audit_days == 30
    response = _post_policy(client, 29)
    assert response.status_code == 400 and "at least 30 days" in response.content.decode()


def test_the_service_and_the_model_refuse_it_too(personas):
    policy = policy_get_or_create(company=personas.company_a)
    with pytest.raises(ServiceError) as err:
        policy_update(
            policy=policy, conversation_days=90, personal_data_days=30, audit_days=1, run_hour=3
        )
    assert err.value.code == "audit_days_below_floor"
    policy.refresh_from_db()
    policy.audit_days = 10
    with pytest.raises(ValidationError):
        policy.save()
    assert RetentionPolicy.objects.get(pk=policy.pk).audit_days == 365


def test_a_new_policy_starts_at_the_floor_when_it_is_above_the_default(personas, settings):
    settings.HAFEN_AUDIT_RETENTION_MIN_DAYS = 730
    assert policy_get_or_create(company=personas.company_a).audit_days == 730


def test_a_run_never_purges_entries_younger_than_the_floor_even_under_an_old_policy(
    personas,
):
    now = timezone.now()
    policy = policy_get_or_create(company=personas.company_a, now=now)
    # a row stored before the floor existed (written around the model)
    RetentionPolicy.objects.filter(pk=policy.pk).update(audit_days=1)
    make_conversation(inbox=personas.inbox_a, now=now, age_days=1)
    entries = audit_entries_for_company(personas.company_a.pk)
    ids = list(entries.order_by("id").values_list("id", flat=True))
    assert len(ids) >= 4
    young, old = ids[: len(ids) // 2], ids[len(ids) // 2 :]
    LogEntry.objects.filter(pk__in=young).update(timestamp=now - timedelta(days=364))
    LogEntry.objects.filter(pk__in=old).update(timestamp=now - timedelta(days=366))

    run = retention_run(company_id=personas.company_a.pk, now=now)

    assert run.audit_entries_deleted == len(old)
    assert LogEntry.objects.filter(pk__in=young).count() == len(young)
    assert not LogEntry.objects.filter(pk__in=old).exists()
    assert run.audit_cutoff == now - timedelta(days=365)


def test_shortening_audit_retention_is_an_audit_event(personas, login):
    client = login(personas.alice)
    assert _post_policy(client, 800).status_code == 302
    assert not LogEntry.objects.filter(additional_data__event="retention.audit_shortened")
    assert _post_policy(client, 400).status_code == 302

    entry = LogEntry.objects.get(additional_data__event="retention.audit_shortened")
    assert entry.actor == personas.alice
    assert entry.additional_data["old_days"] == 800 and entry.additional_data["new_days"] == 400
    assert entry.additional_data["company_id"] == personas.company_a.pk
    assert _post_policy(client, 400).status_code == 302  # unchanged: no new event
    assert LogEntry.objects.filter(additional_data__event="retention.audit_shortened").count() == 1
