"""Staff management by company admins: roles, teams, deactivation, 2FA reset.

Invariants:
- a company always keeps at least one active admin: every change that could
  remove the last one (demote, deactivate) first locks the company's row
  (SELECT ... FOR UPDATE), so two admins demoting each other at once are
  serialised and the second is refused;
- each change is a conditional write on what was read (role, deactivated_at)
  and its row count is checked: a lost race is a clear refusal;
- deactivation keeps the membership row and everything the person wrote;
  access ends at once because every request-time lookup skips deactivated
  memberships, and their sessions end when no other company is left to them;
- audit entries carry ids and labels only.
"""

from auditlog.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Company, Membership, Team
from accounts.sessions import end_sessions
from accounts.twofactor import twofactor_reset
from chatbot_site.lib.audit import audit_event
from chatbot_site.lib.errors import ServiceError


class PeopleError(ServiceError):
    """A change to a member that cannot be made; the message is shown to the admin."""

    code = "member_invalid"


class LastAdminError(PeopleError):
    code = "last_admin"
    status = 409


def _audit(*, membership: Membership, actor, event: str, **data) -> None:
    audit_event(
        company_id=membership.company_id,
        actor=actor,
        obj=membership,
        action=LogEntry.Action.UPDATE,
        event=event,
        user_id=membership.user_id,
        membership_id=membership.pk,
        **data,
    )


def _lock_company(company_id: int) -> None:
    """Serialise member changes of one company (PostgreSQL row lock; SQLite writes are serial)."""
    Company.objects.select_for_update().filter(pk=company_id).first()


def _other_active_admins(membership: Membership) -> int:
    return (
        Membership.objects.filter(
            company_id=membership.company_id,
            role=Membership.Role.ADMIN,
            deactivated_at__isnull=True,
        )
        .exclude(pk=membership.pk)
        .count()
    )


def _refuse_last_admin(membership: Membership, *, actor) -> None:
    if membership.role == Membership.Role.ADMIN and _other_active_admins(membership) == 0:
        if membership.user_id == getattr(actor, "pk", None):
            raise LastAdminError(
                _("You are the last admin of this company: make someone else admin first.")
            )
        raise LastAdminError(
            _("This is the last admin of the company: make someone else admin first.")
        )


def _fresh(membership: Membership) -> Membership:
    """Re-read after the lock: the decision is made on committed state, not the page's."""
    return Membership.objects.select_related("user", "company").get(pk=membership.pk)


@transaction.atomic
def member_role_change(*, membership: Membership, role: str, actor: AbstractBaseUser) -> Membership:
    if role not in Membership.Role.values:
        raise PeopleError(_("Choose a role."), field="role")
    _lock_company(membership.company_id)
    current = _fresh(membership)
    if current.deactivated_at is not None:
        raise PeopleError(_("Reactivate this person before changing their role."))
    if current.role == role:
        return current
    if role != Membership.Role.ADMIN:
        _refuse_last_admin(current, actor=actor)
    updated = Membership.objects.filter(
        pk=current.pk, role=current.role, deactivated_at__isnull=True
    ).update(role=role)
    if not updated:
        raise PeopleError(_("Someone else changed this person meanwhile; reload and try again."))
    old_role, current.role = current.role, role
    _audit(membership=current, actor=actor, event="member.role_changed", old=old_role, new=role)
    return current


@transaction.atomic
def member_teams_set(
    *, membership: Membership, teams: list[Team], actor: AbstractBaseUser
) -> Membership:
    """The person is in exactly these teams of the company (other companies' teams untouched)."""
    if any(t.company_id != membership.company_id for t in teams):
        raise PeopleError(_("Choose teams of this company."), field="teams")
    _lock_company(membership.company_id)
    current = _fresh(membership)
    if current.deactivated_at is not None:
        raise PeopleError(_("Reactivate this person before changing their teams."))
    user = current.user
    company_teams = Team.objects.filter(company_id=current.company_id)
    had = set(company_teams.filter(group__user=user).values_list("pk", flat=True))
    wanted = {t.pk for t in teams}
    added, removed = sorted(wanted - had), sorted(had - wanted)
    if not added and not removed:
        return current
    if added:
        user.groups.add(*company_teams.filter(pk__in=added).values_list("group_id", flat=True))
    if removed:
        user.groups.remove(*company_teams.filter(pk__in=removed).values_list("group_id", flat=True))
    _audit(
        membership=current,
        actor=actor,
        event="member.teams_changed",
        added_team_ids=added,
        removed_team_ids=removed,
    )
    return current


@transaction.atomic
def member_deactivate(*, membership: Membership, actor: AbstractBaseUser) -> Membership:
    """Access ends at once; the row, their teams and everything they wrote stay."""
    _lock_company(membership.company_id)
    current = _fresh(membership)
    if current.deactivated_at is not None:
        raise PeopleError(_("This person is deactivated already."))
    _refuse_last_admin(current, actor=actor)
    now = timezone.now()
    updated = Membership.objects.filter(pk=current.pk, deactivated_at__isnull=True).update(
        deactivated_at=now
    )
    if not updated:
        raise PeopleError(_("This person is deactivated already."))
    current.deactivated_at = now
    still_member = Membership.objects.filter(
        user_id=current.user_id, deactivated_at__isnull=True
    ).exists()
    ended = 0 if still_member else end_sessions(user=current.user, keep_session_key=None)
    _audit(membership=current, actor=actor, event="member.deactivated", sessions_ended=ended)
    return current


@transaction.atomic
def member_reactivate(*, membership: Membership, actor: AbstractBaseUser) -> Membership:
    _lock_company(membership.company_id)
    updated = Membership.objects.filter(pk=membership.pk, deactivated_at__isnull=False).update(
        deactivated_at=None
    )
    if not updated:
        raise PeopleError(_("This person is active already."))
    current = _fresh(membership)
    _audit(membership=current, actor=actor, event="member.reactivated")
    return current


@transaction.atomic
def member_2fa_reset(*, membership: Membership, actor: AbstractBaseUser) -> Membership:
    """Removes the person's second factor (lost phone); they set it up again at next sign-in."""
    current = _fresh(membership)
    if current.deactivated_at is not None:
        raise PeopleError(_("Reactivate this person before resetting their two-factor sign-in."))
    twofactor_reset(user=current.user)
    _audit(membership=current, actor=actor, event="member.2fa_reset")
    return current
