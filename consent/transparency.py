"""What the public transparency page shows: who may see what, how long data is kept.

Invariant: only team names, inbox names, rights, periods, notice versions and
the company's public labels leave this module; never a user, a username or a
visitor's data. It reads the live rights, so a grant shows up at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import Company, Team
from accounts.rights import ERASE, PERSONAL_DATA, REPLY, RIGHTS, VIEW
from conversations.models import Inbox, InboxGroupObjectPermission


@dataclass(frozen=True)
class TeamAccess:
    team: str
    rights: frozenset[str]

    @property
    def sentence(self) -> str:
        """Plain words for the rights, e.g. "reads and answers conversations, sees contact details"."""
        parts = [
            _("reads and answers conversations")
            if REPLY in self.rights
            else _("reads conversations")
        ]
        if PERSONAL_DATA in self.rights:
            parts.append(_("sees contact details"))
        else:
            parts.append(_("sees personal data only masked"))
        if ERASE in self.rights:
            parts.append(_("can erase a visitor's data"))
        return ", ".join(str(p) for p in parts)


@dataclass(frozen=True)
class InboxAccess:
    inbox: str
    notice_required: bool
    teams: list[TeamAccess]


@dataclass(frozen=True)
class Retention:
    conversation_days: int
    personal_data_days: int
    audit_days: int
    is_default: bool


def inbox_access(*, company: Company) -> list[InboxAccess]:
    """Per inbox, each team that can see it and what it may do (two queries).

    A right without "see conversations" on the same inbox counts for nothing
    (accounts.rights), so such teams are left out.
    """
    granted: dict[tuple[int, int], set[str]] = {}
    rows = InboxGroupObjectPermission.objects.filter(
        content_object__company_id=company.pk,
        permission__codename__in=RIGHTS,
        group__team__company_id=company.pk,
    ).values_list("content_object_id", "group__team__id", "permission__codename")
    for inbox_id, team_id, codename in rows:
        granted.setdefault((inbox_id, team_id), set()).add(codename)
    teams = {t.pk: t.name for t in Team.objects.filter(company=company)}
    result = []
    for inbox in Inbox.objects.filter(company=company).order_by("name", "id"):
        access = [
            TeamAccess(team=teams[team_id], rights=frozenset(rights))
            for (inbox_id, team_id), rights in granted.items()
            if inbox_id == inbox.pk and VIEW in rights and team_id in teams
        ]
        access.sort(key=lambda a: a.team.casefold())
        result.append(
            InboxAccess(inbox=inbox.name, notice_required=inbox.notice_required, teams=access)
        )
    return result


def retention_periods(*, company: Company) -> Retention:
    """The company's retention policy, or the defaults that apply without one."""
    from retention.models import RetentionPolicy

    policy = RetentionPolicy.objects.filter(company=company).first()
    if policy is not None:
        return Retention(
            conversation_days=policy.conversation_days,
            personal_data_days=policy.personal_data_days,
            audit_days=policy.audit_days,
            is_default=False,
        )
    field = RetentionPolicy._meta.get_field
    return Retention(
        conversation_days=field("conversation_days").default,
        personal_data_days=field("personal_data_days").default,
        audit_days=field("audit_days").default,
        is_default=True,
    )
