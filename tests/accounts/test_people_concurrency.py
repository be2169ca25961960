"""Races on the People page and the invitation link, with real threads on PostgreSQL.

Staged as in tests/conversations/test_chat_concurrency.py: one side holds its
transaction open until the other side is seen waiting for a lock in
pg_stat_activity; then the first commits and the second decides on what the
first left behind. Each thread has its own database connection.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts import invitations, people
from accounts.models import Invitation, Membership
from accounts.services import membership_set
from chatbot_site.lib.crypto import hash_token
from tests.concurrency import Held, Worker, wait_for_lock_waiters
from tests.services import need_postgres

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres():
    need_postgres()


def m(personas, user) -> Membership:
    return Membership.objects.select_related("user", "company").get(
        user=user, company=personas.company_a
    )


def active_admins(personas) -> int:
    return Membership.objects.filter(
        company=personas.company_a, role="admin", deactivated_at__isnull=True
    ).count()


def test_two_admins_demoting_each_other_at_once_leave_one_admin(personas):
    membership_set(user=personas.bob, company=personas.company_a, role="admin")
    alice, bob = m(personas, personas.alice), m(personas, personas.bob)
    first = Held(
        lambda: people.member_role_change(membership=bob, role="operator", actor=personas.alice)
    ).begin()
    second = Worker(
        lambda: people.member_role_change(membership=alice, role="operator", actor=personas.bob)
    )
    second.start()
    wait_for_lock_waiters(1)
    first.release()
    second.outcome()

    assert isinstance(second.error, people.LastAdminError), second.error
    assert active_admins(personas) == 1
    assert m(personas, personas.alice).role == "admin"
    assert m(personas, personas.bob).role == "operator"


def test_an_admin_deactivating_the_other_while_being_demoted_leaves_one_admin(personas):
    membership_set(user=personas.bob, company=personas.company_a, role="admin")
    alice, bob = m(personas, personas.alice), m(personas, personas.bob)
    first = Held(lambda: people.member_deactivate(membership=bob, actor=personas.alice)).begin()
    second = Worker(
        lambda: people.member_role_change(membership=alice, role="viewer", actor=personas.bob)
    )
    second.start()
    wait_for_lock_waiters(1)
    first.release()
    second.outcome()
    assert isinstance(second.error, people.LastAdminError), second.error
    assert active_admins(personas) == 1


def test_many_admins_demoting_everyone_at_once_leave_at_least_one(personas):
    for user in (personas.bob, personas.charlie):
        membership_set(user=user, company=personas.company_a, role="admin")
    users = [personas.alice, personas.bob, personas.charlie]
    barrier = threading.Barrier(len(users))

    def demote(target, actor):
        def run():
            barrier.wait(10)
            return people.member_role_change(
                membership=m(personas, target), role="operator", actor=actor
            )

        return run

    workers = [Worker(demote(users[i], users[(i + 1) % 3])) for i in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.outcome()
    refused = [w for w in workers if w.error is not None]
    assert all(isinstance(w.error, people.LastAdminError) for w in refused), [
        w.error for w in refused
    ]
    assert active_admins(personas) == 1 and len(refused) == 1


def _invitation(personas) -> tuple[Invitation, str]:
    secret = "s3cret-" + "x" * 30
    invitation = Invitation.objects.create(
        company=personas.company_a,
        email="new@example.com",
        role="operator",
        token_hash=hash_token(secret),
        invited_by=personas.alice,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    invitation.teams.set([personas.support])
    return invitation, secret


def test_two_simultaneous_accepts_of_one_link_make_one_account(personas):
    invitation, _secret = _invitation(personas)
    first = Held(
        lambda: invitations.invitation_accept_new(
            invitation=Invitation.objects.get(pk=invitation.pk), username="first", password="pw-1"
        )
    ).begin()
    second = Worker(
        lambda: invitations.invitation_accept_new(
            invitation=Invitation.objects.get(pk=invitation.pk), username="second", password="pw-2"
        )
    )
    second.start()
    wait_for_lock_waiters(1)
    first.release()
    second.outcome()

    assert isinstance(second.error, invitations.InvitationGone), second.error
    users = get_user_model().objects.filter(username__in=["first", "second"])
    assert [u.username for u in users] == ["first"]
    assert Membership.objects.filter(company=personas.company_a).count() == 4
    invitation.refresh_from_db()
    assert invitation.accepted_by.username == "first"


def test_an_accept_racing_a_revoke_either_joins_or_is_refused_never_both(personas):
    invitation, _secret = _invitation(personas)
    revoke = Held(
        lambda: invitations.invitation_revoke(invitation=invitation, actor=personas.alice)
    ).begin()
    accept = Worker(
        lambda: invitations.invitation_accept_new(
            invitation=Invitation.objects.get(pk=invitation.pk), username="late", password="pw"
        )
    )
    accept.start()
    wait_for_lock_waiters(1)
    revoke.release()
    accept.outcome()
    assert isinstance(accept.error, invitations.InvitationGone), accept.error
    assert not get_user_model().objects.filter(username="late").exists()
