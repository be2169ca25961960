"""Privacy notices and consent records.

Invariant: a published notice never changes (a new version is a new row), and
every acceptance or withdrawal is a ConsentRecord: the proof Art. 7(1) asks for.
No IP address or user agent is ever recorded.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Company
from chatbot_site.lib.audit import CompanyAudited
from conversations.models import Visitor


class PrivacyNotice(CompanyAudited, models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="notices")
    version = models.PositiveIntegerField()
    language = models.CharField(
        _("language"), max_length=8, default="de", choices=settings.LANGUAGES
    )
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"))
    # The same notice in the other language (German <-> English), optional:
    # visitors and the transparency page get the one in their language.
    translation_title = models.CharField(_("title (translation)"), max_length=200, blank=True)
    translation_text = models.TextField(_("text (translation)"), blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("privacy notice")
        verbose_name_plural = _("privacy notices")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["company", "version"], name="notice_unique_version")
        ]

    def __str__(self) -> str:
        return f"notice v{self.version}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def translation_language(self) -> str:
        """The other of the two languages (German <-> English)."""
        return "en" if self.language == "de" else "de"

    def in_language(self, language: str) -> tuple[str, str, str]:
        """(language, title, text) for a reader of `language`; the main text if no translation."""
        if (
            language[:2] == self.translation_language
            and self.translation_title
            and self.translation_text
        ):
            return self.translation_language, self.translation_title, self.translation_text
        return self.language, self.title, self.text


class ConsentRecord(CompanyAudited, models.Model):
    class Purpose(models.TextChoices):
        NOTICE = "notice", _("Privacy notice accepted")
        CONTACT = "contact", _("Contact details stored")

    class Action(models.TextChoices):
        GRANTED = "granted", _("Granted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    action = models.CharField(max_length=16, choices=Action.choices)
    notice = models.ForeignKey(
        PrivacyNotice, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    purpose_text = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("The stated purpose shown to the visitor when contact details were asked for."),
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["recorded_at", "id"]
        indexes = [models.Index(fields=["company", "visitor", "purpose"], name="consent_visitor")]

    def __str__(self) -> str:
        return f"consent #{self.pk} {self.purpose} {self.action}"


class ContactRequest(CompanyAudited, models.Model):
    """A request for the visitor's contact details, with the purpose stated to them.

    Made by an operator from the console (it also posts a system message) and
    answered by the visitor with the contact form and its explicit opt-in.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="contact_requests"
    )
    message = models.ForeignKey(
        "conversations.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    purpose_text = models.CharField(_("purpose"), max_length=300)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact request")
        verbose_name_plural = _("contact requests")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["company", "conversation"], name="contact_request_conversation")
        ]

    def __str__(self) -> str:
        return f"contact request #{self.pk}"


class ProcessingRecordVersion(models.Model):
    """One version of the company's record of processing activities (Art. 30 GDPR).

    The record itself is generated from the live configuration every time
    (consent.records); a row here says that its content, fingerprinted by
    `content_hash`, has been valid since `created_at`. A new row is written
    only when the fingerprint differs from the latest one.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)  # sha256 of the canonical JSON, hex
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("version of the record of processing")
        verbose_name_plural = _("versions of the record of processing")
        ordering = ["-number"]
        constraints = [
            # Also the index of "latest version of company X" (company_id first).
            models.UniqueConstraint(fields=["company", "number"], name="record_unique_version")
        ]

    def __str__(self) -> str:
        return f"processing record v{self.number}"
