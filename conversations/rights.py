"""The four rights on inboxes, the role rules, and every question about them.

Invariant: this module is the ONE place that answers "may this membership do X
on this inbox" and "which inbox ids may it X", one function per question:

- ``inbox_ids``: on which of its company's inboxes does the membership hold a right;
- ``has_right``: does it hold a right on this inbox;
- ``rights_on_inbox``: which rights does it hold on this inbox;
- ``require_right``: the services' check, raising ``NotAllowed``;
- ``team_grants`` / ``rights_matrix``: which team was granted what (admin pages).

Rights live on inboxes (guardian's direct foreign-key model
InboxGroupObjectPermission, granted to teams' groups), never on single
conversations; every list filters conversations with an indexed
`inbox_id IN (...)` built from the ids answered here, and always with the
company filter as well. Services call ``require_right`` themselves; views only
translate ``NotAllowed`` into a response.

Role rules:
- admin: every right on every inbox of the company;
- operator: what their teams' groups were granted on this company's inboxes;
- viewer: what their teams grant, but never reply or erase.
Every right needs *see conversations* on the same inbox: personal data, reply
and erase on an inbox the user cannot see count for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from accounts.models import Company, Membership, Team
from chatbot_site.lib.errors import NotAllowed
from conversations.models import Inbox, InboxGroupObjectPermission

VIEW = "view_conversations"
PERSONAL_DATA = "view_personal_data"
REPLY = "reply_conversations"
ERASE = "erase_conversations"

RIGHTS: tuple[str, ...] = (VIEW, PERSONAL_DATA, REPLY, ERASE)
RIGHT_LABELS = {
    VIEW: _("See conversations"),
    PERSONAL_DATA: _("See personal data"),
    REPLY: _("Reply"),
    ERASE: _("Erase"),
}
RIGHT_HELP = {
    VIEW: _("Read conversations; personal data stays masked."),
    PERSONAL_DATA: _("Reveal masked personal data, with a reason that is logged."),
    REPLY: _("Take over, reply to and close conversations."),
    ERASE: _("Erase a visitor's data."),
}

# Rights a role can never hold, whatever its teams were granted.
ROLE_EXCLUDED: dict[str, frozenset[str]] = {
    Membership.Role.ADMIN: frozenset(),
    Membership.Role.OPERATOR: frozenset(),
    Membership.Role.VIEWER: frozenset({REPLY, ERASE}),
}

_CACHE_ATTR = "_hafen_inbox_rights"


@dataclass(frozen=True)
class _InboxRights:
    """Inbox ids per right for one membership (computed once per request)."""

    by_right: dict[str, frozenset[int]]

    def inbox_ids(self, right: str) -> frozenset[int]:
        return self.by_right.get(right, frozenset())


def _granted_rows(membership: Membership) -> list[tuple[int, str]]:
    """(inbox id, codename) pairs granted to the user's teams in this company.

    One query over a handful of rows: guardian's direct FK table joined to the
    user's groups (through Team, so only this company's teams count) and to
    Inbox (only this company's inboxes count).
    """
    team_groups = Team.objects.filter(
        company_id=membership.company_id, group__user=membership.user_id
    ).values("group_id")
    return list(
        InboxGroupObjectPermission.objects.filter(
            group__in=team_groups,
            permission__codename__in=RIGHTS,
            content_object__company_id=membership.company_id,
        )
        .values_list("content_object_id", "permission__codename")
        .distinct()
    )


def _compute(membership: Membership) -> _InboxRights:
    if membership.role == Membership.Role.ADMIN:
        all_ids = frozenset(
            Inbox.objects.filter(company_id=membership.company_id).values_list("id", flat=True)
        )
        return _InboxRights(by_right={right: all_ids for right in RIGHTS})
    granted: dict[str, set[int]] = {right: set() for right in RIGHTS}
    for inbox_id, codename in _granted_rows(membership):
        granted[codename].add(inbox_id)
    visible = frozenset(granted[VIEW])
    excluded = ROLE_EXCLUDED.get(membership.role, frozenset(RIGHTS))
    by_right = {
        right: frozenset() if right in excluded else frozenset(ids) & visible
        for right, ids in granted.items()
    }
    return _InboxRights(by_right=by_right)


def _rights(membership: Membership) -> _InboxRights:
    """The membership's rights, cached on the membership object for this request."""
    cached = getattr(membership, _CACHE_ATTR, None)
    if cached is None:
        cached = _compute(membership)
        setattr(membership, _CACHE_ATTR, cached)
    return cached


# --- the questions, one function each ------------------------------------


def inbox_ids(*, membership: Membership, right: str = VIEW) -> frozenset[int]:
    """The ids of the company's inboxes on which this membership holds `right`."""
    if right not in RIGHTS:
        raise ValueError(f"unknown right {right!r}")
    return _rights(membership).inbox_ids(right)


def has_right(*, membership: Membership, inbox_id: int, right: str) -> bool:
    """Whether this membership holds `right` on this inbox."""
    return inbox_id in inbox_ids(membership=membership, right=right)


def rights_on_inbox(*, membership: Membership, inbox_id: int) -> frozenset[str]:
    """Every right this membership holds on this inbox (what a page may offer)."""
    return frozenset(
        r for r in RIGHTS if has_right(membership=membership, inbox_id=inbox_id, right=r)
    )


def require_right(*, membership: Membership, inbox_id: int, right: str) -> None:
    """The services' check: raise NotAllowed unless the membership holds `right` here."""
    if not has_right(membership=membership, inbox_id=inbox_id, right=right):
        raise NotAllowed(_("You do not have the right to do this here."))


# --- who was granted what (admin pages, transparency) ----------------------


def team_grants(*, company: Company, teams: list[Team] | None = None) -> frozenset:
    """{(team id, inbox id, right)} granted to the company's teams on its inboxes (one query)."""
    if teams is None:
        teams = list(Team.objects.filter(company=company))
    by_group = {t.group_id: t.pk for t in teams}
    rows = InboxGroupObjectPermission.objects.filter(
        group_id__in=list(by_group),
        content_object__company=company,
        permission__codename__in=RIGHTS,
    ).values_list("group_id", "content_object_id", "permission__codename")
    return frozenset((by_group[g], i, r) for g, i, r in rows)


@dataclass(frozen=True)
class RightsMatrix:
    teams: list
    inboxes: list
    granted: frozenset  # {(team id, inbox id, right)}

    def rows(self) -> list[dict]:
        return [
            {
                "team": team,
                "cells": [
                    {
                        "inbox": inbox,
                        "rights": [
                            {
                                "right": right,
                                "label": RIGHT_LABELS[right],
                                "checked": (team.pk, inbox.pk, right) in self.granted,
                                "name": f"r-{team.pk}-{inbox.pk}-{right}",
                            }
                            for right in RIGHTS
                        ],
                    }
                    for inbox in self.inboxes
                ],
            }
            for team in self.teams
        ]


def rights_matrix(*, company: Company) -> RightsMatrix:
    """Teams × inboxes × rights of a company (three queries)."""
    teams = list(Team.objects.filter(company=company).select_related("group"))
    inboxes = list(Inbox.objects.filter(company=company).order_by("name", "id"))
    return RightsMatrix(
        teams=teams, inboxes=inboxes, granted=team_grants(company=company, teams=teams)
    )
