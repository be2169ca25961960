"""Privacy notices: drafts, publication, new versions; the inbox's acceptance switch.

Invariant: a published notice is never changed (every write path here refuses
it); changing the wording means a new draft row with the next version number.
Version numbers are per company and consecutive: they are allocated under a
lock on the company row, and a company has at most one draft at a time, which
is always its highest version.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditlog.models import LogEntry
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Company
from chatbot_site.lib.audit import save_audited
from consent.models import PrivacyNotice
from consent.services.errors import ConsentError
from conversations.models import Inbox

TITLE_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 50_000


@dataclass(frozen=True)
class NoticeContent:
    language: str
    title: str
    text: str
    translation_title: str = ""
    translation_text: str = ""


def _check(title: str, text: str) -> None:
    if len(title) > TITLE_MAX_LENGTH:
        raise ConsentError(
            _("A title can be at most %(n)d characters long.") % {"n": TITLE_MAX_LENGTH},
            code="title_too_long",
        )
    if len(text) > TEXT_MAX_LENGTH:
        raise ConsentError(
            _("A text can be at most %(n)d characters long.") % {"n": TEXT_MAX_LENGTH},
            code="text_too_long",
        )


def _clean(
    *,
    language: str,
    title: str,
    text: str,
    translation_title: str = "",
    translation_text: str = "",
) -> NoticeContent:
    title, text = (title or "").strip(), (text or "").strip()
    t_title, t_text = (translation_title or "").strip(), (translation_text or "").strip()
    if language not in dict(settings.LANGUAGES):
        raise ConsentError(_("Choose German or English."), code="language_invalid")
    if not title:
        raise ConsentError(_("A notice needs a title."), code="title_missing")
    if not text:
        raise ConsentError(_("A notice needs a text."), code="text_missing")
    _check(title, text)
    if bool(t_title) != bool(t_text):
        raise ConsentError(
            _("A translation needs both a title and a text (or leave both empty)."),
            code="translation_incomplete",
        )
    _check(t_title, t_text)
    return NoticeContent(language, title, text, t_title, t_text)


def _refuse_published(notice: PrivacyNotice) -> None:
    if notice.is_published:
        raise ConsentError(
            _(
                "Version %(version)d is published and can no longer be changed. "
                "Start a new version from it instead."
            )
            % {"version": notice.version},
            code="notice_published",
            status=409,
        )


def _new_draft(*, company: Company, content: NoticeContent) -> PrivacyNotice:
    # The company row is the lock that makes version numbers consecutive.
    Company.objects.select_for_update().filter(pk=company.pk).first()
    draft = PrivacyNotice.objects.filter(company=company, published_at__isnull=True).first()
    if draft is not None:
        raise ConsentError(
            _("Version %(version)d is still a draft: edit or publish it first.")
            % {"version": draft.version},
            code="draft_exists",
            status=409,
            extra={"version": draft.version},
        )
    highest = PrivacyNotice.objects.filter(company=company).aggregate(v=Max("version"))["v"]
    return PrivacyNotice.objects.create(
        company=company,
        version=(highest or 0) + 1,
        language=content.language,
        title=content.title,
        text=content.text,
        translation_title=content.translation_title,
        translation_text=content.translation_text,
    )


@transaction.atomic
def notice_create_draft(
    *,
    company: Company,
    title: str,
    text: str,
    actor,
    language: str | None = None,
    translation_title: str = "",
    translation_text: str = "",
) -> PrivacyNotice:
    """A new draft with the next version number (auditlog records the new row).

    `title` and `text` are in `language` (the company's language by default);
    the optional translation is in the other one (German <-> English).
    """
    content = _clean(
        language=language or company.language,
        title=title,
        text=text,
        translation_title=translation_title,
        translation_text=translation_text,
    )
    return _new_draft(company=company, content=content)


@transaction.atomic
def notice_new_version_from(*, notice: PrivacyNotice, actor) -> PrivacyNotice:
    """Copy a notice (usually the published one) into a new draft to be edited."""
    content = NoticeContent(
        notice.language,
        notice.title,
        notice.text,
        notice.translation_title,
        notice.translation_text,
    )
    return _new_draft(company=notice.company, content=content)


@transaction.atomic
def notice_update_draft(
    *,
    notice: PrivacyNotice,
    title: str,
    text: str,
    actor,
    language: str | None = None,
    translation_title: str = "",
    translation_text: str = "",
) -> PrivacyNotice:
    content = _clean(
        language=language or notice.language,
        title=title,
        text=text,
        translation_title=translation_title,
        translation_text=translation_text,
    )
    locked = PrivacyNotice.objects.select_for_update().get(pk=notice.pk)
    _refuse_published(locked)
    locked.language, locked.title, locked.text = content.language, content.title, content.text
    locked.translation_title = content.translation_title
    locked.translation_text = content.translation_text
    locked.save(
        update_fields=["language", "title", "text", "translation_title", "translation_text"]
    )
    return locked


@transaction.atomic
def notice_delete_draft(*, notice: PrivacyNotice, actor) -> None:
    """Drop a draft nobody has seen; published versions stay forever."""
    locked = PrivacyNotice.objects.select_for_update().get(pk=notice.pk)
    _refuse_published(locked)
    locked.delete()


@transaction.atomic
def notice_publish(*, notice: PrivacyNotice, actor) -> PrivacyNotice:
    """Publish a draft: from now on visitors of inboxes that require it must accept it."""
    locked = PrivacyNotice.objects.select_for_update().get(pk=notice.pk)
    _refuse_published(locked)
    locked.published_at = timezone.now()
    return save_audited(
        locked,
        update_fields=["published_at"],
        actor=actor,
        action=LogEntry.Action.UPDATE,
        event="notice.publish",
        notice_id=locked.pk,
        version=locked.version,
    )


@transaction.atomic
def inbox_set_notice_required(*, inbox: Inbox, required: bool, actor) -> Inbox:
    """Switch whether this inbox's chat starts only after the notice is accepted."""
    locked = Inbox.objects.select_for_update().get(pk=inbox.pk)
    if locked.notice_required == required:
        return locked
    locked.notice_required = required
    return save_audited(
        locked,
        update_fields=["notice_required"],
        actor=actor,
        action=LogEntry.Action.UPDATE,
        event="inbox.notice_required",
        inbox_id=locked.pk,
        notice_required=required,
    )
