"""Dates of birth: a date right after a cue ("geboren am", "geb.", "date of birth", "DOB").

Only the date is taken, not the cue. A date without a cue (a delivery date, an
order date) is no date of birth and stays. Dates are written as "12.03.1985",
"12.3.85", "1985-03-12", "12/03/1985", "12. März 1985", "March 12, 1985" or
"12 March 1985".

Cost: the cue is a literal phrase and the date after it has bounded length.
"""

from __future__ import annotations

import re

from .spans import Span

_MONTHS = (
    r"Januar|Jänner|Februar|März|Maerz|April|Mai|Juni|Juli|August|September|Oktober|"
    r"November|Dezember|January|February|March|May|June|July|October|December|"
    r"Jan|Feb|Mär|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Okt|Oct|Nov|Dez|Dec"
)
_DATE = (
    r"(?:0?[1-9]|[12]\d|3[01])[./](?:0?[1-9]|1[0-2])[./](?:19|20)?\d{2}"
    r"|(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])/(?:19|20)\d{2}"  # US: month first
    r"|(?:19|20)\d{2}-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])"
    rf"|(?:0?[1-9]|[12]\d|3[01])(?:\.|st|nd|rd|th)?[ ](?:{_MONTHS})\.?,?[ ](?:19|20)\d{{2}}"
    rf"|(?:{_MONTHS})\.?[ ](?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,?[ ](?:19|20)\d{{2}}"
)
_CUE = (
    r"geboren(?:[ ]am)?|geb\.(?:[ ]am)?|geb(?:[ ]am)?|Geburtsdatum|Geburtstag|Geb\.-Datum|"
    r"date[ ]of[ ]birth|birth[ ]date|birthdate|birthday|DOB|D\.O\.B\.?|born(?:[ ]on)?"
)
_BIRTH_DATE = re.compile(
    rf"(?<![\w])(?i:{_CUE})(?:[ ]?(?::|is|ist|=|-|–))?[ ]{{1,2}}(?P<date>{_DATE})(?![\w]|[./]\d)"
)


# A piece of every cue, lower-case: without one the regex pass is skipped.
_CUE_PIECES = ("geb", "birth", "dob", "d.o.b", "born")


def find_birth_dates(text: str) -> list[Span]:
    if not any(map(text.lower().__contains__, _CUE_PIECES)):
        return []
    return [Span("birth_date", *m.span("date")) for m in _BIRTH_DATE.finditer(text)]
