"""The assignee's read mark under races, with real threads on PostgreSQL: it only
moves forward, and only for whoever is the assignee when the write lands."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from accounts.models import Membership
from conversations.models import Conversation
from conversations.services.operator import conversation_read_advance, conversation_take_over
from tests.conversations.console_helpers import conversation_in
from tests.conversations.test_chat_concurrency import Held, Worker, wait_for_lock_waiters
from tests.factories import MessageFactory
from tests.services import need_postgres

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres():
    need_postgres()


def membership(user) -> Membership:
    return Membership.objects.select_related("user", "company").get(user=user)


def fresh(conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)


def test_concurrent_read_marks_never_move_it_backwards(personas):
    conversation = conversation_in(personas.inbox_a, status="operator", assigned_to=personas.bob)
    ids = [MessageFactory(conversation=conversation).pk for _ in range(8)]
    bob = membership(personas.bob)
    for _round in range(3):
        Conversation.objects.filter(pk=conversation.pk).update(assignee_read_message_id=None)
        barrier = threading.Barrier(len(ids))

        def advance(message_id, barrier=barrier):
            def run():
                barrier.wait(10)
                return conversation_read_advance(
                    membership=bob, conversation=fresh(conversation), message_id=message_id
                )

            return run

        # several tabs of the same operator report their marks at once, out of order
        workers = [Worker(advance(i)) for i in reversed(ids)]
        for w in workers:
            w.start()
        for w in workers:
            w.outcome()
            assert w.error is None
        assert fresh(conversation).assignee_read_message_id == max(ids)
        assert any(w.result for w in workers)
    # and a late, older mark changes nothing
    assert not conversation_read_advance(
        membership=bob, conversation=fresh(conversation), message_id=ids[0]
    )
    assert fresh(conversation).assignee_read_message_id == max(ids)


def test_a_read_mark_racing_a_take_over_is_not_credited_to_the_new_assignee(personas):
    conversation = conversation_in(personas.inbox_a, status="operator", assigned_to=personas.bob)
    message = MessageFactory(conversation=conversation)
    bob, alice = membership(personas.bob), membership(personas.alice)
    seen_by_bob = fresh(conversation)  # bob's page read the row while it was his

    # alice takes the conversation over and holds her transaction (the row locked) ...
    held = Held(
        lambda: conversation_take_over(
            membership=alice,
            conversation=fresh(conversation),
            expected_assignee_id=personas.bob.pk,
        )
    ).begin()
    # ... while bob's read mark, read before the take-over, waits for the row
    late = Worker(
        lambda: conversation_read_advance(
            membership=bob, conversation=seen_by_bob, message_id=message.pk
        )
    )
    late.start()
    wait_for_lock_waiters(1)
    held.release()
    assert late.outcome() is False and late.error is None
    after = fresh(conversation)
    assert after.assigned_to_id == personas.alice.pk
    assert after.assignee_read_message_id is None  # alice has read nothing yet
    connections.close_all()
