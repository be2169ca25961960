"""The four rights on inboxes, the role rules, and who may do what where.

Invariant: this module is the ONE place that answers "which inbox ids may this
membership see / reveal / reply / erase". Rights live on inboxes (guardian's
direct foreign-key model InboxGroupObjectPermission, granted to teams' groups),
never on single conversations; every list filters conversations with an
indexed `inbox_id IN (...)` built from the ids answered here, and always with
the company filter as well.

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

from accounts.models import Membership, Team

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
class InboxRights:
    """Inbox ids per right for one membership (computed once per request)."""

    by_right: dict[str, frozenset[int]]

    def inbox_ids(self, right: str) -> frozenset[int]:
        return self.by_right.get(right, frozenset())

    def has(self, right: str, inbox_id: int) -> bool:
        return inbox_id in self.inbox_ids(right)

    def on_inbox(self, inbox_id: int) -> frozenset[str]:
        return frozenset(r for r in RIGHTS if inbox_id in self.inbox_ids(r))


def _granted_rows(membership: Membership) -> list[tuple[int, str]]:
    """(inbox id, codename) pairs granted to the user's teams in this company.

    One query over a handful of rows: guardian's direct FK table joined to the
    user's groups (through Team, so only this company's teams count) and to
    Inbox (only this company's inboxes count).
    """
    from conversations.models import InboxGroupObjectPermission

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


def compute_rights(membership: Membership) -> InboxRights:
    from conversations.models import Inbox

    if membership.role == Membership.Role.ADMIN:
        all_ids = frozenset(
            Inbox.objects.filter(company_id=membership.company_id).values_list("id", flat=True)
        )
        return InboxRights(by_right={right: all_ids for right in RIGHTS})
    granted: dict[str, set[int]] = {right: set() for right in RIGHTS}
    for inbox_id, codename in _granted_rows(membership):
        granted[codename].add(inbox_id)
    visible = frozenset(granted[VIEW])
    excluded = ROLE_EXCLUDED.get(membership.role, frozenset(RIGHTS))
    by_right = {
        right: frozenset() if right in excluded else frozenset(ids) & visible
        for right, ids in granted.items()
    }
    return InboxRights(by_right=by_right)


def rights_for(membership: Membership) -> InboxRights:
    """The membership's rights, cached on the membership object for this request."""
    cached = getattr(membership, _CACHE_ATTR, None)
    if cached is None:
        cached = compute_rights(membership)
        setattr(membership, _CACHE_ATTR, cached)
    return cached


def forget_rights(membership: Membership) -> None:
    """Drop the cached answer (after a grant or revoke within the same request)."""
    if hasattr(membership, _CACHE_ATTR):
        delattr(membership, _CACHE_ATTR)


def inbox_ids(*, membership: Membership, right: str = VIEW) -> frozenset[int]:
    """The ids of the company's inboxes on which this membership holds `right`."""
    if right not in RIGHTS:
        raise ValueError(f"unknown right {right!r}")
    return rights_for(membership).inbox_ids(right)


def has_right(*, membership: Membership, inbox_id: int, right: str) -> bool:
    return inbox_id in inbox_ids(membership=membership, right=right)


def can_erase(*, membership: Membership, inbox_id: int) -> bool:
    """The erase permission check the erasure flow (retention) calls."""
    return has_right(membership=membership, inbox_id=inbox_id, right=ERASE)
