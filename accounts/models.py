"""Tenants, memberships, teams, and the audit log's entry model.

Invariant: every row of the product belongs to exactly one Company. Audit
entries (django-auditlog's LogEntry) carry it as additional_data["company_id"],
written by each model's get_additional_data() (the CompanyAudited mixin of
chatbot_site.lib.audit), so the audit page can be scoped.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _
from encrypted_model_fields.fields import EncryptedCharField

from chatbot_site.lib.audit import CompanyAudited


class Company(CompanyAudited, models.Model):
    slug = models.SlugField(_("slug"), unique=True, max_length=60)
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(
        _("country"),
        max_length=2,
        default="DE",
        help_text=_("ISO 3166 code; the default region for phone numbers."),
    )
    language = models.CharField(
        _("language"), max_length=8, default="de", choices=settings.LANGUAGES
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Berlin")
    data_location = models.CharField(
        _("data location"),
        max_length=200,
        default="EU (Germany)",
        help_text=_("Where the data is stored, shown on the transparency page."),
    )
    privacy_contact = models.CharField(
        _("privacy contact"),
        max_length=300,
        blank=True,
        help_text=_("The data protection officer or contact address, shown publicly."),
    )
    require_2fa = models.BooleanField(
        _("two-factor sign-in required for all staff"),
        default=False,
        help_text=_(
            "Anyone without two-factor sign-in is sent to set it up before any console page."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    audit_company_path = "pk"  # a company's own row: its id is the company id


class Membership(CompanyAudited, models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        OPERATOR = "operator", _("Operator")
        VIEWER = "viewer", _("Viewer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # A deactivated member keeps the row (and everything they wrote) but has no
    # access: every request-time lookup of a membership filters on this.
    deactivated_at = models.DateTimeField(_("deactivated"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "company"], name="membership_unique_user")
        ]
        indexes = [models.Index(fields=["company", "role"], name="membership_company_role")]

    def __str__(self) -> str:
        return f"membership #{self.pk} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class Team(CompanyAudited, models.Model):
    """A group of staff; guardian permissions are granted to its auth Group."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=100)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="team_unique_name")]

    def __str__(self) -> str:
        return self.name


class Invitation(CompanyAudited, models.Model):
    """A one-time link that lets a person join a company with a role and teams.

    Only a hash of the link's secret is stored; the link works once (accepted_at
    is set by a conditional write) and not after expires_at or revoked_at.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=16, choices=Membership.Role.choices)
    teams = models.ManyToManyField(Team, blank=True, related_name="+", verbose_name=_("teams"))
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    sent_count = models.PositiveIntegerField(default=1)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["company", "email"], name="invitation_company_email")]

    def __str__(self) -> str:
        return f"invitation #{self.pk}"


class RecoveryCode(models.Model):
    """One two-factor recovery code, stored as a password hash, usable once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code #{self.pk}"


class StaffSession(models.Model):
    """Index of a staff member's signed-in sessions, for "sign out other sessions".

    The session itself is Django's; this row names it (by key) with what a
    person needs to recognise it. No IP address is kept.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    user_agent = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("staff session")
        verbose_name_plural = _("staff sessions")
        indexes = [models.Index(fields=["user", "-last_seen_at"], name="staffsession_user_seen")]

    def __str__(self) -> str:
        return f"session #{self.pk}"


class EncryptionSentinel(models.Model):
    """One row written at first migration; decrypting it proves the keys work."""

    value = EncryptedCharField(max_length=64)

    SENTINEL = "hafen-encryption-sentinel"

    def __str__(self) -> str:
        return "encryption sentinel"


class StaffPreference(models.Model):
    """A staff member's console language and time zone, remembered across sessions.

    Blank means "as the company": the console then speaks Company.language and
    shows times in Company.timezone.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_preference"
    )
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)
    timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("staff preference")
        verbose_name_plural = _("staff preferences")

    def __str__(self) -> str:
        return f"preferences of user #{self.user_id}"
