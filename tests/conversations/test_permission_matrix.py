"""Each role × each right × each inbox, for list, detail, reply, reveal and erase.

A fresh user of company A with the given role joins a fresh team, which is
granted the given rights on inbox_a (never on inbox_a2). Admins hold every
right on every inbox; operators hold what the team grants; viewers hold what
the team grants but never reply or erase.
"""

import pytest
from auditlog.models import LogEntry
from django.urls import NoReverseMatch, reverse
from guardian.shortcuts import assign_perm

from accounts.models import Membership
from accounts.services import membership_set, team_create, team_member_add
from consent.models import ContactRequest
from consent.services import contact_request
from conversations import rights
from conversations.models import Message
from conversations.rights import NotAllowed
from conversations.services.operator import (
    conversation_reply,
    conversation_take_over,
    personal_data_reveal,
)
from conversations.services.rights import rights_set
from tests.conversations.console_helpers import conversation_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GRANTS = {
    "none": set(),
    "view": {rights.VIEW},
    "view+personal": {rights.VIEW, rights.PERSONAL_DATA},
    "view+reply": {rights.VIEW, rights.REPLY},
    "erase": {rights.ERASE},  # every right includes seeing the inbox
}


def expected(role: str, granted: set[str], on_granted_inbox: bool) -> set[str]:
    if role == "admin":
        return set(rights.RIGHTS)
    if not on_granted_inbox or not granted:
        return set()
    effective = granted | {rights.VIEW}
    if role == "viewer":
        effective -= {rights.REPLY, rights.ERASE}
    return effective


@pytest.mark.parametrize("inbox_name", ["inbox_a", "inbox_a2"])
@pytest.mark.parametrize("grant", list(GRANTS))
@pytest.mark.parametrize("role", ["admin", "operator", "viewer"])
def test_the_permission_matrix(personas, client, role, grant, inbox_name):
    user = UserFactory()
    membership = membership_set(user=user, company=personas.company_a, role=role)
    team = team_create(company=personas.company_a, name=f"Matrix {role} {grant}")
    team_member_add(team=team, user=user)
    rights_set(
        company=personas.company_a,
        grants={(team.pk, personas.inbox_a.pk, r) for r in GRANTS[grant]}
        | {
            (t.pk, personas.inbox_a.pk, r)
            for t in (personas.support, personas.quality)
            for r in ({rights.VIEW, rights.REPLY} if t == personas.support else {rights.VIEW})
        },
        actor=personas.alice,
    )
    inbox = getattr(personas, inbox_name)
    conversation = conversation_in(inbox, status="waiting", body="Mail me: canary@example.net")
    allowed = expected(role, GRANTS[grant], inbox_name == "inbox_a")
    client.force_login(user)
    ids = {"conversation_id": conversation.pk}

    # conversations.rights, the one place that answers it (the erasure pages ask has_right(ERASE))
    for right in rights.RIGHTS:
        assert rights.has_right(membership=membership, inbox_id=inbox.pk, right=right) == (
            right in allowed
        ), right
    assert rights.has_right(membership=membership, inbox_id=inbox.pk, right=rights.ERASE) == (
        rights.ERASE in allowed
    )
    assert rights.rights_on_inbox(membership=membership, inbox_id=inbox.pk) == allowed

    # list
    listed = client.get(reverse("conversations:list")).content.decode()
    assert (f'data-conversation="{conversation.pk}"' in listed) == (rights.VIEW in allowed)

    # detail
    detail = client.get(reverse("conversations:detail", kwargs=ids))
    assert detail.status_code == (200 if rights.VIEW in allowed else 404)
    if detail.status_code == 200:
        html = detail.content.decode()
        assert "canary@example.net" not in html
        assert ('name="text"' in html) == (rights.REPLY in allowed)
        assert ("Reveal personal data" in html) == (rights.PERSONAL_DATA in allowed)
        try:
            reverse("retention:erasure_start", kwargs=ids)
            erasure_installed = True
        except NoReverseMatch:
            erasure_installed = False
        assert (">Erase<" in html) == (rights.ERASE in allowed and erasure_installed)

    # reveal
    reveal = client.post(reverse("conversations:reveal", kwargs=ids), {"reason": "ticket 42"})
    if rights.VIEW not in allowed:
        assert reveal.status_code == 404
    elif rights.PERSONAL_DATA in allowed:
        # Post/Redirect/Get: the page the reveal redirects to shows the data once
        assert reveal.status_code == 302
        assert b"canary@example.net" in client.get(reveal["Location"]).content
    else:
        assert reveal.status_code == 403 and b"canary@example.net" not in reveal.content

    # reply
    reply = client.post(reverse("conversations:reply", kwargs=ids), {"text": "Hello"})
    if rights.VIEW not in allowed:
        assert reply.status_code == 404
    else:
        assert reply.status_code == (302 if rights.REPLY in allowed else 403)
    assert Message.objects.filter(conversation=conversation, sender="operator").exists() == (
        rights.REPLY in allowed
    )


