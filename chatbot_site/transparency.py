"""The public transparency page (``consent:transparency``, /privacy/<slug>/).

Invariant: only team names, inbox names, rights, periods, notice versions and
the company's public labels are shown; never a user, a username or a visitor's
data. It reads the live rights and policy, so a change shows up at once.

It reads consent, conversations' rights and retention, so it lives with the
site (the top layer), not in consent; chatbot_site/urls.py mounts it into the
consent namespace so its name stays.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from accounts.models import Company
from accounts.selectors import company_get_by_slug
from consent import selectors as consent_selectors
from consent.transparency import inbox_access
from consent.views import public_render
from retention.models import RetentionPolicy


@dataclass(frozen=True)
class Retention:
    conversation_days: int
    personal_data_days: int
    audit_days: int
    is_default: bool


def retention_periods(*, company: Company) -> Retention:
    """The company's retention policy, or the defaults that apply without one."""
    policy = RetentionPolicy.objects.filter(company=company).first()
    if policy is not None:
        return Retention(
            conversation_days=policy.conversation_days,
            personal_data_days=policy.personal_data_days,
            audit_days=policy.audit_days,
            is_default=False,
        )
    field = RetentionPolicy._meta.get_field
    return Retention(
        conversation_days=field("conversation_days").default,
        personal_data_days=field("personal_data_days").default,
        audit_days=field("audit_days").default,
        is_default=True,
    )


def transparency(request: HttpRequest, slug: str) -> HttpResponse:
    """Public: who may see what, how long data is kept, the notice and its history."""
    company = company_get_by_slug(slug=slug)
    if company is None:
        raise Http404("No such company.")
    return public_render(
        request,
        company,
        "consent/transparency.html",
        {
            "inboxes": inbox_access(company=company),
            "retention": retention_periods(company=company),
            "current": consent_selectors.notice_current(company_id=company.pk),
            "history": consent_selectors.notice_history(company_id=company.pk),
        },
    )


consent_urlpatterns = [
    path("privacy/<slug:slug>/", transparency, name="transparency"),
]
