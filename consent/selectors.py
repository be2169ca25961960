"""Reads for consent: which notice a visitor must accept, whether contact consent stands."""

from consent.models import ConsentRecord, PrivacyNotice
from conversations.models import Inbox, Visitor


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
    latest = (
        ConsentRecord.objects.filter(
            company_id=inbox.company_id, visitor=visitor, purpose=ConsentRecord.Purpose.NOTICE
        )
        .order_by("-recorded_at", "-id")
        .first()
    )
    if latest and latest.action == ConsentRecord.Action.GRANTED and latest.notice_id == current.pk:
        return None
    return current


def visitor_has_contact_consent(*, visitor: Visitor) -> bool:
    """True while the visitor's latest contact-details consent is a grant."""
    latest = (
        ConsentRecord.objects.filter(
            company_id=visitor.company_id, visitor=visitor, purpose=ConsentRecord.Purpose.CONTACT
        )
        .order_by("-recorded_at", "-id")
        .values_list("action", flat=True)
        .first()
    )
    return latest == ConsentRecord.Action.GRANTED