# --- services answer the rights question; pages only translate the answer ----


def _membership(user):
    return Membership.objects.get(user=user)


def test_the_services_refuse_before_they_look_at_anything_else(personas):
    """A viewer of inbox_a: each service raises NotAllowed, even for empty input,
    and writes nothing (no message, no contact request, no audit entry)."""
    conversation = conversation_in(personas.inbox_a)
    charlie = _membership(personas.charlie)
    entries_before = LogEntry.objects.count()
    with pytest.raises(NotAllowed):
        conversation_reply(membership=charlie, conversation=conversation, text="")
    with pytest.raises(NotAllowed):
        conversation_take_over(membership=charlie, conversation=conversation)
    with pytest.raises(NotAllowed):
        personal_data_reveal(membership=charlie, conversation=conversation, reason="")
    with pytest.raises(NotAllowed):
        contact_request(membership=charlie, conversation=conversation, purpose="")
    with pytest.raises(NotAllowed):
        rights.require_right(
            membership=charlie, inbox_id=personas.inbox_a.pk, right=rights.PERSONAL_DATA
        )
    assert not Message.objects.filter(conversation=conversation).exclude(sender="bot").exists()
    assert not ContactRequest.objects.exists()
    assert LogEntry.objects.count() == entries_before


def test_the_contact_request_service_asks_the_rights_module_itself(personas):
    conversation = conversation_in(personas.inbox_a)
    bob = _membership(personas.bob)  # may reply on inbox_a
    request = contact_request(membership=bob, conversation=conversation, purpose="Call back")
    assert request.requested_by_id == personas.bob.pk
    shop = conversation_in(personas.inbox_a2)  # bob may not even see it
    with pytest.raises(NotAllowed):
        contact_request(membership=bob, conversation=shop, purpose="Call back")


@pytest.mark.parametrize(
    "user, inbox_name, action, data, status",
    [
        ("charlie", "inbox_a", "conversations:reply", {"text": ""}, 403),
        ("charlie", "inbox_a", "conversations:reply", {"text": "x" * 5000}, 403),
        ("bob", "inbox_a", "conversations:reveal", {"reason": ""}, 403),
        # bob sees inbox_a2 (granted below) but may not reply there
        ("bob", "inbox_a2", "consent:request_contact", {"purpose": ""}, 404),
        # with the right, the same invalid forms are the form's 400 (or a message)
        ("bob", "inbox_a", "conversations:reply", {"text": ""}, 400),
        ("alice", "inbox_a", "conversations:reveal", {"reason": ""}, 400),
        ("bob", "inbox_a", "consent:request_contact", {"purpose": ""}, 302),
    ],
)
def test_a_page_translates_the_services_refusal_even_for_an_invalid_form(
    personas, login, user, inbox_name, action, data, status
):
    assign_perm("conversations.view_conversations", personas.support.group, personas.inbox_a2)
    conversation = conversation_in(getattr(personas, inbox_name))
    response = login(getattr(personas, user)).post(
        reverse(action, kwargs={"conversation_id": conversation.pk}), data
    )
    assert response.status_code == status
    assert not Message.objects.filter(conversation=conversation, sender="operator").exists()
    assert not ContactRequest.objects.exists()
