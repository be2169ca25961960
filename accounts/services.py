"""Everything that writes accounts: companies, memberships, teams and their members.

Invariant: accounts is the bottom app (like django.contrib.auth): nothing here
knows about inboxes or conversations.
"""

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Company, Membership, Team
from accounts.preferences import timezone_for_country
from chatbot_site.lib.audit import audit_event
from chatbot_site.lib.errors import ServiceError


@transaction.atomic
def company_create(
    *,
    slug: str,
    name: str,
    country: str = "DE",
    language: str = "de",
    timezone: str | None = None,
    data_location: str = "EU (Germany)",
    privacy_contact: str = "",
) -> Company:
    """A new company; its time zone defaults from its country (IE: Europe/Dublin)."""
    return Company.objects.create(
        slug=slug,
        name=name,
        country=country,
        language=language,
        timezone=timezone or timezone_for_country(country),
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


# --- teams (console: Teams & rights) -------------------------------------
# Invariant: a team only ever holds members of its own company; every change is
# written to the audit log with ids only. Rights on inboxes live next to Inbox
# (conversations.services.rights), which also deletes teams that hold rights.


class TeamError(ServiceError):
    """A team change that cannot be made; the message is shown to the admin."""

    code = "team_invalid"


def _audit_team(*, team: Team, actor, event: str, action: int, **data) -> None:
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
    """Delete a team and its group; its members keep their accounts.

    Rights the group holds go with it (database cascade, not audited): the console
    deletes teams through conversations.services.rights.team_delete, which
    revokes them first, each revoke audited.
    """
    group = team.group
    team.delete()
    group.delete()


def _member_check(*, team: Team, user) -> None:
    if not Membership.objects.filter(
        company_id=team.company_id, user=user, deactivated_at__isnull=True
    ).exists():
        raise TeamError(_("Only members of this company can join its teams."))


@transaction.atomic
def team_member_add_by(*, team: Team, user, actor) -> None:
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
