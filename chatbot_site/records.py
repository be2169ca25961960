"""The record of processing activities page (``consent:record``, /console/record/).

The record and its versions are consent's (consent.records); the page also reads
the retention policy, which sits above consent, so the view lives with the site
like the transparency page, and chatbot_site/urls.py mounts it into the consent
namespace. Admins only (the notice pages' decorator); ``?print=1`` is the same
record without the console around it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from accounts.decorators import admin_required
from chatbot_site.transparency import retention_periods
from consent.records import record_current


@admin_required
@require_GET
def processing_record(request: HttpRequest) -> HttpResponse:
    """The company's Art. 30 record, built from the live configuration and dated."""
    company = request.membership.company
    current = record_current(
        company=company, retention=retention_periods(company=company), actor=request.user
    )
    printable = request.GET.get("print") == "1"
    return render(
        request,
        "consent/record_print.html" if printable else "consent/record.html",
        {
            "company": company,
            "record": current.record,
            "version": current.version,
            "earlier": current.earlier,
            "printable": printable,
        },
    )


consent_urlpatterns = [
    path("console/record/", processing_record, name="record"),
]
