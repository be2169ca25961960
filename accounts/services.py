"""Everything that writes accounts: companies, memberships, teams, rights."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Company, Membership, Team


@transaction.atomic
def company_create(
    *,
    slug: str,
    name: str,
    country: str = "DE",
    language: str = "de",
    data_location: str = "EU (Germany)",
    privacy_contact: str = "",
) -> Company:
    return Company.objects.create(
        slug=slug,
        name=name,
        country=country,
        language=language,
        data_location=data_location,
        privacy_contact=privacy_contact,
    )


@transaction.atomic
def membership_set(*, user: AbstractBaseUser, company: Company, role: str) -> Membership:
    membership, _created = Membership.objects.update_or_create(
        user=user, company=company, defaults={"role": role}
    )
    return membership


@transaction.atomic
def team_create(*, company: Company, name: str) -> Team:
    # Group names are global; prefix with the company id so two companies may
    # both have a team called "Support".
    group = Group.objects.create(name=f"c{company.pk}:{name}")
    return Team.objects.create(company=company, name=name, group=group)


def team_member_add(*, team: Team, user: AbstractBaseUser) -> None:
    team.group.user_set.add(user)


def team_member_remove(*, team: Team, user: AbstractBaseUser) -> None:
    team.group.user_set.remove(user)


def user_create(*, username: str, password: str, email: str = "", **extra) -> AbstractBaseUser:
    return get_user_model().objects.create_user(
        username=username, password=password, email=email, **extra
    )


# --- teams and rights (console: Teams & rights) ----------------------------
# Invariant: a team only ever holds members of its own company and rights on its
# own company's inboxes; every change is written to the audit log with ids only.


class TeamError(ValueError):
    """A team change that cannot be made; the message is shown to the admin."""


@dataclass(frozen=True)
class RightsChange:
    granted: int
    revoked: int


def _audit_team(*, team: Team, actor, event: str, action: int, **data) -> None:
    from chatbot_site.lib.audit import audit_event

    audit_event(
        company_id=team.company_id,
        actor=actor,
        obj=team,
        action=action,
        event=event,
        team_id=team.pk,
        **data,
    )


@transaction.atomic
def team_create_by(*, company: Company, name: str, actor) -> Team:
    """An admin creates a team (the Team row is audited by auditlog)."""
    name = name.strip()
    if not name:
        raise TeamError(_("A team needs a name."))
    if Team.objects.filter(company=company, name__iexact=name).exists():
        raise TeamError(_("A team with this name exists already."))
    return team_create(company=company, name=name)


@transaction.atomic
def team_rename(*, team: Team, name: str, actor) -> Team:
    name = name.strip()
    if not name:
        raise TeamError(_("A team needs a name."))
    clash = Team.objects.filter(company_id=team.company_id, name__iexact=name).exclude(pk=team.pk)
    if clash.exists():
        raise TeamError(_("A team with this name exists already."))
    team.name = name
    team.save(update_fields=["name"])
    Group.objects.filter(pk=team.group_id).update(name=f"c{team.company_id}:{name}")
    return team


@transaction.atomic
def team_delete(*, team: Team, actor) -> None:
    """Delete a team: its rights are revoked (audited), its members keep their accounts."""
    from conversations.models import Inbox

    inboxes = Inbox.objects.filter(company_id=team.company_id)
    _apply_rights(
        team=team,
        inboxes={i.pk: i for i in inboxes},
        desired=set(),
        actor=actor,
    )
    group = team.group
    team.delete()
    group.delete()


def _member_check(*, team: Team, user) -> None:
    if not Membership.objects.filter(company_id=team.company_id, user=user).exists():
        raise TeamError(_("Only members of this company can join its teams."))


@transaction.atomic
def team_member_add_by(*, team: Team, user, actor) -> None:
    from auditlog.models import LogEntry

    _member_check(team=team, user=user)
    if team.group.user_set.filter(pk=user.pk).exists():
        return
    team_member_add(team=team, user=user)
    _audit_team(
        team=team,
        actor=actor,
        event="team.member_add",
        action=LogEntry.Action.UPDATE,
        user_id=user.pk,
    )


@transaction.atomic
def team_member_remove_by(*, team: Team, user, actor) -> None:
    from auditlog.models import LogEntry

    if not team.group.user_set.filter(pk=user.pk).exists():
        return
    team_member_remove(team=team, user=user)
    _audit_team(
        team=team,
        actor=actor,
        event="team.member_remove",
        action=LogEntry.Action.UPDATE,
        user_id=user.pk,
    )


def _current_rights(*, teams: list[Team]) -> set[tuple[int, int, str]]:
    from accounts.rights import RIGHTS
    from conversations.models import InboxGroupObjectPermission

    by_group = {t.group_id: t.pk for t in teams}
    rows = InboxGroupObjectPermission.objects.filter(
        group_id__in=list(by_group), permission__codename__in=RIGHTS
    ).values_list("group_id", "content_object_id", "permission__codename")
    return {(by_group[g], inbox_id, code) for g, inbox_id, code in rows}


def _apply_rights(
    *, team: Team, inboxes: dict, desired: set[tuple[int, str]], actor
) -> RightsChange:
    """Bring one team's rights to `desired` ((inbox id, right) pairs); audit each change."""
    from auditlog.context import disable_auditlog
    from auditlog.models import LogEntry
    from guardian.shortcuts import assign_perm, remove_perm

    from accounts.rights import RIGHTS
    from conversations.models import Inbox

    current = {(i, r) for _t, i, r in _current_rights(teams=[team])}
    to_grant = desired - current
    to_revoke = current - desired
    # guardian's writes themselves are not logged row by row: the explicit
    # entries below carry the event name, the team, the inbox and the right.
    with disable_auditlog():
        for right in RIGHTS:
            grant_ids = [i for i, r in to_grant if r == right]
            revoke_ids = [i for i, r in to_revoke if r == right]
            if grant_ids:
                assign_perm(
                    f"conversations.{right}", team.group, Inbox.objects.filter(pk__in=grant_ids)
                )
            if revoke_ids:
                remove_perm(
                    f"conversations.{right}", team.group, Inbox.objects.filter(pk__in=revoke_ids)
                )
    for changes, event, action in (
        (to_grant, "rights.grant", LogEntry.Action.CREATE),
        (to_revoke, "rights.revoke", LogEntry.Action.DELETE),
    ):
        for inbox_id, right in sorted(changes):
            _audit_team(
                team=team, actor=actor, event=event, action=action, inbox_id=inbox_id, right=right
            )
    return RightsChange(granted=len(to_grant), revoked=len(to_revoke))


@transaction.atomic
def rights_set(*, company: Company, grants: set[tuple[int, int, str]], actor) -> RightsChange:
    """Make the rights matrix of a company exactly `grants` ((team id, inbox id, right)).

    Any right implies *see conversations* on the same inbox, so that is granted
    with it. Ids of other companies' teams or inboxes are refused, nothing is written.
    """
    from accounts.rights import RIGHTS, VIEW
    from conversations.models import Inbox

    teams = {t.pk: t for t in Team.objects.filter(company=company).select_related("group")}
    inboxes = {i.pk: i for i in Inbox.objects.filter(company=company)}
    for team_id, inbox_id, right in grants:
        if team_id not in teams or inbox_id not in inboxes or right not in RIGHTS:
            raise TeamError(_("The rights refer to a team or inbox that does not exist."))
    desired = set(grants) | {(t, i, VIEW) for t, i, _r in grants}
    granted = revoked = 0
    for team in teams.values():
        change = _apply_rights(
            team=team,
            inboxes=inboxes,
            desired={(i, r) for t, i, r in desired if t == team.pk},
            actor=actor,
        )
        granted += change.granted
        revoked += change.revoked
    return RightsChange(granted=granted, revoked=revoked)
