"""Reads for consent: which notice a visitor must accept, whether contact consent stands."""

from consent.models import ConsentRecord, ContactRequest, PrivacyNotice
from conversations.chat_consent import CONTACT_ACTION_ATTR
from conversations.models import Inbox, Visitor

# The chat's hot lookup (conversations.selectors.chat.chat_auth_get) reads the
# visitor's latest contact-consent action in its own query, with the SQL below
# (installed as a hook of conversations/chat_consent.py), and leaves it on the
# Visitor instance under CONTACT_ACTION_ATTR (None: no record);
# visitor_has_contact_consent() then makes no query of its own.


def consent_latest(*, visitor: Visitor, purpose: str) -> ConsentRecord | None:
    """The visitor's latest consent record for `purpose` (newest by recorded_at, then id).

    Its action says whether consent stands now. The stated purpose (encrypted,
    not needed to decide) is not loaded. Index consent_visitor (company_id,
    visitor_id, purpose); latest_consent_sql is the same rule in SQL.
    """
    return (
        ConsentRecord.objects.filter(
            company_id=visitor.company_id, visitor=visitor, purpose=purpose
        )
        .defer("purpose_text")
        .order_by("-recorded_at", "-id")
        .first()
    )


def latest_consent_sql(*, purpose: str, select: str, visitor: str) -> str:
    """A scalar subquery: `select` over the visitor's latest consent record `cr` for `purpose`.

    The same rule as consent_latest (newest by recorded_at, then id),
    for other selectors to embed in their own one-query lookups. `visitor` is
    the SQL alias of conversations_visitor in the outer query; all three
    arguments come from code, never from input. Index: consent_visitor
    (company_id, visitor_id, purpose).
    """
    assert purpose in ConsentRecord.Purpose.values
    return (
        f"(SELECT {select} FROM consent_consentrecord cr"
        f" WHERE cr.company_id = {visitor}.company_id AND cr.visitor_id = {visitor}.id"
        f" AND cr.purpose = '{purpose}' ORDER BY cr.recorded_at DESC, cr.id DESC LIMIT 1)"
    )


def current_notice_id_sql(*, company_id: str) -> str:
    """A scalar subquery: the id of the newest published notice of the company `company_id`.

    notice_current() in SQL (index: notice_unique_version (company_id, version)).
    """
    return (
        "(SELECT pn.id FROM consent_privacynotice pn"
        f" WHERE pn.company_id = {company_id} AND pn.published_at IS NOT NULL"
        " ORDER BY pn.version DESC LIMIT 1)"
    )


def notice_current(*, company_id: int) -> PrivacyNotice | None:
    """The newest published notice of a company."""
    return (
        PrivacyNotice.objects.filter(company_id=company_id, published_at__isnull=False)
        .order_by("-version")
        .first()
    )


def notice_to_accept(*, inbox: Inbox, visitor: Visitor | None) -> PrivacyNotice | None:
    """The notice this visitor must accept before chatting, or None if nothing is owed.

    Owed when the inbox requires acceptance, a notice is published, and the
    visitor's latest notice consent is not a grant of that very version.
    """
    if not inbox.notice_required:
        return None
    current = notice_current(company_id=inbox.company_id)
    if current is None:
        return None
    if visitor is None:
        return current
    if notice_accepted(visitor=visitor, notice=current) is not None:
        return None
    return current


def notice_accepted(*, visitor: Visitor, notice: PrivacyNotice) -> ConsentRecord | None:
    """The record of the visitor's standing acceptance of `notice`, else None.

    Standing: their latest notice consent is a grant of that very version.
    """
    latest = consent_latest(visitor=visitor, purpose=ConsentRecord.Purpose.NOTICE)
    if latest and latest.action == ConsentRecord.Action.GRANTED and latest.notice_id == notice.pk:
        return latest
    return None


def visitor_has_contact_consent(*, visitor: Visitor) -> bool:
    """True while the visitor's latest contact-details consent is a grant.

    No query when the visitor was loaded with its latest action (CONTACT_ACTION_ATTR).
    """
    if CONTACT_ACTION_ATTR in visitor.__dict__:
        return visitor.__dict__[CONTACT_ACTION_ATTR] == ConsentRecord.Action.GRANTED
    latest = consent_latest(visitor=visitor, purpose=ConsentRecord.Purpose.CONTACT)
    return latest is not None and latest.action == ConsentRecord.Action.GRANTED


def consent_records_for_visitor(*, visitor: Visitor) -> list[ConsentRecord]:
    """The visitor's own consent history, oldest first (index consent_visitor)."""
    return list(
        ConsentRecord.objects.filter(company_id=visitor.company_id, visitor=visitor)
        .select_related("notice")
        .order_by("recorded_at", "id")
    )


def contact_request_pending(*, visitor: Visitor) -> ContactRequest | None:
    """The newest operator request for contact details not yet answered by a consent change."""
    latest = (
        ContactRequest.objects.filter(company_id=visitor.company_id, conversation__visitor=visitor)
        .order_by("-requested_at", "-id")
        .first()
    )
    if latest is None:
        return None
    answered = ConsentRecord.objects.filter(
        company_id=visitor.company_id,
        visitor=visitor,
        purpose=ConsentRecord.Purpose.CONTACT,
        recorded_at__gte=latest.requested_at,
    ).exists()
    return None if answered else latest


def notice_list(*, company_id: int) -> list[PrivacyNotice]:
    """Every version of a company's notice, newest first."""
    return list(PrivacyNotice.objects.filter(company_id=company_id).order_by("-version"))


def notice_history(*, company_id: int) -> list[PrivacyNotice]:
    """Published versions only, newest first (what the public may read)."""
    return list(
        PrivacyNotice.objects.filter(company_id=company_id, published_at__isnull=False).order_by(
            "-version"
        )
    )


def notice_published_version(*, company_id: int, version: int) -> PrivacyNotice | None:
    return PrivacyNotice.objects.filter(
        company_id=company_id, version=version, published_at__isnull=False
    ).first()
