"""Property: after the beat-driven run, exactly the expired, unheld rows of due companies are gone."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.models import Conversation, Message, Visitor
from retention import tasks
from retention.models import RetentionPolicy
from retention.services.holds import legal_hold_place
from retention.services.policy import policy_get_or_create
from tests.factories import InboxFactory
from tests.retention.helpers import make_conversation

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


@st.composite
def companies(draw):
    conversation_days = draw(st.integers(min_value=1, max_value=60))
    return {
        "conversation_days": conversation_days,
        "personal_data_days": draw(st.integers(min_value=1, max_value=conversation_days)),
        "due": draw(st.booleans()),
        # whole days plus a half: never exactly on a cut-off
        "conversations": draw(
            st.lists(
                st.tuples(st.integers(min_value=0, max_value=90), st.booleans()),
                max_size=5,
            )
        ),
    }


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.lists(companies(), min_size=1, max_size=3), batch_size=st.integers(1, 3))
def test_exactly_the_expired_unheld_rows_of_due_companies_are_gone(monkeypatch, specs, batch_size):
    now = timezone.now()
    try:
        with transaction.atomic():  # each example rolls back to a clean database
            _example(monkeypatch, specs, batch_size, now)
            raise Rollback
    except Rollback:
        pass


def _example(monkeypatch, specs, batch_size, now):
    from retention.services import purge

    monkeypatch.setattr(purge, "BATCH_SIZE", batch_size)
    monkeypatch.setattr(purge, "STRIP_BATCH_SIZE", batch_size)
    expected = []
    for spec in specs:
        inbox = InboxFactory()
        policy = policy_get_or_create(company=inbox.company, now=now)
        RetentionPolicy.objects.filter(pk=policy.pk).update(
            conversation_days=spec["conversation_days"],
            personal_data_days=spec["personal_data_days"],
            next_run_at=now - timedelta(minutes=1) if spec["due"] else now + timedelta(hours=1),
        )
        for age, held in spec["conversations"]:
            conv = make_conversation(inbox=inbox, now=now, age_days=age + 0.5, messages=2)
            Visitor.objects.filter(pk=conv.visitor_id).update(name="Someone")
            if held:
                legal_hold_place(conversation=conv, reason="r", actor=None)
            age_days = age + 0.5
            gone = spec["due"] and not held and age_days > spec["conversation_days"]
            stripped = (
                spec["due"] and not held and not gone and age_days > spec["personal_data_days"]
            )
            expected.append((conv.pk, conv.visitor_id, gone, stripped))

    monkeypatch.setattr(
        tasks.run_company, "delay", lambda company_id: tasks.run_company(company_id=company_id)
    )
    tasks.run_due()

    for conversation_id, visitor_id, gone, stripped in expected:
        conv = Conversation.objects.filter(pk=conversation_id).first()
        assert (conv is None) == gone
        assert Visitor.objects.filter(pk=visitor_id).exists() != gone
        assert Message.objects.filter(conversation_id=conversation_id).count() == (0 if gone else 2)
        if conv is not None:
            assert (conv.personal_data_stripped_at is not None) == stripped
            assert (Visitor.objects.get(pk=visitor_id).name == "") == stripped
