"""Reads of the People page: a company's members (active and deactivated) and invitations.

Every read is scoped to a company; a member or invitation of another company is
a 404 like a missing one.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Company, Invitation, Membership, Team
from chatbot_site.lib.crypto import hash_token
from chatbot_site.lib.tenancy import get_for_company_or_404


@dataclass(frozen=True)
class PersonRow:
    membership: Membership
    teams: list[Team]
    has_2fa: bool

    @property
    def user(self):
        return self.membership.user

    @property
    def active(self) -> bool:
        return self.membership.deactivated_at is None


def _team_ids_by_user(*, company: Company, user_ids: list[int]) -> dict[int, set[int]]:
    """Which of the company's teams each user is in: one query on the group membership table."""
    through = get_user_model().groups.through
    rows = through.objects.filter(
        user_id__in=user_ids, group__team__company_id=company.pk
    ).values_list("user_id", "group__team__id")
    found: dict[int, set[int]] = {}
    for user_id, team_id in rows:
        found.setdefault(user_id, set()).add(team_id)
    return found


def users_with_2fa(*, user_ids: list[int]) -> set[int]:
    """Of these users, the ones with a confirmed TOTP device (accounts.twofactor's rule), in one query."""
    return set(
        TOTPDevice.objects.filter(user_id__in=user_ids, confirmed=True).values_list(
            "user_id", flat=True
        )
    )


def people_list(*, company: Company) -> list[PersonRow]:
    """Every member of the company, active ones first, with teams and 2FA status (3 queries)."""
    memberships = list(
        Membership.objects.filter(company=company)
        .select_related("user")
        .order_by("deactivated_at", "user__username")
    )
    user_ids = [m.user_id for m in memberships]
    teams = {t.pk: t for t in Team.objects.filter(company=company)}
    by_user = _team_ids_by_user(company=company, user_ids=user_ids)
    with_2fa = users_with_2fa(user_ids=user_ids)
    return [
        PersonRow(
            membership=m,
            teams=sorted(
                (teams[t] for t in by_user.get(m.user_id, ()) if t in teams), key=lambda t: t.name
            ),
            has_2fa=m.user_id in with_2fa,
        )
        for m in memberships
    ]


def person_row(*, membership: Membership) -> PersonRow:
    """One member's row (the member page), as people_list builds it."""
    team_ids = member_team_ids(membership=membership)
    return PersonRow(
        membership=membership,
        teams=list(Team.objects.filter(company_id=membership.company_id, pk__in=team_ids)),
        has_2fa=bool(users_with_2fa(user_ids=[membership.user_id])),
    )


def member_get(*, company: Company, user_id: int) -> Membership:
    """The membership of this user in this company (active or not); else 404."""
    return get_for_company_or_404(
        Membership.objects.select_related("user", "company"), company_id=company.pk, user_id=user_id
    )


def member_team_ids(*, membership: Membership) -> set[int]:
    return _team_ids_by_user(company=membership.company, user_ids=[membership.user_id]).get(
        membership.user_id, set()
    )


def invitations_pending(*, company: Company) -> QuerySet[Invitation]:
    """Invitations neither accepted nor revoked, expired ones included (they can be resent)."""
    return (
        Invitation.objects.filter(
            company=company, accepted_at__isnull=True, revoked_at__isnull=True
        )
        .prefetch_related("teams")
        .order_by("-created_at")
    )


def invitation_get(*, company: Company, invitation_id: int) -> Invitation:
    return get_for_company_or_404(Invitation.objects.all(), company_id=company.pk, pk=invitation_id)


def invitation_by_secret(*, secret: str) -> Invitation | None:
    """The invitation whose link carries this secret (only its hash is stored), else None."""
    if not secret or len(secret) > 200:
        return None
    return (
        Invitation.objects.select_related("company")
        .prefetch_related("teams")
        .filter(token_hash=hash_token(secret))
        .first()
    )


def invitation_is_usable(invitation: Invitation, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > now
    )


def active_member_with_email(*, company: Company, email: str) -> bool:
    return Membership.objects.filter(
        company=company, deactivated_at__isnull=True, user__email__iexact=email.strip()
    ).exists()


def pending_invitation_for_email(*, company: Company, email: str) -> bool:
    return invitations_pending(company=company).filter(email__iexact=email.strip()).exists()


def users_with_email(*, email: str) -> QuerySet:
    return get_user_model().objects.filter(email__iexact=email.strip(), is_active=True)
