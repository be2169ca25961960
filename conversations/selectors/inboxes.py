"""Reads for the admins' inbox pages; every selector takes the company first."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from accounts.models import Company
from chatbot_site.lib.tenancy import get_for_company_or_404
from conversations.models import FaqEntry, Inbox


def inbox_list(*, company: Company) -> QuerySet[Inbox]:
    return Inbox.objects.filter(company=company).annotate(faq_count=Count("faq_entries"))


def inbox_get_for_admin(*, company: Company, inbox_id: int) -> Inbox:
    """One inbox of this company, else 404 (other company and missing look alike)."""
    return get_for_company_or_404(
        Inbox.objects.select_related("company"), company_id=company.pk, pk=inbox_id
    )


def faq_entry_list(*, company: Company, inbox: Inbox) -> QuerySet[FaqEntry]:
    return FaqEntry.objects.filter(company=company, inbox=inbox)


def faq_entry_get_for_admin(*, company: Company, inbox: Inbox, entry_id: int) -> FaqEntry:
    return get_for_company_or_404(
        FaqEntry.objects.filter(inbox=inbox), company_id=company.pk, pk=entry_id
    )
