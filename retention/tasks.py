"""Celery tasks for retention: ids in, one service call, a small summary out.

Beat runs `retention.run_due` every 15 minutes (settings.CELERY_BEAT_SCHEDULE);
it enqueues one `retention.run_company` per due company. A run that spends its
batch budget re-enqueues itself; the per-company lock keeps runs from overlapping.

Invariant: a run_company that finds its company's lock taken is never dropped
silently. The holder may be the task's own previous delivery, killed with its
worker (acks_late and reject_on_worker_lost redeliver it at once, while the dead
run's lock is still being released), so the task retries after
LOCK_RETRY_COUNTDOWN seconds, up to LOCK_MAX_RETRIES times (longer than a dead
holder's lock can last, see retention.services.lock); only then does it give up
with "locked", leaving the company due for the next beat tick.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from retention.models import RetentionRun
from retention.selectors import companies_due
from retention.services.purge import retention_run

LOCK_RETRY_COUNTDOWN = 60  # seconds
LOCK_MAX_RETRIES = 5  # 5 minutes in all: more than a lease (LEASE_TTL, 3 minutes) lives


@shared_task(name="retention.run_due", acks_late=True)
def run_due() -> dict:
    company_ids = companies_due(now=timezone.now())
    for company_id in company_ids:
        run_company.delay(company_id=company_id)
    return {"enqueued": len(company_ids)}


@shared_task(name="retention.run_company", bind=True, acks_late=True, max_retries=LOCK_MAX_RETRIES)
def run_company(self, company_id: int) -> dict:
    run = retention_run(company_id=company_id)
    if run is None:
        if self.request.retries >= LOCK_MAX_RETRIES:
            return {"company_id": company_id, "outcome": "locked"}
        raise self.retry(countdown=LOCK_RETRY_COUNTDOWN, max_retries=LOCK_MAX_RETRIES)
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
