"""Each role × each right × each inbox, for list, detail, reply, reveal and erase.

A fresh user of company A with the given role joins a fresh team, which is
granted the given rights on inbox_a (never on inbox_a2). Admins hold every
right on every inbox; operators hold what the team grants; viewers hold what
the team grants but never reply or erase.
"""

import pytest
from django.urls import NoReverseMatch, reverse

from accounts import rights
from accounts.services import membership_set, rights_set, team_create, team_member_add
from conversations.models import Message
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

    # accounts.rights, the one place that answers it
    for right in rights.RIGHTS:
        assert rights.has_right(membership=membership, inbox_id=inbox.pk, right=right) == (
            right in allowed
        ), right
    assert rights.can_erase(membership=membership, inbox_id=inbox.pk) == (rights.ERASE in allowed)

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
        assert reveal.status_code == 200 and b"canary@example.net" in reveal.content
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
