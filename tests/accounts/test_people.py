"""The People page: members with role, teams, last sign-in, 2FA; role, teams, deactivation, 2FA reset."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership, RecoveryCode, StaffSession
from accounts.services import membership_set, team_create
from chatbot_site.lib.audit import audit_entries_for_company
from conversations import rights
from tests.conversations.console_helpers import conversation_in
from tests.factories import MessageFactory, UserFactory

pytestmark = pytest.mark.django_db


def events(company, event):
    return [
        e for e in audit_entries_for_company(company.pk) if e.additional_data.get("event") == event
    ]


def url(name, user):
    return reverse(f"accounts:{name}", kwargs={"user_id": user.pk})


def membership(personas, user) -> Membership:
    return Membership.objects.get(user=user, company=personas.company_a)


def signed_in(user) -> Client:
    """A client signed in through the real sign-in page (a StaffSession row is written)."""
    client = Client()
    response = client.post(
        reverse("accounts:login"),
        {"username": user.get_username(), "password": "correct horse battery staple"},
    )
    assert response.status_code == 302, response.content[:500]
    return client


def test_the_people_page_lists_members_with_role_teams_sign_in_and_2fa(personas, login):
    TOTPDevice.objects.create(user=personas.bob, name="phone", confirmed=True)
    TOTPDevice.objects.create(user=personas.charlie, name="phone", confirmed=False)
    personas.bob.last_login = timezone.now()
    personas.bob.save()
    page = login(personas.alice).get(reverse("accounts:people"))
    assert page.status_code == 200
    text = page.content.decode()
    for name in ("alice", "bob", "charlie", "Support", "Quality", "Operator", "Viewer"):
        assert name in text
    assert "dave" not in text and "Bravo" not in text
    rows = {r.user.username: r for r in page.context["people"]}
    assert set(rows) == {"alice", "bob", "charlie"}
    assert rows["bob"].has_2fa and not rows["charlie"].has_2fa and not rows["alice"].has_2fa
    assert [t.name for t in rows["bob"].teams] == ["Support"]
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]


def test_the_people_page_makes_the_same_number_of_queries_for_more_members(personas, login):
    client = login(personas.alice)
    client.get(reverse("accounts:people"))  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("accounts:people"))
    for i in range(6):
        user = UserFactory(username=f"extra{i}")
        membership_set(user=user, company=personas.company_a, role="viewer")
        personas.quality.group.user_set.add(user)
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("accounts:people"))
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_an_admin_changes_a_role_and_it_is_audited(personas, login):
    client = login(personas.alice)
    response = client.post(url("people_role", personas.bob), {"role": "viewer"})
    assert response.status_code == 302
    assert membership(personas, personas.bob).role == "viewer"
    [entry] = events(personas.company_a, "member.role_changed")
    assert entry.additional_data["old"] == "operator" and entry.additional_data["new"] == "viewer"
    assert entry.additional_data["user_id"] == personas.bob.pk
    # viewers may not reply: the role change is reflected in rights at once
    bob = membership(personas, personas.bob)
    assert not rights.has_right(membership=bob, inbox_id=personas.inbox_a.pk, right=rights.REPLY)
    assert rights.has_right(membership=bob, inbox_id=personas.inbox_a.pk, right=rights.VIEW)


def test_a_bad_role_is_a_form_error_and_changes_nothing(personas, login):
    response = login(personas.alice).post(url("people_role", personas.bob), {"role": "owner"})
    assert response.status_code == 400 and b"valid choice" in response.content
    assert membership(personas, personas.bob).role == "operator"
    assert not events(personas.company_a, "member.role_changed")


def test_the_last_admin_cannot_demote_themselves(personas, login):
    client = login(personas.alice)
    response = client.post(url("people_role", personas.alice), {"role": "operator"})
    assert response.status_code == 409
    assert b"last admin" in response.content
    assert membership(personas, personas.alice).role == "admin"
    assert not events(personas.company_a, "member.role_changed")


def test_the_last_admin_cannot_deactivate_themselves(personas, login):
    response = login(personas.alice).post(url("people_deactivate", personas.alice))
    assert response.status_code == 409 and b"last admin" in response.content
    assert membership(personas, personas.alice).deactivated_at is None


def test_the_last_admin_cannot_be_demoted_by_another_admin_who_was_deactivated_meanwhile(
    personas, login
):
    membership_set(user=personas.bob, company=personas.company_a, role="admin")
    client = login(personas.bob)
    # bob demotes himself while alice is still admin: fine
    assert client.post(url("people_role", personas.bob), {"role": "operator"}).status_code == 302
    # now alice is the last admin: nobody can demote her
    membership_set(user=personas.charlie, company=personas.company_a, role="admin")
    Membership.objects.filter(user=personas.charlie).update(deactivated_at=timezone.now())
    response = login(personas.alice).post(url("people_role", personas.alice), {"role": "viewer"})
    assert response.status_code == 409
    assert membership(personas, personas.alice).role == "admin"


def test_with_two_admins_one_may_demote_the_other(personas, login):
    membership_set(user=personas.bob, company=personas.company_a, role="admin")
    response = login(personas.alice).post(url("people_role", personas.bob), {"role": "operator"})
    assert response.status_code == 302
    assert membership(personas, personas.bob).role == "operator"


def test_an_admin_demoting_themselves_lands_on_the_console_home(personas, login):
    membership_set(user=personas.bob, company=personas.company_a, role="admin")
    client = login(personas.alice)
    response = client.post(url("people_role", personas.alice), {"role": "operator"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:home")
    assert client.get(reverse("accounts:people")).status_code == 404


def test_changing_teams_changes_rights_at_once(personas, login):
    conversation = conversation_in(personas.inbox_a, status="waiting")
    MessageFactory(conversation=conversation, body="hello")
    detail = reverse("conversations:detail", kwargs={"conversation_id": conversation.pk})
    bob = login(personas.bob)
    assert bob.get(detail).status_code == 200

    admin = login(personas.alice)
    response = admin.post(url("people_teams", personas.bob), {"teams": [personas.quality.pk]})
    assert response.status_code == 302
    assert set(personas.bob.groups.values_list("pk", flat=True)) == {personas.quality.group_id}
    [entry] = events(personas.company_a, "member.teams_changed")
    assert entry.additional_data["added_team_ids"] == [personas.quality.pk]
    assert entry.additional_data["removed_team_ids"] == [personas.support.pk]

    # no team: no inbox
    assert admin.post(url("people_teams", personas.bob), {}).status_code == 302
    assert not personas.bob.groups.exists()
    assert login(personas.bob).get(detail).status_code == 404


def test_another_companys_team_cannot_be_given(personas, login):
    other = team_create(company=personas.company_b, name="Elsewhere")
    response = login(personas.alice).post(url("people_teams", personas.bob), {"teams": [other.pk]})
    assert response.status_code == 400
    assert set(personas.bob.groups.values_list("pk", flat=True)) == {personas.support.group_id}
    assert not events(personas.company_a, "member.teams_changed")


def test_teams_of_another_company_are_kept_when_teams_change(personas, login):
    membership_set(user=personas.bob, company=personas.company_b, role="operator")
    other = team_create(company=personas.company_b, name="B-Team")
    personas.bob.groups.add(other.group)
    login(personas.alice).post(url("people_teams", personas.bob), {"teams": []})
    assert set(personas.bob.groups.values_list("pk", flat=True)) == {other.group_id}


def test_a_deactivated_member_loses_access_at_once_and_keeps_what_they_wrote(personas, login):
    conversation = conversation_in(personas.inbox_a, status="operator", assigned_to=personas.bob)
    message = MessageFactory(
        conversation=conversation, body="answer", sender="operator", author=personas.bob
    )
    bob = signed_in(personas.bob)
    detail = reverse("conversations:detail", kwargs={"conversation_id": conversation.pk})
    assert bob.get(detail).status_code == 200
    assert StaffSession.objects.filter(user=personas.bob).count() == 1

    response = login(personas.alice).post(url("people_deactivate", personas.bob))
    assert response.status_code == 302
    m = membership(personas, personas.bob)
    assert m.deactivated_at is not None
    # the session is gone: the next request is a sign-in redirect
    assert not StaffSession.objects.filter(user=personas.bob).exists()
    response = bob.get(detail)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    # even a session that survived (force_login, no index row) gets nothing
    assert Client().get(detail).status_code == 302
    stale = Client()
    stale.force_login(personas.bob)
    assert stale.get(detail).status_code == 404
    assert stale.get(reverse("conversations:list")).status_code == 404
    # nothing is deleted
    assert Membership.objects.filter(pk=m.pk).exists()
    message.refresh_from_db()
    assert message.author == personas.bob
    [entry] = events(personas.company_a, "member.deactivated")
    assert entry.additional_data["sessions_ended"] == 1
    # the team page no longer offers or lists bob
    page = login(personas.alice).get(
        reverse("accounts:team_detail", kwargs={"team_id": personas.quality.pk})
    )
    assert b"bob" not in page.content
    # the people page still lists bob, as deactivated
    assert b"deactivated" in login(personas.alice).get(reverse("accounts:people")).content


def test_a_member_of_two_companies_keeps_their_session_and_the_other_company(personas, login):
    membership_set(user=personas.bob, company=personas.company_b, role="viewer")
    bob = signed_in(personas.bob)
    login(personas.alice).post(url("people_deactivate", personas.bob))
    assert StaffSession.objects.filter(user=personas.bob).count() == 1
    page = bob.get(reverse("accounts:home"))
    assert page.status_code == 200
    assert b"Bravo" in page.content and b"Acme" not in page.content


def test_deactivating_twice_or_reactivating_an_active_member_is_a_clear_refusal(personas, login):
    client = login(personas.alice)
    assert client.post(url("people_deactivate", personas.bob)).status_code == 302
    response = client.post(url("people_deactivate", personas.bob))
    assert response.status_code == 400 and b"deactivated already" in response.content
    assert len(events(personas.company_a, "member.deactivated")) == 1
    assert client.post(url("people_reactivate", personas.bob)).status_code == 302
    response = client.post(url("people_reactivate", personas.bob))
    assert response.status_code == 400 and b"active already" in response.content
    assert len(events(personas.company_a, "member.reactivated")) == 1


def test_a_reactivated_member_gets_role_and_teams_back(personas, login):
    client = login(personas.alice)
    client.post(url("people_deactivate", personas.bob))
    client.post(url("people_reactivate", personas.bob))
    m = membership(personas, personas.bob)
    assert m.deactivated_at is None and m.role == "operator"
    conversation = conversation_in(personas.inbox_a)
    detail = reverse("conversations:detail", kwargs={"conversation_id": conversation.pk})
    assert login(personas.bob).get(detail).status_code == 200


def test_a_deactivated_member_cannot_get_a_new_role_or_teams(personas, login):
    client = login(personas.alice)
    client.post(url("people_deactivate", personas.bob))
    assert client.post(url("people_role", personas.bob), {"role": "admin"}).status_code == 400
    response = client.post(url("people_teams", personas.bob), {"teams": []})
    assert response.status_code == 400
    assert membership(personas, personas.bob).role == "operator"
    assert personas.bob.groups.filter(pk=personas.support.group_id).exists()


def test_an_admin_resets_a_members_2fa_and_it_is_logged(personas, login):
    TOTPDevice.objects.create(user=personas.bob, name="phone", confirmed=True)
    RecoveryCode.objects.create(user=personas.bob, code_hash="x")
    response = login(personas.alice).post(url("people_2fa_reset", personas.bob))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=personas.bob).exists()
    assert not RecoveryCode.objects.filter(user=personas.bob).exists()
    [entry] = events(personas.company_a, "member.2fa_reset")
    assert entry.actor == personas.alice and entry.additional_data["user_id"] == personas.bob.pk


def test_operators_and_viewers_cannot_manage_people(personas, login):
    for persona in (personas.bob, personas.charlie):
        client = login(persona)
        assert client.get(url("people_member", personas.alice)).status_code == 404
        assert (
            client.post(url("people_role", personas.alice), {"role": "viewer"}).status_code == 404
        )
        assert client.post(url("people_deactivate", personas.alice)).status_code == 404
    assert membership(personas, personas.alice).role == "admin"
    assert membership(personas, personas.alice).deactivated_at is None


def test_another_companys_admin_gets_404_and_changes_nothing(personas, login):
    dave = login(personas.dave)
    assert dave.get(url("people_member", personas.bob)).status_code == 404
    for name in ("people_role", "people_teams", "people_deactivate", "people_2fa_reset"):
        assert dave.post(url(name, personas.bob), {"role": "admin"}).status_code == 404
    assert b"bob" not in dave.get(reverse("accounts:people")).content
    m = membership(personas, personas.bob)
    assert m.role == "operator" and m.deactivated_at is None


def test_a_deactivated_admin_cannot_use_the_people_page(personas, login):
    membership_set(user=personas.bob, company=personas.company_a, role="admin")
    login(personas.alice).post(url("people_deactivate", personas.bob))
    assert login(personas.bob).get(reverse("accounts:people")).status_code == 404
