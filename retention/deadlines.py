"""Deadline maths for data-subject requests (Art. 12(3) GDPR): calendar months, no queries.

Invariant: a request is answered within one calendar month of its receipt,
extendable by at most two further months. A month later is the same day
number in the next month, or that month's last day when it has fewer days
(31 January -> 28/29 February), as the EU's Regulation 1182/71 on time
limits counts it. Extensions are counted from the receipt, not from the
clamped first deadline (31 January + 3 months is 30 April, not 28 April).
"""

from __future__ import annotations

import calendar
from datetime import date

ANSWER_MONTHS = 1
MAX_EXTENSION_MONTHS = 2


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(*, received_on: date, extension_months: int = 0) -> date:
    """When the answer is due: one month after receipt, plus the extension's months."""
    if not 0 <= extension_months <= MAX_EXTENSION_MONTHS:
        raise ValueError(f"an extension is 0 to {MAX_EXTENSION_MONTHS} months")
    return add_months(received_on, ANSWER_MONTHS + extension_months)
