"""Invitations: a one-time, expiring link that lets a person join a company.

Invariants:
- only the SHA-256 of a link's secret is stored (token_hash); the secret itself
  exists in the e-mail and in the inviting admin's flash message only;
- a link is used at most once: accepted_at is set by a conditional UPDATE
  (accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now), in the same
  transaction as the membership it creates, so two simultaneous accepts make
  one membership and one refusal;
- resend and revoke are conditional writes on a pending invitation;
- audit entries carry ids and labels, never the e-mail address.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Company, Invitation, Membership, Team
from accounts.people_selectors import active_member_with_email, pending_invitation_for_email
from chatbot_site.lib.audit import audit_event
from chatbot_site.lib.crypto import hash_token
from chatbot_site.lib.errors import ServiceError

log = logging.getLogger(__name__)


class InvitationError(ServiceError):
    """An invitation that cannot be sent, changed or accepted; the message says why."""

    code = "invitation_invalid"


class InvitationGone(InvitationError):
    """The link worked once but not any more: accepted, revoked or expired (410)."""

    code = "invitation_gone"
    status = 410


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    link: str
    mailed: bool


def invitation_ttl() -> timedelta:
    return timedelta(hours=settings.HAFEN_INVITATION_TTL_HOURS)


def invitation_link(*, secret: str, base_url: str) -> str:
    """The absolute link: HAFEN_PUBLIC_URL if set, else the base the view passes (its request)."""
    base = (settings.HAFEN_PUBLIC_URL or base_url).rstrip("/")
    return base + reverse("accounts:invitation_accept", kwargs={"secret": secret})


def _new_secret() -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    return secret, hash_token(secret)


def _send(*, invitation: Invitation, link: str) -> bool:
    """Mail the link, in the company's language. A failed send is logged (ids only), not raised:
    the admin still sees the link on the page and can pass it on or resend."""
    company = invitation.company
    context = {
        "company": company,
        "link": link,
        "expires_at": invitation.expires_at,
        "inviter": invitation.invited_by.get_username() if invitation.invited_by else "",
    }
    with translation.override(company.language), timezone.override(company.timezone):
        context["timezone"] = company.timezone
        context["role"] = invitation.get_role_display()
        subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
        body = render_to_string("accounts/email/invitation.txt", context)
    try:
        send_mail(subject, body, None, [invitation.email])
    except Exception:  # noqa: BLE001 (any backend failure: SMTP, DNS, timeouts)
        log.warning("invitation mail failed invitation_id=%s", invitation.pk, exc_info=False)
        return False
    return True


def _audit(*, invitation: Invitation, actor, event: str, action: int, **data) -> None:
    audit_event(
        company_id=invitation.company_id,
        actor=actor,
        obj=invitation,
        action=action,
        event=event,
        invitation_id=invitation.pk,
        **data,
    )


def invitation_create(
    *,
    company: Company,
    email: str,
    role: str,
    teams: list[Team],
    actor: AbstractBaseUser,
    base_url: str,
) -> SentInvitation:
    """An admin invites a person by e-mail with a role and teams; the link is mailed."""
    email = email.strip()
    if role not in Membership.Role.values:
        raise InvitationError(_("Choose a role."), field="role")
    if any(t.company_id != company.pk for t in teams):
        raise InvitationError(_("Choose teams of this company."), field="teams")
    secret, token_hash = _new_secret()
    with transaction.atomic():
        # Serialise invitations of one company so the two checks below cannot race.
        Company.objects.select_for_update().filter(pk=company.pk).first()
        if active_member_with_email(company=company, email=email):
            raise InvitationError(
                _("This person is already a member of %(company)s.") % {"company": company.name},
                field="email",
            )
        if pending_invitation_for_email(company=company, email=email):
            raise InvitationError(
                _("An invitation to this address is pending; resend or revoke it below."),
                field="email",
            )
        invitation = Invitation.objects.create(
            company=company,
            email=email,
            role=role,
            token_hash=token_hash,
            invited_by=actor,
            expires_at=timezone.now() + invitation_ttl(),
        )
        invitation.teams.set(teams)
        _audit(
            invitation=invitation,
            actor=actor,
            event="invitation.sent",
            action=LogEntry.Action.CREATE,
            role=role,
            team_ids=sorted(t.pk for t in teams),
        )
    link = invitation_link(secret=secret, base_url=base_url)
    return SentInvitation(
        invitation=invitation, link=link, mailed=_send(invitation=invitation, link=link)
    )


def invitation_resend(
    *, invitation: Invitation, actor: AbstractBaseUser, base_url: str
) -> SentInvitation:
    """A new link (the old one stops working), a new expiry, sent_count + 1."""
    secret, token_hash = _new_secret()
    with transaction.atomic():
        updated = Invitation.objects.filter(
            pk=invitation.pk,
            token_hash=invitation.token_hash,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        ).update(
            token_hash=token_hash,
            expires_at=timezone.now() + invitation_ttl(),
            sent_count=F("sent_count") + 1,
        )
        if not updated:
            raise InvitationGone(_("This invitation was accepted, revoked or resent meanwhile."))
        invitation.refresh_from_db()
        _audit(
            invitation=invitation,
            actor=actor,
            event="invitation.resent",
            action=LogEntry.Action.UPDATE,
            sent_count=invitation.sent_count,
        )
    link = invitation_link(secret=secret, base_url=base_url)
    return SentInvitation(
        invitation=invitation, link=link, mailed=_send(invitation=invitation, link=link)
    )


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: AbstractBaseUser) -> Invitation:
    updated = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if not updated:
        raise InvitationGone(_("This invitation was accepted or revoked meanwhile."))
    invitation.refresh_from_db()
    _audit(
        invitation=invitation,
        actor=actor,
        event="invitation.revoked",
        action=LogEntry.Action.UPDATE,
    )
    return invitation


def invitation_refusal(
    invitation: Invitation | None, *, now: datetime | None = None
) -> InvitationError | None:
    """Why this link cannot be used (None when it can): what the accept page shows."""
    now = now or timezone.now()
    if invitation is None:
        return InvitationError(
            _(
                "This invitation link is not valid. Check that you copied all of it, or ask for a new one."
            )
        )
    if invitation.accepted_at is not None:
        return InvitationGone(_("This invitation has been used already. Sign in instead."))
    if invitation.revoked_at is not None:
        return InvitationGone(_("This invitation was withdrawn. Ask the person who invited you."))
    if invitation.expires_at <= now:
        return InvitationGone(_("This invitation has expired. Ask for a new one."))
    return None


def _claim(*, invitation: Invitation, now: datetime) -> None:
    """The one-time step: a conditional UPDATE; a lost race or a stale link changes nothing."""
    claimed = Invitation.objects.filter(
        pk=invitation.pk,
        token_hash=invitation.token_hash,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).update(accepted_at=now)
    if not claimed:
        invitation.refresh_from_db()
        raise invitation_refusal(invitation, now=now) or InvitationGone(
            _("This invitation has been used already. Sign in instead.")
        )


def _join(*, invitation: Invitation, user: AbstractBaseUser) -> Membership:
    membership = Membership.objects.filter(user=user, company_id=invitation.company_id).first()
    if membership is not None and membership.deactivated_at is None:
        raise InvitationError(
            _("You are already a member of %(company)s.") % {"company": invitation.company.name}
        )
    if membership is None:
        membership = Membership.objects.create(
            user=user, company_id=invitation.company_id, role=invitation.role
        )
    else:  # a former member comes back with the invitation's role
        membership.role = invitation.role
        membership.deactivated_at = None
        membership.save(update_fields=["role", "deactivated_at"])
    groups = [t.group_id for t in invitation.teams.filter(company_id=invitation.company_id)]
    user.groups.add(*groups)
    Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
    _audit(
        invitation=invitation,
        actor=user,
        event="invitation.accepted",
        action=LogEntry.Action.UPDATE,
        user_id=user.pk,
        membership_id=membership.pk,
        role=invitation.role,
    )
    return membership


def invitation_accept_existing(*, invitation: Invitation, user: AbstractBaseUser) -> Membership:
    """A signed-in person accepts: a membership in one more company."""
    now = timezone.now()
    try:
        with transaction.atomic():
            _claim(invitation=invitation, now=now)
            return _join(invitation=invitation, user=user)
    except IntegrityError:  # joined the same company through another invitation meanwhile
        raise InvitationError(
            _("You are already a member of %(company)s.") % {"company": invitation.company.name}
        ) from None


def invitation_accept_new(
    *, invitation: Invitation, username: str, password: str
) -> tuple[AbstractBaseUser, Membership]:
    """A new person accepts: their account (password already validated by the form) and membership."""
    now = timezone.now()
    User = get_user_model()
    try:
        with transaction.atomic():
            _claim(invitation=invitation, now=now)
            if User.objects.filter(username__iexact=username).exists():
                raise InvitationError(
                    _("This username is taken; choose another."), field="username"
                )
            user = User.objects.create_user(
                username=username, password=password, email=invitation.email
            )
            membership = _join(invitation=invitation, user=user)
    except IntegrityError:  # the same username created meanwhile
        raise InvitationError(
            _("This username is taken; choose another."), field="username"
        ) from None
    return user, membership
