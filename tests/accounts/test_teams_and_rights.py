import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from guardian.shortcuts import assign_perm

from accounts.models import Membership, Team
from accounts.services import TeamError, team_create, team_member_add
from chatbot_site.lib.audit import audit_entries_for_company
from conversations import rights
from conversations.models import InboxGroupObjectPermission
from conversations.services.rights import rights_set
from tests.conversations.console_helpers import conversation_in

pytestmark = pytest.mark.django_db


def events(company, event):
    return [
        e for e in audit_entries_for_company(company.pk) if e.additional_data.get("event") == event
    ]


def test_an_admin_creates_a_team_and_sees_it_listed(personas, login):
    client = login(personas.alice)
    response = client.post(reverse("accounts:team_list"), {"name": "Billing"})
    team = Team.objects.get(company=personas.company_a, name="Billing")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:team_detail", kwargs={"team_id": team.pk})
    assert b"Billing" in client.get(reverse("accounts:team_list")).content


@pytest.mark.parametrize("name, error", [("  ", b"required"), ("support", b"exists already")])
def test_a_team_needs_a_new_non_empty_name(personas, login, name, error):
    response = login(personas.alice).post(reverse("accounts:team_list"), {"name": name})
    assert response.status_code == 400
    assert error in response.content
    assert Team.objects.filter(company=personas.company_a).count() == 2


def test_two_companies_may_both_have_a_team_called_support(personas, login):
    response = login(personas.dave).post(reverse("accounts:team_list"), {"name": "Support"})
    assert response.status_code == 302
    assert Team.objects.filter(name="Support").count() == 2


def test_an_admin_renames_a_team(personas, login):
    url = reverse("accounts:team_detail", kwargs={"team_id": personas.support.pk})
    assert login(personas.alice).post(url, {"name": "Front desk"}).status_code == 302
    personas.support.refresh_from_db()
    assert personas.support.name == "Front desk"


def test_members_can_be_added_only_from_the_companys_own_members(personas, login):
    client = login(personas.alice)
    url = reverse("accounts:team_member_add", kwargs={"team_id": personas.support.pk})
    page = client.get(reverse("accounts:team_detail", kwargs={"team_id": personas.support.pk}))
    assert b"charlie" in page.content and b"dave" not in page.content
    response = client.post(url, {"user": personas.dave.pk})
    assert response.status_code == 400
    assert not personas.support.group.user_set.filter(pk=personas.dave.pk).exists()
    assert client.post(url, {"user": personas.charlie.pk}).status_code == 302
    assert personas.support.group.user_set.filter(pk=personas.charlie.pk).exists()
    [entry] = events(personas.company_a, "team.member_add")
    assert entry.additional_data["user_id"] == personas.charlie.pk
    assert entry.actor_id == personas.alice.pk


def test_removing_a_member_takes_away_what_the_team_granted(personas, login):
    conversation = conversation_in(personas.inbox_a)
    url = reverse(
        "accounts:team_member_remove",
        kwargs={"team_id": personas.support.pk, "user_id": personas.bob.pk},
    )
    assert login(personas.alice).post(url).status_code == 302
    detail = reverse("conversations:detail", kwargs={"conversation_id": conversation.pk})
    assert login(personas.bob).get(detail).status_code == 404
    assert len(events(personas.company_a, "team.member_remove")) == 1


def test_deleting_a_team_revokes_its_rights_with_audit_entries(personas, login):
    team_id, group_id = personas.support.pk, personas.support.group_id
    url = reverse("accounts:team_delete", kwargs={"team_id": team_id})
    assert login(personas.alice).post(url).status_code == 302
    assert not Team.objects.filter(pk=team_id).exists()
    assert not InboxGroupObjectPermission.objects.filter(group_id=group_id).exists()
    revoked = {e.additional_data["right"] for e in events(personas.company_a, "rights.revoke")}
    assert revoked == {rights.VIEW, rights.REPLY}


def test_the_rights_matrix_shows_teams_by_inboxes_with_the_granted_rights_checked(personas, login):
    html = login(personas.alice).get(reverse("accounts:rights")).content.decode()
    s, a, a2 = personas.support.pk, personas.inbox_a.pk, personas.inbox_a2.pk
    assert f'name="r-{s}-{a}-view_conversations" value="1" checked' in html
    assert f'name="r-{s}-{a}-reply_conversations" value="1" checked' in html
    assert f'name="r-{s}-{a}-erase_conversations" value="1"' in html
    assert f'name="r-{s}-{a}-erase_conversations" value="1" checked' not in html
    assert f'name="r-{s}-{a2}-view_conversations" value="1" checked' not in html
    assert "Shop" in html and "Quality" in html


