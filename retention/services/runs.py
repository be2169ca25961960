"""A company's retention window run to the end: what `manage.py purge_expired` calls.

Beat's task runs one bounded run at a time and lets the schedule continue it;
by hand, an operator wants it finished now. This module holds that loop, so
the command only parses its arguments, shows progress and prints the totals.

Invariants:
- Every run goes through retention_run (purge.py): the same lock, batches,
  legal-hold rule and run summary as beat's task; nothing here deletes itself.
- The loop continues while a run ends PARTIAL and stops at DONE, FAILED, or
  when another run holds the company's lock (then nothing is run).
- A preview only counts; it changes nothing but creating the company's default
  policy when it has none (policy_get_or_create, as the retention page does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Company
from chatbot_site.lib.errors import ServiceError
from retention.models import RetentionRun
from retention.selectors import RetentionPreview, retention_preview
from retention.services.policy import policy_get_or_create
from retention.services.purge import retention_run


@dataclass
class WindowRun:
    """Totals over every run of one company's window, and the last run (None: locked)."""

    company: Company
    run: RetentionRun | None = None
    conversations_deleted: int = 0
    messages_deleted: int = 0
    conversations_stripped: int = 0
    audit_entries_deleted: int = 0

    @property
    def problem(self) -> str:
        """What went wrong, for one line of the command's error; "" if nothing did."""
        if self.run is None:
            return f"{self.company.slug}: not run, another retention run holds its lock"
        if self.run.outcome == RetentionRun.Outcome.FAILED:
            return f"{self.company.slug}: run {self.run.pk} failed ({self.run.error})"
        return ""


def window_companies(*, slug: str | None) -> list[Company]:
    """Every company by slug, or the one with `slug`; ServiceError if there is none."""
    companies = Company.objects.order_by("slug")
    if slug:
        companies = companies.filter(slug=slug)
        if not companies.exists():
            raise ServiceError(
                f"No company with the slug {slug!r}.",
                code="not_found",
                status=404,
            )
    return list(companies)


def window_preview(*, company: Company) -> RetentionPreview:
    """What a run of the company's window would do now, under its policy."""
    policy = policy_get_or_create(company=company)
    return retention_preview(
        company=company,
        conversation_days=policy.conversation_days,
        personal_data_days=policy.personal_data_days,
        audit_days=policy.audit_days,
        now=timezone.now(),
    )


def window_run_to_end(
    *, company: Company, on_progress: Callable[[int], object] | None = None
) -> WindowRun:
    """Run the company's window until a run is not PARTIAL; the totals of all its runs.

    `on_progress` gets the conversations deleted or stripped by each run.
    """
    done = WindowRun(company=company)
    while True:
        run = retention_run(company_id=company.pk)
        if run is None:
            done.run = None
            return done
        done.run = run
        done.conversations_deleted += run.conversations_deleted
        done.messages_deleted += run.messages_deleted
        done.conversations_stripped += run.conversations_stripped
        done.audit_entries_deleted += run.audit_entries_deleted
        if on_progress is not None:
            on_progress(run.conversations_deleted + run.conversations_stripped)
        if run.outcome != RetentionRun.Outcome.PARTIAL:
            return done
