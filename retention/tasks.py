"""Celery tasks for retention: ids in, one service call, a small summary out.

Beat runs `retention.run_due` every 15 minutes (settings.CELERY_BEAT_SCHEDULE);
it enqueues one `retention.run_company` per due company. A run that spends its
batch budget re-enqueues itself; the per-company lock keeps runs from overlapping.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from retention.models import RetentionRun
from retention.selectors import companies_due
from retention.services.purge import retention_run


@shared_task(name="retention.run_due", acks_late=True)
def run_due() -> dict:
    company_ids = companies_due(now=timezone.now())
    for company_id in company_ids:
        run_company.delay(company_id=company_id)
    return {"enqueued": len(company_ids)}


@shared_task(name="retention.run_company", acks_late=True)
def run_company(company_id: int) -> dict:
    run = retention_run(company_id=company_id)
    if run is None:
        return {"company_id": company_id, "outcome": "locked"}
    if run.outcome == RetentionRun.Outcome.PARTIAL:
        run_company.delay(company_id=company_id)
    return {
        "company_id": company_id,
        "run_id": run.pk,
        "outcome": str(run.outcome),
        "conversations_deleted": run.conversations_deleted,
        "messages_deleted": run.messages_deleted,
        "conversations_stripped": run.conversations_stripped,
        "audit_entries_deleted": run.audit_entries_deleted,
        "duration_ms": run.duration_ms,
    }
