from django.utils import timezone

from chatbot_site.lib.crypto import hash_token
from conversations.models import Inbox, Visitor


def inbox_get_by_public_key(*, public_key: str) -> Inbox | None:
    return Inbox.objects.select_related("company").filter(public_key=public_key).first()


def visitor_get_by_token(*, inbox: Inbox, token: str) -> Visitor | None:
    """The visitor this (unexpired) token belongs to, within the inbox's company.

    Uses the index visitor_company_token (company_id, token_hash).
    """
    if not token:
        return None
    return (
        Visitor.objects.select_related("inbox")
        .filter(
            company_id=inbox.company_id,
            inbox=inbox,
            token_hash=hash_token(token),
            token_expires_at__gt=timezone.now(),
        )
        .first()
    )