def test_saving_the_matrix_grants_and_revokes_and_the_operators_view_changes(personas, login):
    shop = conversation_in(personas.inbox_a2)
    bob = login(personas.bob)
    detail = reverse("conversations:detail", kwargs={"conversation_id": shop.pk})
    assert bob.get(detail).status_code == 404
    s, q = personas.support.pk, personas.quality.pk
    a, a2 = personas.inbox_a.pk, personas.inbox_a2.pk
    form = {
        f"r-{s}-{a}-view_conversations": "1",  # reply on inbox_a revoked
        f"r-{s}-{a2}-reply_conversations": "1",  # implies view on inbox_a2
        f"r-{q}-{a}-view_conversations": "1",
    }
    response = login(personas.alice).post(reverse("accounts:rights"), form)
    assert response.status_code == 302
    assert login(personas.bob).get(detail).status_code == 200
    granted = events(personas.company_a, "rights.grant")
    assert {(e.additional_data["inbox_id"], e.additional_data["right"]) for e in granted} == {
        (a2, rights.VIEW),
        (a2, rights.REPLY),
    }
    [revoked] = events(personas.company_a, "rights.revoke")
    assert (
        revoked.additional_data.items()
        >= {
            "team_id": s,
            "inbox_id": a,
            "right": rights.REPLY,
            "company_id": personas.company_a.pk,
        }.items()
    )
    assert revoked.actor_id == personas.alice.pk
    assert all(e.object_pk == str(s) for e in granted)


def test_rights_naming_another_companys_inbox_are_refused_and_nothing_is_written(personas):
    before = InboxGroupObjectPermission.objects.count()
    with pytest.raises(TeamError):
        rights_set(
            company=personas.company_a,
            grants={
                (personas.support.pk, personas.inbox_a2.pk, rights.VIEW),
                (personas.support.pk, personas.inbox_b.pk, rights.VIEW),
            },
            actor=personas.alice,
        )
    assert InboxGroupObjectPermission.objects.count() == before
    assert events(personas.company_a, "rights.grant") == []


def test_a_grant_made_outside_the_service_still_lands_on_the_companys_audit_log(personas):
    assign_perm("conversations.erase_conversations", personas.quality.group, personas.inbox_a2)
    entry = (
        LogEntry.objects.get_for_model(InboxGroupObjectPermission)
        .filter(action=LogEntry.Action.CREATE)
        .latest("id")
    )
    assert entry.additional_data["company_id"] == personas.company_a.pk


def test_a_viewer_never_replies_or_erases_whatever_the_team_grants(personas):
    rights_set(
        company=personas.company_a,
        grants={(personas.quality.pk, personas.inbox_a.pk, r) for r in rights.RIGHTS},
        actor=personas.alice,
    )
    charlie = Membership.objects.get(user=personas.charlie)
    assert rights.inbox_ids(membership=charlie, right=rights.PERSONAL_DATA) == {personas.inbox_a.pk}
    assert rights.inbox_ids(membership=charlie, right=rights.REPLY) == frozenset()
    assert not rights.has_right(
        membership=charlie, inbox_id=personas.inbox_a.pk, right=rights.ERASE
    )


def test_a_team_of_another_company_grants_nothing_here(personas):
    """Even if a user were put into company B's team, B's grants never open A's inboxes."""
    bravo_team = team_create(company=personas.company_b, name="Bravo support")
    team_member_add(team=bravo_team, user=personas.bob)
    assign_perm("conversations.view_conversations", bravo_team.group, personas.inbox_a2)
    bob = Membership.objects.get(user=personas.bob)
    assert rights.inbox_ids(membership=bob) == {personas.inbox_a.pk}


@pytest.mark.parametrize("user", ["bob", "charlie"])
@pytest.mark.parametrize("name", ["accounts:team_list", "accounts:rights", "accounts:audit"])
def test_operators_and_viewers_cannot_open_the_admin_pages(personas, login, user, name):
    assert login(getattr(personas, user)).get(reverse(name)).status_code == 404
