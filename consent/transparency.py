"""What the public transparency page shows of consent's and conversations' data: who may see what.

(How long data is kept comes from retention: chatbot_site.transparency.)

Invariant: only team names, inbox names, rights, periods, notice versions and
the company's public labels leave this module; never a user, a username or a
visitor's data. It reads the live rights, so a grant shows up at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import Company, Team
from conversations.models import Inbox
from conversations.rights import ERASE, PERSONAL_DATA, REPLY, VIEW, team_grants


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


def inbox_access(*, company: Company) -> list[InboxAccess]:
    """Per inbox, each team that can see it and what it may do (three queries).

    A right without "see conversations" on the same inbox counts for nothing
    (conversations.rights), so such teams are left out.
    """
    teams = list(Team.objects.filter(company=company))
    granted: dict[tuple[int, int], set[str]] = {}
    for team_id, inbox_id, codename in team_grants(company=company, teams=teams):
        granted.setdefault((inbox_id, team_id), set()).add(codename)
    names = {t.pk: t.name for t in teams}
    result = []
    for inbox in Inbox.objects.filter(company=company).order_by("name", "id"):
        access = [
            TeamAccess(team=names[team_id], rights=frozenset(rights))
            for (inbox_id, team_id), rights in granted.items()
            if inbox_id == inbox.pk and VIEW in rights
        ]
        access.sort(key=lambda a: a.team.casefold())
        result.append(
            InboxAccess(inbox=inbox.name, notice_required=inbox.notice_required, teams=access)
        )
    return result
