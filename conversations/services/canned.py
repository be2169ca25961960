"""Admins' writes to canned replies (the texts operators insert with "/" + shortcut).

Each write is a model save or delete, so django-auditlog records it with the
acting admin and the company id (CannedReply is CompanyAudited and registered
in conversations.apps). A canned reply is the company's own text, never a
visitor's. Only admins write: anyone else gets NotAllowed.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Membership
from chatbot_site.lib.errors import NotAllowed, ServiceError
from conversations.models import CannedReply

TEXT_MAX_LENGTH = 4000  # what a reply may hold (services.operator.REPLY_MAX_LENGTH)


class CannedReplyError(ServiceError):
    code = "canned_reply_invalid"
    status = 400


def _require_admin(membership: Membership) -> None:
    if membership.role != Membership.Role.ADMIN:
        raise NotAllowed(_("Only admins manage canned replies."))


def _clean(*, shortcut: str, text: str) -> tuple[str, str]:
    shortcut, text = (shortcut or "").strip().lower(), (text or "").strip()
    if not shortcut:
        raise CannedReplyError(_("Enter a shortcut."), field="shortcut")
    if not text:
        raise CannedReplyError(_("Enter the reply text."), field="text")
    if len(text) > TEXT_MAX_LENGTH:
        raise CannedReplyError(
            _("A reply can be at most %(n)d characters long.") % {"n": TEXT_MAX_LENGTH},
            field="text",
        )
    return shortcut, text


def _taken() -> CannedReplyError:
    return CannedReplyError(_("Another canned reply already uses this shortcut."), field="shortcut")


def canned_reply_create(*, membership: Membership, shortcut: str, text: str) -> CannedReply:
    _require_admin(membership)
    shortcut, text = _clean(shortcut=shortcut, text=text)
    try:
        with transaction.atomic():
            return CannedReply.objects.create(
                company_id=membership.company_id, shortcut=shortcut, text=text
            )
    except IntegrityError:  # cannedreply_unique: a concurrent create won
        raise _taken() from None


def canned_reply_update(
    *, membership: Membership, canned: CannedReply, shortcut: str, text: str
) -> CannedReply:
    _require_admin(membership)
    if canned.company_id != membership.company_id:
        raise NotAllowed(_("Only admins manage canned replies."))
    shortcut, text = _clean(shortcut=shortcut, text=text)
    canned.shortcut, canned.text = shortcut, text
    try:
        with transaction.atomic():
            canned.save()
    except IntegrityError:
        raise _taken() from None
    return canned


@transaction.atomic
def canned_reply_delete(*, membership: Membership, canned: CannedReply) -> None:
    _require_admin(membership)
    if canned.company_id != membership.company_id:
        raise NotAllowed(_("Only admins manage canned replies."))
    canned.delete()
