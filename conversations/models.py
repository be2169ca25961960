"""Inboxes, anonymous visitors, conversations and encrypted messages.

Invariant: message bodies and visitors' personal fields are stored encrypted;
a visitor is a random identifier (a token hash), never an IP address or agent.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from encrypted_model_fields.fields import EncryptedCharField, EncryptedTextField

from accounts.models import Company
from chatbot_site.lib.audit import CompanyAudited


def new_public_key() -> str:
    return secrets.token_urlsafe(16)


def new_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


class Inbox(CompanyAudited, models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="inboxes")
    name = models.CharField(_("name"), max_length=100)
    public_key = models.CharField(max_length=32, unique=True, default=new_public_key)
    greeting = models.TextField(_("greeting"), blank=True)
    language = models.CharField(
        _("language"), max_length=8, default="de", choices=settings.LANGUAGES
    )
    allowed_origins = models.TextField(
        _("allowed website origins"),
        blank=True,
        help_text=_(
            "One origin per line, e.g. https://www.example.com. Only these may embed the chat."
        ),
    )
    resume_enabled = models.BooleanField(
        _("resume across visits"),
        default=False,
        help_text=_(
            "Keep a random token in the visitor's browser so a returning visitor sees the conversation again."
        ),
    )
    token_ttl_days = models.PositiveIntegerField(_("resume token lifetime (days)"), default=30)
    notice_required = models.BooleanField(
        _("privacy notice must be accepted"),
        default=False,
        help_text=_("The chat starts only after the visitor accepted the current privacy notice."),
    )
    # Bumped (conditionally, F() + 1) on every FAQ change: each web process
    # rebuilds its intent model from the database when the version it holds is old.
    faq_version = models.PositiveIntegerField(default=1, editable=False)
    bot_miss_limit = models.PositiveSmallIntegerField(
        _("hand over after this many misses in a row"),
        default=2,
        help_text=_("0: never hand over because of misses."),
    )
    handover_immediately = models.BooleanField(
        _("hand over at once"),
        default=False,
        help_text=_("Skip the bot: every conversation waits for a person from its first message."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("inbox")
        verbose_name_plural = _("inboxes")
        ordering = ["name"]
        permissions = [
            ("view_conversations", _("See conversations (personal data masked)")),
            ("view_personal_data", _("See personal data")),
            ("reply_conversations", _("Reply to conversations")),
            ("erase_conversations", _("Erase conversations")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def origin_list(self) -> list[str]:
        return [
            line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()
        ]


class FaqEntry(CompanyAudited, models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="faq_entries")
    questions = models.TextField(_("question variants"), help_text=_("One variant per line."))
    answer = models.TextField(_("answer"))
    asks_for_contact = models.BooleanField(
        _("asks for contact details"),
        default=False,
        help_text=_("After this answer the chat offers the contact form (with explicit opt-in)."),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        default="",
        choices=settings.LANGUAGES,
        help_text=_("Empty: the inbox's language."),
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["company", "inbox"], name="faq_company_inbox")]

    def __str__(self) -> str:
        return f"FAQ #{self.pk}"

    @property
    def question_list(self) -> list[str]:
        return [line.strip() for line in self.questions.splitlines() if line.strip()]


class Visitor(CompanyAudited, models.Model):
    """Anonymous: a token hash and timestamps; contact details only with consent."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="visitors")
    token_hash = models.CharField(max_length=64)
    token_expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    # Personal fields: only after explicit consent (consent app), encrypted.
    name = EncryptedCharField(max_length=200, blank=True, default="")
    email = EncryptedCharField(max_length=254, blank=True, default="")
    phone = EncryptedCharField(max_length=64, blank=True, default="")
    email_index = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")
        indexes = [
            models.Index(fields=["company", "token_hash"], name="visitor_company_token"),
            models.Index(fields=["company", "email_index"], name="visitor_company_email"),
        ]

    def __str__(self) -> str:
        return f"visitor #{self.pk}"

    @property
    def has_contact_details(self) -> bool:
        return bool(self.name or self.email or self.phone)


