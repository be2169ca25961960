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

    class Meta:
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
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="team_unique_name")]

    def __str__(self) -> str:
        return self.name


class EncryptionSentinel(models.Model):
    """One row written at first migration; decrypting it proves the keys work."""

    value = EncryptedCharField(max_length=64)

    SENTINEL = "hafen-encryption-sentinel"

    def __str__(self) -> str:
        return "encryption sentinel"
