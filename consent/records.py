"""The record of processing activities (Art. 30 GDPR), generated from the live configuration.

Invariant: the record is built from the company's configuration every time it
is shown, never from visitors' data: only the company's public labels, inbox
and team names, rights, periods, notice versions and settings enter it (never a
user, a username, a visitor or a message). Its content is fingerprinted
(sha256 of a canonical, language-independent JSON); a new ProcessingRecordVersion
is written only when the fingerprint differs from the latest one, and a lost
race for the next number is retried, never a duplicate number or a silent skip.

How long data is kept comes from retention, a layer above consent: the caller
passes it in (`retention`, anything shaped like RetentionWindows; the site's
chatbot_site.transparency.retention_periods gives it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from auditlog.models import LogEntry
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import Company
from chatbot_site.lib.audit import audit_event
from consent.models import ProcessingRecordVersion
from consent.selectors import notice_current
from consent.transparency import InboxAccess, inbox_access
from conversations.models import Inbox

# Bumped when the record's structure or its fixed text changes, so that a new
# release of the record's wording yields a new version for every company.
SCHEMA = 1
# How many earlier versions the page lists.
HISTORY_LIMIT = 100
# Attempts at writing the next version number when another request wrote it first.
VERSION_ATTEMPTS = 3


@dataclass(frozen=True)
class Entry:
    """A fixed line of the record: a stable code (hashed) and words (shown, translated)."""

    code: str
    label: Promise
    detail: Promise | str = ""


PURPOSES: tuple[Entry, ...] = (
    Entry(
        "chat",
        _("Answering visitors' questions in the chat, by the bot and by operators"),
        _(
            "Art. 6(1)(b) GDPR (enquiries before or under a contract) and Art. 6(1)(f) "
            "(legitimate interest in answering enquiries)"
        ),
    ),
    Entry(
        "handover",
        _("Handing a conversation over from the bot to staff"),
        _("Art. 6(1)(b) and (f) GDPR, as for the chat itself"),
    ),
    Entry(
        "contact",
        _("Storing contact details to get back to the visitor"),
        _("Art. 6(1)(a) GDPR: consent, which the visitor can withdraw at any time"),
    ),
    Entry(
        "audit",
        _("Security and audit logging: who read or changed what, and why"),
        _("Art. 6(1)(c) with Art. 5(2) and 32 GDPR (legal obligation; proof of lawful processing)"),
    ),
)

DATA_SUBJECTS: tuple[Entry, ...] = (
    Entry("visitors", _("Website visitors who use the chat"), _("anonymous by default")),
    Entry("staff", _("Staff: administrators, operators and viewers of the console")),
)

DATA_CATEGORIES: tuple[Entry, ...] = (
    Entry(
        "messages",
        _("Message text"),
        _(
            "Encrypted at rest. Without consent, e-mail addresses, phone numbers, bank "
            "and card numbers and other recognisable personal data are redacted before "
            "the text is stored."
        ),
    ),
    Entry(
        "contact",
        _("Contact details (name, e-mail address, phone number)"),
        _("Only after the visitor's explicit consent; encrypted at rest."),
    ),
    Entry(
        "consents",
        _("Consent records"),
        _("Which notice version was accepted, which consent was given or withdrawn, and when."),
    ),
    Entry(
        "visitor_id",
        _("A random visitor identifier"),
        _("No IP address, browser details or fingerprint are stored."),
    ),
    Entry(
        "staff_accounts",
        _("Staff accounts"),
        _("User name, e-mail address, role, team memberships, two-factor devices, sessions."),
    ),
    Entry(
        "audit",
        _("Audit entries"),
        _(
            "Who accessed or changed what, when and why. Pseudonymised when a visitor's "
            "data is erased (the receipt's id replaces the visitor)."
        ),
    ),
)

MEASURES: tuple[Entry, ...] = (
    Entry(
        "encryption_at_rest",
        _("Encryption at rest"),
        _(
            "Message text and every personal field are encrypted (Fernet, "
            "django-encrypted-model-fields); keys come from the environment and can be rotated."
        ),
    ),
    Entry(
        "redaction",
        _("Redaction without consent"),
        _("Personal data typed into a message without consent is removed before storage."),
    ),
    Entry(
        "blind_indexes",
        _("Keyed (blind) indexes"),
        _("E-mail look-ups and word search use keyed hashes (HMAC) instead of plaintext indexes."),
    ),
    Entry(
        "masking",
        _("Masking and break-glass reveal"),
        _(
            "Operators see personal data masked unless their team holds the right; "
            "revealing it asks for a reason that is logged."
        ),
    ),
    Entry(
        "pseudonymisation",
        _("Pseudonymisation on erasure"),
        _("Audit entries about an erased visitor keep no personal data."),
    ),
    Entry(
        "least_privilege",
        _("Least privilege"),
        _(
            "Roles (admin, operator, viewer) and rights granted to teams per inbox; "
            "viewers can never reply or erase."
        ),
    ),
    Entry(
        "access_logging",
        _("Every access logged"),
        _("Reads of conversations and personal data, changes, exports and erasures."),
    ),
    Entry(
        "tenant_isolation",
        _("Tenant isolation"),
        _("Every query is scoped to the company."),
    ),
)


class RetentionWindows(Protocol):
    """What the record needs of the retention policy (retention owns the policy)."""

    conversation_days: int
    personal_data_days: int
    audit_days: int
    is_default: bool


@dataclass(frozen=True)
class Controller:
    name: str
    country: str
    data_location: str
    privacy_contact: str


@dataclass(frozen=True)
class ResumeInbox:
    inbox: str
    token_days: int


@dataclass(frozen=True)
class NoticeRef:
    version: int
    published_at: datetime


@dataclass(frozen=True)
class Security:
    """The configurable technical measures: the company's switch and the deployment's settings."""

    require_2fa: bool
    tls_enforced: bool
    hsts_days: int
    session_idle_minutes: float
    session_max_hours: float
    signin_slowdown_after: int
    signin_lockout_after: int
    signin_lockout_minutes: float
    audit_floor_days: int


@dataclass(frozen=True)
class ProcessingRecord:
    controller: Controller
    recipients: list[InboxAccess]
    resume_inboxes: list[ResumeInbox]
    conversation_days: int
    personal_data_days: int
    audit_days: int
    retention_is_default: bool
    notice: NoticeRef | None
    security: Security
    # Mail relay for staff invitations (SMTP in production), None when mail is not sent out.
    email_host: str | None
    processors: tuple[str, ...] = ()
    purposes: tuple[Entry, ...] = PURPOSES
    data_subjects: tuple[Entry, ...] = DATA_SUBJECTS
    data_categories: tuple[Entry, ...] = DATA_CATEGORIES
    measures: tuple[Entry, ...] = MEASURES

    def content(self) -> dict[str, Any]:
        """The canonical content: codes and values only, no translated words.

        Viewing the page in another language therefore yields the same hash.
        """
        return {
            "schema": SCHEMA,
            "controller": vars(self.controller),
            "purposes": [e.code for e in self.purposes],
            "data_subjects": [e.code for e in self.data_subjects],
            "data_categories": [e.code for e in self.data_categories],
            "measures": [e.code for e in self.measures],
            "recipients": [
                {
                    "inbox": inbox.inbox,
                    "notice_required": inbox.notice_required,
                    "teams": [
                        {"team": t.team, "rights": sorted(t.rights)}
                        for t in sorted(inbox.teams, key=lambda t: (t.team, sorted(t.rights)))
                    ],
                }
                for inbox in self.recipients
            ],
            "resume": [vars(r) for r in self.resume_inboxes],
            "processors": list(self.processors),
            "email_host": self.email_host,
            "retention": {
                "conversation_days": self.conversation_days,
                "personal_data_days": self.personal_data_days,
                "audit_days": self.audit_days,
                "is_default": self.retention_is_default,
            },
            "notice": (
                {"version": self.notice.version, "published_at": self.notice.published_at}
                if self.notice
                else None
            ),
            "security": vars(self.security),
        }

    @property
    def content_hash(self) -> str:
        return content_hash(self.content())


def content_hash(content: dict[str, Any]) -> str:
    """sha256 (hex) of the content as canonical JSON: sorted keys, no spaces, ISO dates."""
    canonical = json.dumps(
        content,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_json_default,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"not canonical JSON: {type(value).__name__}")


def _security(*, company: Company) -> Security:
    return Security(
        require_2fa=company.require_2fa,
        tls_enforced=bool(getattr(settings, "SECURE_SSL_REDIRECT", False)),
        hsts_days=int(getattr(settings, "SECURE_HSTS_SECONDS", 0) or 0) // 86400,
        session_idle_minutes=float(settings.HAFEN_SESSION_IDLE_MINUTES),
        session_max_hours=float(settings.HAFEN_SESSION_MAX_HOURS),
        signin_slowdown_after=int(settings.HAFEN_SIGNIN_SLOWDOWN_AFTER),
        signin_lockout_after=int(settings.HAFEN_SIGNIN_LOCKOUT_AFTER),
        signin_lockout_minutes=float(settings.HAFEN_SIGNIN_LOCKOUT_MINUTES),
        audit_floor_days=max(int(settings.HAFEN_AUDIT_RETENTION_MIN_DAYS), 1),
    )


def _email_host() -> str | None:
    """The SMTP relay staff invitations go through, or None (console/in-memory backends)."""
    if "smtp" not in settings.EMAIL_BACKEND:
        return None
    return settings.EMAIL_HOST


def record_build(*, company: Company, retention: RetentionWindows) -> ProcessingRecord:
    """The record as the configuration stands now (five queries, none on visitors' data)."""
    notice = notice_current(company_id=company.pk)
    resume = Inbox.objects.filter(company=company, resume_enabled=True).order_by("name", "id")
    return ProcessingRecord(
        controller=Controller(
            name=company.name,
            country=company.country,
            data_location=company.data_location,
            privacy_contact=company.privacy_contact,
        ),
        recipients=inbox_access(company=company),
        resume_inboxes=[
            ResumeInbox(inbox=name, token_days=days)
            for name, days in resume.values_list("name", "token_ttl_days")
        ],
        conversation_days=retention.conversation_days,
        personal_data_days=retention.personal_data_days,
        audit_days=retention.audit_days,
        retention_is_default=retention.is_default,
        notice=NoticeRef(version=notice.version, published_at=notice.published_at)
        if notice is not None
        else None,
        security=_security(company=company),
        email_host=_email_host(),
    )


@dataclass(frozen=True)
class CurrentRecord:
    record: ProcessingRecord
    version: ProcessingRecordVersion
    earlier: list[ProcessingRecordVersion] = field(default_factory=list)


def _latest_version(*, company: Company) -> ProcessingRecordVersion | None:
    # Index: record_unique_version (company_id, number).
    return ProcessingRecordVersion.objects.filter(company=company).order_by("-number").first()


def record_version_for(
    *,
    company: Company,
    content_hash: str,
    actor: Any = None,
    now: datetime | None = None,
) -> ProcessingRecordVersion:
    """The version holding `content_hash`: the latest one, or a new one numbered after it.

    Conditional on the unique (company, number) constraint: when another request
    wrote the next number first, read again and decide again (its content may be
    ours, or an older or newer configuration's). Each new version is audited.
    """
    now = now or timezone.now()
    for _attempt in range(VERSION_ATTEMPTS):
        latest = _latest_version(company=company)
        if latest is not None and latest.content_hash == content_hash:
            return latest
        try:
            with transaction.atomic():
                version = ProcessingRecordVersion.objects.create(
                    company=company,
                    number=(latest.number if latest else 0) + 1,
                    content_hash=content_hash,
                    created_at=now,
                )
                audit_event(
                    company_id=company.pk,
                    actor=actor,
                    obj=version,
                    action=LogEntry.Action.CREATE,
                    event="processing_record.version",
                    number=version.number,
                    content_hash=content_hash,
                )
        except IntegrityError:
            continue  # someone else took that number: look again
        return version
    raise RuntimeError(
        f"processing record of company #{company.pk}: no version number after "
        f"{VERSION_ATTEMPTS} attempts"
    )


def record_current(
    *,
    company: Company,
    retention: RetentionWindows,
    actor: Any = None,
    now: datetime | None = None,
) -> CurrentRecord:
    """Build the record from the live configuration and date it: version N, valid since.

    Writes a version only when the content changed since the latest one.
    """
    record = record_build(company=company, retention=retention)
    version = record_version_for(
        company=company, content_hash=record.content_hash, actor=actor, now=now
    )
    earlier = list(
        ProcessingRecordVersion.objects.filter(company=company, number__lt=version.number)
        .order_by("-number")
        .only("number", "created_at")[:HISTORY_LIMIT]
    )
    return CurrentRecord(record=record, version=version, earlier=earlier)
