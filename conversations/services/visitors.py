"""Anonymous visitors: created with a random token, of which only the hash is stored.

Invariant: a visitor row holds no IP address, user agent or referrer; the token
is shown to the browser once and stored only as its SHA-256 hash.
"""

from datetime import timedelta

from django.utils import timezone

from chatbot_site.lib.crypto import hash_token, new_token
from conversations.models import Inbox, Visitor


def visitor_create(*, inbox: Inbox) -> tuple[Visitor, str]:
    """Create an anonymous visitor; returns it and the bearer token (shown once)."""
    token = new_token()
    now = timezone.now()
    visitor = Visitor.objects.create(
        company_id=inbox.company_id,
        inbox=inbox,
        token_hash=hash_token(token),
        token_expires_at=now + timedelta(days=inbox.token_ttl_days),
        last_seen_at=now,
    )
    return visitor, token


def visitor_touch(*, visitor: Visitor) -> None:
    """Record activity and slide the token's expiry forward (one UPDATE)."""
    now = timezone.now()
    expires = now + timedelta(days=visitor.inbox.token_ttl_days)
    Visitor.objects.filter(pk=visitor.pk).update(last_seen_at=now, token_expires_at=expires)
    visitor.last_seen_at, visitor.token_expires_at = now, expires


def visitor_invalidate_token(*, visitor: Visitor) -> None:
    """The token stops working (retention strips it, erasure deletes the visitor)."""
    Visitor.objects.filter(pk=visitor.pk).update(token_expires_at=timezone.now())
