"""Reads of canned replies: always scoped to one company."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Company
from conversations.models import CannedReply


def canned_reply_list(*, company: Company) -> QuerySet[CannedReply]:
    """The company's canned replies by shortcut (index cannedreply_unique leads with company)."""
    return CannedReply.objects.filter(company_id=company.pk).order_by("shortcut")


def canned_reply_get_for_admin(*, company: Company, canned_id: int) -> CannedReply:
    """One canned reply of this company; otherwise 404 ("not yours" = "missing")."""
    try:
        return CannedReply.objects.get(company_id=company.pk, pk=canned_id)
    except (CannedReply.DoesNotExist, ValueError, TypeError):
        raise Http404("No such canned reply.") from None


def canned_reply_choices(*, company: Company) -> list[dict[str, str]]:
    """What the reply box offers after "/": shortcut and text, for a JSON data block."""
    return [
        {"shortcut": shortcut, "text": text}
        for shortcut, text in canned_reply_list(company=company).values_list("shortcut", "text")
    ]
