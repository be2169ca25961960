"""Cutoff maths for retention: the instants before which a policy's windows have passed.

Invariant: pure arithmetic on the policy's day counts and `now`; no queries.
A run and its dry-run preview derive their cutoffs here, so they agree.
The audit cutoff never comes later than the audit retention floor
(settings.HAFEN_AUDIT_RETENTION_MIN_DAYS): a policy stored with a shorter
audit_days (before the floor existed, or written around the service) cannot
purge younger entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from retention.models import RetentionPolicy, audit_retention_floor_days


@dataclass(frozen=True)
class Cutoffs:
    conversation: datetime
    personal_data: datetime
    audit: datetime

    @classmethod
    def for_policy(
        cls,
        *,
        now: datetime,
        conversation_days: int,
        personal_data_days: int,
        audit_days: int,
    ) -> Cutoffs:
        return cls(
            conversation=now - timedelta(days=conversation_days),
            personal_data=now - timedelta(days=personal_data_days),
            audit=now - timedelta(days=max(audit_days, audit_retention_floor_days())),
        )


def cutoffs_for(*, policy: RetentionPolicy, now: datetime) -> Cutoffs:
    return Cutoffs.for_policy(
        now=now,
        conversation_days=policy.conversation_days,
        personal_data_days=policy.personal_data_days,
        audit_days=policy.audit_days,
    )
