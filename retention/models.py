"""Retention policies, run summaries, legal holds and erasure requests.

Invariant: nothing is deleted before its window, under legal hold, or of
another company; every run and every erasure leaves a record without personal data.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Company
from chatbot_site.lib.audit import CompanyAudited
from conversations.models import Conversation, Visitor


def audit_retention_floor_days() -> int:
    """The fewest days any company keeps its audit entries (HAFEN_AUDIT_RETENTION_MIN_DAYS)."""
    return max(int(settings.HAFEN_AUDIT_RETENTION_MIN_DAYS), 1)


class RetentionPolicy(CompanyAudited, models.Model):
    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="retention")
    conversation_days = models.PositiveIntegerField(
        _("delete conversations after (days)"),
        default=180,
        help_text=_("Counted from the conversation's last message."),
    )
    personal_data_days = models.PositiveIntegerField(
        _("strip personal data after (days)"),
        default=30,
        help_text=_("Contact details wiped and personal data in messages redacted."),
    )
    audit_days = models.PositiveIntegerField(_("keep audit entries (days)"), default=365)
    run_hour = models.PositiveSmallIntegerField(
        _("run at hour"),
        default=3,
        help_text=_("Hour of day, in the company's time zone."),
    )
    next_run_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")
        indexes = [models.Index(fields=["next_run_at"], name="retention_next_run")]

    def __str__(self) -> str:
        return f"retention policy of company #{self.company_id}"

    def save(self, *args, **kwargs) -> None:
        """Refuses an audit_days below the floor on every path (services, shell, admin).

        A row stored below the floor before it existed may still be saved
        unchanged (its runs honour the floor anyway, retention.cutoffs).
        """
        update_fields = kwargs.get("update_fields")
        changed = self.audit_days != getattr(self, "_stored_audit_days", None)
        if changed and (update_fields is None or "audit_days" in update_fields):
            self.clean()
        super().save(*args, **kwargs)
        self._stored_audit_days = self.audit_days

    @classmethod
    def from_db(cls, db, field_names, values):
        policy = super().from_db(db, field_names, values)
        policy._stored_audit_days = policy.__dict__.get("audit_days")
        return policy

    def clean(self) -> None:
        super().clean()
        floor = audit_retention_floor_days()
        if self.audit_days is not None and self.audit_days < floor:
            raise ValidationError(
                {
                    "audit_days": _(
                        "Audit entries must be kept for at least %(days)s days "
                        "(the audit retention floor)."
                    )
                    % {"days": floor}
                },
                code="audit_days_below_floor",
            )


class RetentionRun(CompanyAudited, models.Model):
    class Outcome(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        PARTIAL = "partial", _("More to do (continued)")
        FAILED = "failed", _("Failed")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    conversation_cutoff = models.DateTimeField()
    personal_data_cutoff = models.DateTimeField()
    audit_cutoff = models.DateTimeField()
    conversations_deleted = models.PositiveIntegerField(default=0)
    messages_deleted = models.PositiveIntegerField(default=0)
    conversations_stripped = models.PositiveIntegerField(default=0)
    visitors_deleted = models.PositiveIntegerField(default=0)
    audit_entries_deleted = models.PositiveIntegerField(default=0)
    consent_records_deleted = models.PositiveIntegerField(default=0)
    messages_redacted = models.PositiveIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=100, blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    dry_run = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["company", "-started_at"], name="retention_run_company")]

    def __str__(self) -> str:
        return f"retention run #{self.pk}"


class LegalHold(CompanyAudited, models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="legal_holds"
    )
    reason = models.CharField(_("reason"), max_length=300)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    placed_at = models.DateTimeField(auto_now_add=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at"]

    def __str__(self) -> str:
        return f"legal hold #{self.pk}"


class ErasureRequest(CompanyAudited, models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")

    class Origin(models.TextChoices):
        ADMIN = "admin", _("Admin")
        VISITOR = "visitor", _("Visitor (self-service)")
        RESTORE = "restore", _("Re-applied after a restore")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    visitor = models.ForeignKey(
        Visitor, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    origin = models.CharField(max_length=16, choices=Origin.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    receipt = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    executed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"erasure request #{self.pk}"


class ErasureLedgerEntry(CompanyAudited, models.Model):
    """One executed erasure, recorded with pseudonymous references only.

    Written in the erasure's own transaction and mirrored to an append-only file
    outside the database (retention/services/ledger.py), so that a restore of an
    older backup can be followed by `manage.py reapply_erasures`. No personal data
    and no plaintext visitor id: `visitor_ref` and `token_ref` are keyed hashes
    (HMAC with a key derived from BLIND_INDEX_KEY) of the visitor's id and of their
    token hash, scoped to the company.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    request = models.OneToOneField(
        ErasureRequest, on_delete=models.CASCADE, related_name="ledger_entry"
    )
    origin = models.CharField(max_length=16, choices=ErasureRequest.Origin.choices)
    visitor_ref = models.CharField(max_length=64)
    token_ref = models.CharField(max_length=64, blank=True, default="")
    executed_at = models.DateTimeField()
    # The request id of the ledger entry this erasure re-applied after a restore.
    reapplies_request_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["executed_at", "id"]
        indexes = [
            models.Index(fields=["company", "executed_at"], name="erasure_ledger_company_time"),
            models.Index(fields=["executed_at"], name="erasure_ledger_time"),
        ]

    def __str__(self) -> str:
        return f"erasure ledger entry #{self.pk}"
