"""The console home's data-subject requests panel, for company admins.

A template tag, not context from the home view: that view lives in
conversations, below retention, and may not import it (tests/test_layers.py).
The home template loads this tag; nothing else of the home page changes.
"""

from django import template
from django.utils import timezone

from accounts.models import Membership
from retention.selectors import DUE_SOON_DAYS, subject_requests_due

register = template.Library()


@register.inclusion_tag("retention/_requests_due.html")
def requests_due(membership: Membership | None) -> dict:
    """Open requests and those due within DUE_SOON_DAYS days (admins only; 2 queries)."""
    if membership is None or membership.role != Membership.Role.ADMIN:
        return {"due": None}
    return {
        "due": subject_requests_due(company=membership.company, today=timezone.localdate()),
        "days": DUE_SOON_DAYS,
    }