class Conversation(CompanyAudited, models.Model):
    class Status(models.TextChoices):
        BOT = "bot", _("With the bot")
        WAITING = "waiting", _("Waiting for a human")
        OPERATOR = "operator", _("With an operator")
        CLOSED = "closed", _("Closed")

    # No index of its own: every index below leads with company (each index
    # costs every message a write, as the conversation's last_message_at changes).
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="conversations")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="conversations")
    # Unique through Meta.constraints: looked up by equality only, so it needs
    # no second (LIKE) index, which unique=True adds on PostgreSQL.
    reference = models.CharField(max_length=12, default=new_reference)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOT)
    # Indexed only where set (conv_assigned_to): most conversations never get an
    # operator, and a NULL entry would be written on every message.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    started_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    personal_data_stripped_at = models.DateTimeField(null=True, blank=True)
    # Retention strips personal data per message: every message created at or
    # before this moment has been through the detector (None: none has yet).
    personal_data_stripped_through = models.DateTimeField(null=True, blank=True)
    legal_hold = models.BooleanField(default=False)
    # When the visitor asked for a person (the queue sorts waiting conversations
    # by it, longest-waiting first); None if they never did.
    waiting_since = models.DateTimeField(null=True, blank=True)
    # The last message id the assigned operator has seen: visitor messages after
    # it are their unread count. Reset when the assignee changes.
    assignee_read_message_id = models.BigIntegerField(null=True, blank=True)
    # The visitor's language (chosen from the browser or switched in the chat).
    language = models.CharField(max_length=8, blank=True, default="")
    # Bot misses in a row; the inbox's bot_miss_limit hands over. Conditional writes.
    bot_misses = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        indexes = [
            # console list and retention: one company, newest activity first
            models.Index(
                fields=["company", "-last_message_at", "-id"], name="conv_company_activity"
            ),
            models.Index(
                fields=["company", "inbox", "-last_message_at", "-id"],
                name="conv_company_inbox_activity",
            ),
            models.Index(fields=["company", "status"], name="conv_company_status"),
            # for deleting a user (assigned_to set to NULL)
            models.Index(
                fields=["assigned_to"],
                condition=Q(assigned_to__isnull=False),
                name="conv_assigned_to",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="conversation_reference_unique")
        ]

    def __str__(self) -> str:
        return f"conversation {self.reference}"


class Message(CompanyAudited, models.Model):
    class Sender(models.TextChoices):
        VISITOR = "visitor", _("Visitor")
        BOT = "bot", _("Bot")
        OPERATOR = "operator", _("Operator")
        SYSTEM = "system", _("System")

    # Neither foreign key has an index of its own: message_company_created and
    # message_conversation_id lead with them (every message writes each index).
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    sender = models.CharField(max_length=16, choices=Sender.choices)
    # Only operators' messages have an author: indexed only where set (message_author).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    body = EncryptedTextField()
    redacted_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # The idempotency key a client sent with a visitor message: a retry with the
    # same key returns the stored message instead of writing a second one.
    client_key = models.CharField(max_length=64, null=True, blank=True, editable=False)

    class BotOutcome(models.TextChoices):
        ANSWERED = "answered", _("Answered")
        SUGGESTED = "suggested", _("Suggestions offered")
        NOT_UNDERSTOOD = "not_understood", _("Not understood")
        RESOLVED = "resolved", _("Added to the FAQ")

    # On visitor messages the bot handled: what it did (the unanswered-questions
    # page lists NOT_UNDERSTOOD ones). Empty for all others.
    bot_outcome = models.CharField(
        max_length=16, blank=True, default="", choices=BotOutcome.choices
    )
    # On bot messages that offer quick replies: [{"entry": <FAQ id>, "label": "..."}] or
    # [{"action": "handover", "label": "..."}]. Labels are FAQ text, never visitor text.
    choices = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "client_key"],
                condition=Q(client_key__isnull=False),
                name="message_client_key",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "id"], name="message_conversation_id"),
            models.Index(fields=["company", "created_at"], name="message_company_created"),
            # for deleting a user (author set to NULL)
            models.Index(
                fields=["author"], condition=Q(author__isnull=False), name="message_author"
            ),
            # the unanswered-questions page
            models.Index(
                fields=["company", "-id"],
                condition=Q(bot_outcome="not_understood"),
                name="message_unanswered",
            ),
        ]

    def __str__(self) -> str:
        return f"message #{self.pk}"


class SearchToken(models.Model):
    """Keyed word index for console search: no plaintext word is stored.

    token = HMAC(per-company search key, normalised word), truncated; one row
    per (conversation, token). Deleted with the conversation; rebuilt for a
    conversation when its messages are stripped of personal data.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    token = models.CharField(max_length=32)

    class Meta:
        verbose_name = _("search token")
        verbose_name_plural = _("search tokens")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "token"], name="searchtoken_unique")
        ]
        indexes = [models.Index(fields=["company", "token"], name="searchtoken_company_token")]

    def __str__(self) -> str:
        return f"search token #{self.pk}"


class CannedReply(CompanyAudited, models.Model):
    """A reply text an operator inserts by typing / and its shortcut."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    shortcut = models.SlugField(_("shortcut"), max_length=40)
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["shortcut"]
        constraints = [
            models.UniqueConstraint(fields=["company", "shortcut"], name="cannedreply_unique")
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


# guardian's direct foreign-key permission models: rights live on inboxes and
# are granted to teams' groups (a handful of indexed rows per company).
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase  # noqa: E402


class InboxGroupObjectPermission(CompanyAudited, GroupObjectPermissionBase):
    # auditlog: a grant or revoke made outside the rights service (the shell)
    # still lands on its company's audit page.
    audit_company_path = "content_object.company_id"

    content_object = models.ForeignKey(Inbox, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = _("team right on an inbox")
        verbose_name_plural = _("team rights on inboxes")


class InboxUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Inbox, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("personal right on an inbox")
        verbose_name_plural = _("personal rights on inboxes")
