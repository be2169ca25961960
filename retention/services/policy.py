"""Retention policies: created with defaults on first use, changed by admins (audited).

Invariant: personal data is never kept longer than the conversation it is in
(personal_data_days <= conversation_days); audit entries are never kept for
less than the audit retention floor (settings.HAFEN_AUDIT_RETENTION_MIN_DAYS),
and shortening audit retention is itself an audit event
("retention.audit_shortened", old and new days); next_run_at is always the next
occurrence of run_hour in the company's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from auditlog.models import LogEntry
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Company
from chatbot_site.lib.audit import audit_event
from chatbot_site.lib.errors import ServiceError
from chatbot_site.lib.tasks import enqueue_or_defer
from retention.models import RetentionPolicy, audit_retention_floor_days


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local_instant(*, day: date, hour: int, zone: ZoneInfo) -> datetime:
    """The instant (UTC) at which the local clock of `zone` first shows `hour`:00 on `day`.

    An hour that exists twice (the clocks go back) gives its first occurrence; an
    hour that does not exist (the clocks go forward over it) gives the next valid
    local time that day, the moment the clocks jump.
    """
    wall = datetime(day.year, day.month, day.day, hour)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first <= second:
        return first  # an ordinary hour (equal), or the earlier of two occurrences
    # A gap: fold=1 reads the wall time with the offset after the jump, fold=0 with
    # the one before; the jump lies between. Find its minute: the first instant
    # whose local time is at or past the wall time.
    low, high = second, first
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(second=0, microsecond=0)  # clocks jump on whole minutes


def next_run_after(*, now: datetime, run_hour: int, tz_name: str) -> datetime:
    """The first moment after `now` at which the company's local day reaches run_hour:00.

    Compared as instants, not as wall times: on the day the clocks go forward
    over run_hour the run happens when they jump (02:00 that does not exist in
    Europe/Berlin: 03:00 CEST), and on the day they go back it happens once, at
    the first of the two run_hour:00.
    """
    zone = _zone(tz_name)
    day = now.astimezone(zone).date()
    for offset in range(3):
        candidate = _local_instant(day=day + timedelta(days=offset), hour=run_hour, zone=zone)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: every local day reaches the hour")  # pragma: no cover


def policy_get_or_create(*, company: Company, now: datetime | None = None) -> RetentionPolicy:
    """The company's policy; a new one gets the defaults and its first run time."""
    policy = RetentionPolicy.objects.filter(company=company).first()
    if policy is not None:
        return policy
    now = now or timezone.now()
    default_hour = RetentionPolicy._meta.get_field("run_hour").default
    default_audit_days = RetentionPolicy._meta.get_field("audit_days").default
    with transaction.atomic():
        policy, _created = RetentionPolicy.objects.get_or_create(
            company=company,
            defaults={
                "audit_days": max(default_audit_days, audit_retention_floor_days()),
                "next_run_at": next_run_after(
                    now=now, run_hour=default_hour, tz_name=company.timezone
                ),
            },
        )
    return policy


def policy_validate(
    *, conversation_days: int, personal_data_days: int, audit_days: int | None = None
) -> None:
    """Refuse windows that break the invariants (ServiceError naming the field)."""
    floor = audit_retention_floor_days()
    if audit_days is not None and audit_days < floor:
        raise ServiceError(
            _(
                "Audit entries must be kept for at least %(days)s days (the audit "
                "retention floor): they prove who accessed personal data."
            )
            % {"days": floor},
            code="audit_days_below_floor",
            field="audit_days",
        )
    if personal_data_days > conversation_days:
        raise ServiceError(
            _(
                "Personal data cannot be kept longer than the conversation it is in: "
                "choose at most %(days)s days."
            )
            % {"days": conversation_days},
            code="personal_data_days_too_long",
            field="personal_data_days",
        )


@transaction.atomic
def policy_update(
    *,
    policy: RetentionPolicy,
    conversation_days: int,
    personal_data_days: int,
    audit_days: int,
    run_hour: int,
    now: datetime | None = None,
    actor=None,
) -> RetentionPolicy:
    """Change the windows; the save is audited (auditlog, with the acting admin).

    A shorter audit retention than stored is also the named event
    "retention.audit_shortened" (old and new days), in the same transaction:
    who shortened the history is part of the history.
    """
    policy_validate(
        conversation_days=conversation_days,
        personal_data_days=personal_data_days,
        audit_days=audit_days,
    )
    now = now or timezone.now()
    stored_audit_days = (
        RetentionPolicy.objects.select_for_update()
        .values_list("audit_days", flat=True)
        .get(pk=policy.pk)
    )
    policy.conversation_days = conversation_days
    policy.personal_data_days = personal_data_days
    policy.audit_days = audit_days
    policy.run_hour = run_hour
    policy.next_run_at = next_run_after(now=now, run_hour=run_hour, tz_name=policy.company.timezone)
    policy.save()
    if audit_days < stored_audit_days:
        audit_event(
            company_id=policy.company_id,
            actor=actor,
            obj=policy,
            action=LogEntry.Action.UPDATE,
            event="retention.audit_shortened",
            old_days=stored_audit_days,
            new_days=audit_days,
        )
    return policy


@transaction.atomic
def policy_run_now(*, policy: RetentionPolicy, actor, now: datetime | None = None) -> None:
    """Make the company's window due now and enqueue its run once this commits."""
    now = now or timezone.now()
    RetentionPolicy.objects.filter(pk=policy.pk).update(next_run_at=now)
    audit_event(
        company_id=policy.company_id,
        actor=actor,
        obj=policy,
        action=LogEntry.Action.UPDATE,
        event="retention.run_requested",
    )
    company_id = policy.company_id
    # next_run_at is now: if the broker is down, beat's retention.run_due starts it.
    transaction.on_commit(
        lambda: enqueue_or_defer(
            "retention.run_company",
            kwargs={"company_id": company_id},
            deferred_to="retention.run_due (beat, every 15 minutes)",
        )
    )
