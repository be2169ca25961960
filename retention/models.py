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
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
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
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
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
        verbose_name = _("erasure")
        verbose_name_plural = _("erasures")
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
        verbose_name = _("erasure ledger entry")
        verbose_name_plural = _("erasure ledger entries")
        ordering = ["executed_at", "id"]
        indexes = [
            models.Index(fields=["company", "executed_at"], name="erasure_ledger_company_time"),
            models.Index(fields=["executed_at"], name="erasure_ledger_time"),
        ]

    def __str__(self) -> str:
        return f"erasure ledger entry #{self.pk}"


class SubjectRequest(CompanyAudited, models.Model):
    """A data subject's access, erasure or rectification request and its deadline (Art. 12(3)).

    Who it is about is recorded without personal data: the conversation reference
    the person gave, or the blind index of their contact e-mail (never the
    address). No foreign key to the visitor or conversation: erasure and
    retention delete those with raw statements, and the request must outlive
    them (accountability, Art. 5(2)). Notes and reasons are stored redacted.
    """

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access (Art. 15)")
        ERASURE = "erasure", _("Erasure (Art. 17)")
        RECTIFICATION = "rectification", _("Rectification (Art. 16)")

    class Channel(models.TextChoices):
        CHAT = "chat", _("Chat self-service")
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Letter")
        PHONE = "phone", _("Phone")
        IN_PERSON = "in_person", _("In person")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WAITING_IDENTITY = "waiting_identity", _("Waiting for identity")
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")

    OPEN_STATUSES = (Status.OPEN, Status.WAITING_IDENTITY)

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    channel = models.CharField(_("received by"), max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    received_on = models.DateField(_("received on"))
    due_on = models.DateField(_("due on"))
    extended_due_on = models.DateField(_("extended to"), null=True, blank=True)
    extension_months = models.PositiveSmallIntegerField(default=0)
    extension_reason = models.CharField(_("reason for the extension"), max_length=500, blank=True)
    conversation_reference = models.CharField(max_length=12, blank=True, default="")
    email_index = models.CharField(max_length=64, blank=True, default="")
    identity_verified = models.BooleanField(
        default=False, help_text=_("The visitor's own token was checked (chat self-service).")
    )
    erasure = models.ForeignKey(
        ErasureRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    exported_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    refusal_reason = models.CharField(_("reason for refusing"), max_length=500, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["company", "status", "due_on"], name="subject_request_due"),
            models.Index(fields=["company", "-received_on"], name="subject_request_company"),
        ]

    def __str__(self) -> str:
        return f"subject request #{self.pk}"

    @property
    def deadline(self):
        """The date the answer is due: the extended one, if extended."""
        return self.extended_due_on or self.due_on

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
