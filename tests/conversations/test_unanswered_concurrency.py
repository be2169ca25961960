"""Two admins add the same unanswered question at once: real threads on PostgreSQL.

The resolve is a conditional UPDATE (only while bot_outcome is still
not_understood): the second waits on the first's row lock, then updates no row
and is told; the variant is appended once and the FAQ version goes up once.
"""

import pytest

from accounts.models import Membership
from accounts.services import membership_set
from conversations.models import FaqEntry, Inbox, Message
from conversations.services.unanswered import UnansweredError, unanswered_add_as_variant
from tests.conversations.console_helpers import conversation_in
from tests.conversations.test_chat_concurrency import Held, Worker, wait_for_lock_waiters
from tests.factories import MessageFactory, UserFactory
from tests.services import need_postgres

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_admins_adding_the_same_question_at_once_one_wins_the_other_is_told(personas):
    need_postgres()
    erin = UserFactory(username="erin")
    membership_set(user=erin, company=personas.company_a, role=Membership.Role.ADMIN)
    alice, second_admin = (
        Membership.objects.select_related("user", "company").get(user=u, company=personas.company_a)
        for u in (personas.alice, erin)
    )
    message = MessageFactory(
        conversation=conversation_in(personas.inbox_a),
        body="Do you ship to Mars?",
        bot_outcome=Message.BotOutcome.NOT_UNDERSTOOD,
    )
    entry_one = FaqEntry.objects.create(
        company=personas.company_a, inbox=personas.inbox_a, questions="Shipping?", answer="EU."
    )
    entry_two = FaqEntry.objects.create(
        company=personas.company_a, inbox=personas.inbox_a, questions="Space?", answer="No."
    )
    version = Inbox.objects.get(pk=personas.inbox_a.pk).faq_version

    first = Held(
        lambda: unanswered_add_as_variant(
            membership=alice, message_id=message.pk, entry_id=entry_one.pk
        )
    ).begin()
    second = Worker(
        lambda: unanswered_add_as_variant(
            membership=second_admin, message_id=message.pk, entry_id=entry_two.pk
        )
    )
    second.start()
    wait_for_lock_waiters(1)
    first.release()
    second.outcome()
    assert isinstance(second.error, UnansweredError), second.error
    assert second.error.message == "Someone else has already handled this question."
    assert FaqEntry.objects.get(pk=entry_one.pk).question_list == [
        "Shipping?",
        "Do you ship to Mars?",
    ]
    assert FaqEntry.objects.get(pk=entry_two.pk).question_list == ["Space?"]
    assert Message.objects.get(pk=message.pk).bot_outcome == Message.BotOutcome.RESOLVED
    assert Inbox.objects.get(pk=personas.inbox_a.pk).faq_version == version + 1
