"""Everything that writes inbox rights: the rights matrix, and deleting a team that holds rights.

Invariant: a team only ever holds rights on its own company's inboxes; any
right granted comes with *see conversations* on the same inbox; every grant
and revoke is one audit entry with ids only (team, inbox, right), written in
the same transaction. guardian's own row writes are not logged row by row.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.db import transaction
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts import services as accounts_services
from accounts.models import Company, Team
from accounts.services import TeamError
from chatbot_site.lib.audit import audit_event
from conversations.models import Inbox, InboxGroupObjectPermission
from conversations.rights import RIGHTS, VIEW


@dataclass(frozen=True)
class RightsChange:
    granted: int
    revoked: int


def _current_rights(*, team: Team) -> set[tuple[int, str]]:
    """(inbox id, right) pairs the team's group holds now."""
    rows = InboxGroupObjectPermission.objects.filter(
        group_id=team.group_id, permission__codename__in=RIGHTS
    ).values_list("content_object_id", "permission__codename")
    return set(rows)


def _apply_rights(*, team: Team, desired: set[tuple[int, str]], actor) -> RightsChange:
    """Bring one team's rights to `desired` ((inbox id, right) pairs); audit each change."""
    current = _current_rights(team=team)
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
            audit_event(
                company_id=team.company_id,
                actor=actor,
                obj=team,
                action=action,
                event=event,
                team_id=team.pk,
                inbox_id=inbox_id,
                right=right,
            )
    return RightsChange(granted=len(to_grant), revoked=len(to_revoke))


@transaction.atomic
def rights_set(*, company: Company, grants: set[tuple[int, int, str]], actor) -> RightsChange:
    """Make the rights matrix of a company exactly `grants` ((team id, inbox id, right)).

    Any right implies *see conversations* on the same inbox, so that is granted
    with it. Ids of other companies' teams or inboxes are refused (TeamError),
    nothing is written.
    """
    teams = {t.pk: t for t in Team.objects.filter(company=company).select_related("group")}
    inbox_ids = set(Inbox.objects.filter(company=company).values_list("id", flat=True))
    for team_id, inbox_id, right in grants:
        if team_id not in teams or inbox_id not in inbox_ids or right not in RIGHTS:
            raise TeamError(_("The rights refer to a team or inbox that does not exist."))
    desired = set(grants) | {(t, i, VIEW) for t, i, _r in grants}
    granted = revoked = 0
    for team in teams.values():
        change = _apply_rights(
            team=team,
            desired={(i, r) for t, i, r in desired if t == team.pk},
            actor=actor,
        )
        granted += change.granted
        revoked += change.revoked
    return RightsChange(granted=granted, revoked=revoked)


@transaction.atomic
def team_delete(*, team: Team, actor) -> None:
    """Delete a team: its rights are revoked first (each revoke audited), then the
    team and its group go (accounts); its members keep their accounts."""
    _apply_rights(team=team, desired=set(), actor=actor)
    accounts_services.team_delete(team=team, actor=actor)
