"""Two admins create the same canned-reply shortcut at once: real threads on PostgreSQL.

The second INSERT waits on the unique index (cannedreply_unique) until the
first transaction commits, then fails; the service turns that into its clear
error and nothing is overwritten.
"""

import pytest

from accounts.models import Membership
from conversations.models import CannedReply
from conversations.services.canned import CannedReplyError, canned_reply_create
from tests.conversations.test_chat_concurrency import Held, Worker, wait_for_lock_waiters
from tests.services import need_postgres

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_admins_creating_the_same_shortcut_at_once_one_wins_the_other_is_told(personas):
    need_postgres()
    alice = Membership.objects.get(user=personas.alice, company=personas.company_a)
    first = Held(
        lambda: canned_reply_create(membership=alice, shortcut="race", text="first")
    ).begin()
    second = Worker(lambda: canned_reply_create(membership=alice, shortcut="race", text="second"))
    second.start()
    wait_for_lock_waiters(1)
    first.release()
    second.outcome()
    assert isinstance(second.error, CannedReplyError), second.error
    assert str(second.error) == "Another canned reply already uses this shortcut."
    assert list(CannedReply.objects.values_list("text", flat=True)) == ["first"]
