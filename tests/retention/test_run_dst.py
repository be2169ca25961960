"""The run hour across DST changes (Europe/Berlin): an hour that does not exist runs at
the next valid local time that day; one that exists twice runs once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from retention.models import RetentionPolicy, RetentionRun
from retention.selectors import companies_due
from retention.services.policy import next_run_after, policy_get_or_create
from retention.services.purge import retention_run

BERLIN = ZoneInfo("Europe/Berlin")
GAP_DAY = datetime(2026, 3, 29).date()  # 02:00 CET -> 03:00 CEST
OVERLAP_DAY = datetime(2026, 10, 25).date()  # 03:00 CEST -> 02:00 CET


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _next(now: datetime, hour: int) -> datetime:
    return next_run_after(now=now, run_hour=hour, tz_name="Europe/Berlin")


@pytest.mark.parametrize(
    ("now", "hour", "expected"),
    [
        # The day before the gap, after its run: the gap day itself, when the clocks jump
        (utc(2026, 3, 28, 1, 0, 5), 2, utc(2026, 3, 29, 1, 0)),
        # the gap day, before the jump (01:30 CET)
        (utc(2026, 3, 29, 0, 30), 2, utc(2026, 3, 29, 1, 0)),
        (utc(2026, 3, 29, 0, 59, 59), 2, utc(2026, 3, 29, 1, 0)),
        # after that day's run: the next day's 02:00 CEST
        (utc(2026, 3, 29, 1, 0, 5), 2, utc(2026, 3, 30, 0, 0)),
        # the hours around the gap are unaffected
        (utc(2026, 3, 28, 23, 0), 1, utc(2026, 3, 29, 0, 0)),  # 01:00 CET
        (utc(2026, 3, 28, 23, 0), 3, utc(2026, 3, 29, 1, 0)),  # 03:00 CEST
        (utc(2026, 3, 28, 23, 0), 4, utc(2026, 3, 29, 2, 0)),  # 04:00 CEST
    ],
)
def test_a_run_hour_in_the_spring_gap_runs_when_the_clocks_jump_that_day(now, hour, expected):
    got = _next(now, hour)
    assert got == expected
    assert got.astimezone(BERLIN).date() == expected.astimezone(BERLIN).date()


@pytest.mark.parametrize(
    ("now", "hour", "expected"),
    [
        # The day before: the first of the two 02:00 (CEST)
        (utc(2026, 10, 24, 0, 0, 5), 2, utc(2026, 10, 25, 0, 0)),
        # after the first 02:00 ran, the second 02:00 (CET) is not another run
        (utc(2026, 10, 25, 0, 0, 5), 2, utc(2026, 10, 26, 1, 0)),
        (utc(2026, 10, 25, 0, 59), 2, utc(2026, 10, 26, 1, 0)),
        (utc(2026, 10, 25, 1, 0, 0), 2, utc(2026, 10, 26, 1, 0)),
        # before the first: the first
        (utc(2026, 10, 24, 23, 59), 2, utc(2026, 10, 25, 0, 0)),
        # unambiguous hours that day
        (utc(2026, 10, 24, 22, 0), 1, utc(2026, 10, 24, 23, 0)),  # 01:00 CEST
        (utc(2026, 10, 24, 22, 0), 3, utc(2026, 10, 25, 2, 0)),  # 03:00 CET
    ],
)
def test_a_run_hour_that_exists_twice_in_autumn_runs_at_the_first(now, hour, expected):
    assert _next(now, hour) == expected


def test_a_naive_wall_clock_comparison_is_not_used_across_zones():
    # `now` given in another zone than the company's: compared as instants
    now = utc(2026, 3, 29, 0, 30).astimezone(ZoneInfo("America/New_York"))
    assert _next(now, 2) == utc(2026, 3, 29, 1, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("day", [GAP_DAY, OVERLAP_DAY], ids=["gap", "overlap"])
@pytest.mark.parametrize("hour", [2, 3])
def test_beat_ticks_over_a_dst_change_run_the_company_once_a_day(personas, day, hour):
    """Every 15 minutes for three local days around the change: one run per local day."""
    company = personas.company_a
    start = datetime(day.year, day.month, day.day, tzinfo=BERLIN) - timedelta(days=1)
    policy = policy_get_or_create(company=company, now=start)
    RetentionPolicy.objects.filter(pk=policy.pk).update(
        run_hour=hour, next_run_at=_next(start, hour)
    )
    tick = start.astimezone(UTC)
    while tick < start + timedelta(days=3):
        if company.pk in companies_due(now=tick):
            assert retention_run(company_id=company.pk, now=tick).outcome == "done"
        tick += timedelta(minutes=15)

    runs = [
        r.astimezone(BERLIN)
        for r in RetentionRun.objects.filter(company=company)
        .order_by("started_at")
        .values_list("started_at", flat=True)
    ]
    assert [r.date() for r in runs] == [start.date() + timedelta(days=i) for i in range(3)]
    change_day_run = runs[1]
    if day == GAP_DAY:
        assert (change_day_run.hour, change_day_run.minute) == (3, 0)  # 02:00 does not exist
    else:
        assert (change_day_run.hour, change_day_run.minute) == (hour, 0)
        assert change_day_run.utcoffset() == timedelta(hours=2 if hour == 2 else 1)
