# Invariant: this is the ONE personal-data detector. Redaction before storing a
# message (no consent) and masking in the operator console both call
# find_personal_data(); nothing else in the project decides what is personal data,
# so what is hidden from storage and what is hidden on screen can never disagree.
"""Find personal data in free text: contact details, bank and card numbers, addresses,
names after a cue, dates of birth after a cue and national ID numbers.

One module per kind (contact.py: e-mail, phone.py, finance.py: IBAN and card,
address.py, names.py, birth.py, ids.py); this module combines them and is the
only public API. What is NOT found: a name without a cue ("Anna said ..."),
a street without a house number, free-text health details and anything else
that has no fixed shape. The seeded privacy notice says so.

Pure Python (phonenumbers + python-stdnum), no Django import, so it can run in
request handlers, Celery tasks, migrations and benchmarks alike.

Detection rules, in priority order: a lower-priority detection that overlaps
a higher one is merged into one span of the higher kind, and phone numbers are
looked for last, with everything already found blanked out.

* ``iban``  -- a country code and two check digits followed by exactly the
  number of characters that country's IBAN has (single spaces allowed anywhere,
  so "DE89 3704 0044 0532 0130 00" works), accepted if ``stdnum.iban`` says it
  is valid. An IBAN-shaped string that fails validation (a typo) is left alone,
  and no card or phone number is looked for inside it.
* ``card``  -- 13 to 19 digits, optionally grouped by single spaces or dashes
  the way cards are printed (one block, blocks of four, Amex 4-6-5), with a
  known issuer prefix and length (Visa, Mastercard, Amex, Discover, Diners,
  JCB, Maestro, UnionPay, Mir) and a valid Luhn check digit.
* ``email`` -- local part, "@", dotted domain ending in an alphabetic TLD.
* ``national_id``, ``birth_date``, ``address``, ``name`` -- see ids.py,
  birth.py, address.py and names.py.
* ``phone`` -- ``phonenumbers.PhoneNumberMatcher`` at ``Leniency.VALID`` with
  the company's country as default region, at least six digits. To keep order
  numbers, dates and prices intact: numbers written without "+" or an
  international call prefix must start with the trunk prefix ("0" in DE/AT/
  CH/GB/FR/...) where that country always writes it; digit strings that only
  parse because they begin with a country code ("4969012784") are not taken;
  nor are matches that start in a date or time ("02.01.2000" dials Essen), that
  start with the cents or end in the euros of a price, or that continue a
  number glued on with "-", "/" or "." ("RE-2020-03300 10"). Runs the matcher
  cannot split ("030 1234567 0151 23456789") are split token by token.

Cost: linear in the length of the text, under 50 ms for any 4,000 characters
(docs/benchmarks.md). Every pattern is matched in one pass with backtracking
bounded per position (tests/consent/test_pii_adversarial.py searches for
counterexamples); each candidate's work is bounded (a card or phone number has at most
19 or 17 digits, an IBAN 34 characters); PhoneNumberMatcher only sees windows of
at most MAX_MATCHER_WINDOW characters; and what phonenumbers may spend on one
message is capped (PHONE_PARSE_BUDGET, PHONE_SPLIT_BUDGET). Real messages never
reach the cap; text that does (digit noise) has the rest of its phone-like runs
removed as phone numbers: it fails closed, never open.
"""

from __future__ import annotations

import re

from .address import find_addresses
from .birth import find_birth_dates
from .contact import _find_emails
from .finance import _find_cards, _find_ibans
from .ids import find_ids
from .names import find_names
from .phone import (
    _WINDOW_RUN as _WINDOW_RUN,
)
from .phone import (
    MAX_MATCHER_WINDOW,
    MIN_PHONE_DIGITS,
    PHONE_PARSE_BUDGET,
    PHONE_SPLIT_BUDGET,
    _Budget,
    _find_phones,
)
from .spans import Span

__all__ = [
    "KINDS",
    "MASKS",
    "MAX_MATCHER_WINDOW",
    "MIN_PHONE_DIGITS",
    "PHONE_PARSE_BUDGET",
    "PHONE_SPLIT_BUDGET",
    "PLACEHOLDERS",
    "Span",
    "find_personal_data",
    "mask",
    "mask_value",
    "redact",
]

# Highest priority first. Phone numbers and cued names are looked for last.
KINDS = ("iban", "card", "national_id", "email", "birth_date", "address", "phone", "name")
_PRIORITY = {kind: rank for rank, kind in enumerate(KINDS)}

PLACEHOLDERS: dict[str, dict[str, str]] = {
    "en": {
        "email": "[email removed]",
        "phone": "[phone number removed]",
        "iban": "[IBAN removed]",
        "card": "[card number removed]",
        "address": "[address removed]",
        "name": "[name removed]",
        "birth_date": "[date of birth removed]",
        "national_id": "[ID number removed]",
    },
    "de": {
        "email": "[E-Mail entfernt]",
        "phone": "[Telefonnummer entfernt]",
        "iban": "[IBAN entfernt]",
        "card": "[Kartennummer entfernt]",
        "address": "[Adresse entfernt]",
        "name": "[Name entfernt]",
        "birth_date": "[Geburtsdatum entfernt]",
        "national_id": "[ID-Nummer entfernt]",
    },
}

# Fixed-width tokens: a masked value leaks its kind, never its length.
MASKS: dict[str, str] = {
    "email": "[•••• email]",
    "phone": "[•••• phone]",
    "iban": "[•••• IBAN]",
    "card": "[•••• card]",
    "address": "[•••• address]",
    "name": "[•••• name]",
    "birth_date": "[•••• birth date]",
    "national_id": "[•••• ID]",
}

_MASKED_VALUE = "••••••"

_ANY_DIGIT = re.compile(r"\d")
# "Kundennummer 0533344" is a valid German phone number, but the label says what it is.
_NUMBER_LABEL = re.compile(
    r"(?i)(?:kunden|bestell|auftrags|rechnungs|artikel|sendungs|vertrags|order|customer|"
    r"invoice|item|tracking|reference)[- ]?(?:nummer|nr\.?|number|no\.?|id)[ ]?[:#.]?[ ]?$"
)


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def find_personal_data(text: str, *, region: str = "DE") -> list[Span]:
    """Non-overlapping personal-data spans in ``text``, sorted by start.

    ``region`` is the company's country (ISO 3166 alpha-2); it decides how phone
    numbers written without an international prefix are read.
    """
    if not text:
        return []
    has_at = "@" in text
    has_digit = _ANY_DIGIT.search(text) is not None

    spans: list[Span] = find_names(text)
    invalid_ibans: list[tuple[int, int]] = []
    if has_digit:
        ibans, invalid_ibans = _find_ibans(text)
        spans += ibans
        spans += _find_cards(text, invalid_ibans)
        spans += find_ids(text)
        spans += find_birth_dates(text)
    if has_at:
        spans += _find_emails(text)
    if has_digit:
        # Addresses, then phone numbers, with everything found so far blanked out:
        # "Am DE89 3704 …" is an IBAN, not the street "Am DE89" with number 3704.
        spans += find_addresses(_blank(text, [(s.start, s.end) for s in spans] + invalid_ibans))
        # Phone numbers come last and are looked for with everything found so far
        # (and IBANs with a typo) blanked out: digits of an IBAN or a card are
        # not read again, and the costly matcher often has nothing left to do.
        taken = [(span.start, span.end) for span in spans] + invalid_ibans
        phones = _find_phones(_blank(text, taken), (region or "").upper(), _Budget())
        spans += [
            p for p in phones if not _NUMBER_LABEL.search(text, max(0, p.start - 30), p.start)
        ]
    return _merge(spans)


def _blank(text: str, regions: list[tuple[int, int]]) -> str:
    """``text`` with the regions replaced by spaces (positions stay the same)."""
    if not regions:
        return text
    chars = list(text)
    for start, end in regions:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _merge(spans: list[Span]) -> list[Span]:
    """Merge overlapping spans; a merged span takes the highest-priority kind."""
    if len(spans) < 2:
        return spans
    spans.sort(key=lambda s: (s.start, -s.end))
    merged = [spans[0]]
    for span in spans[1:]:
        last = merged[-1]
        if span.start < last.end:
            kind = min(last.kind, span.kind, key=_PRIORITY.__getitem__)
            merged[-1] = Span(kind, last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def _replace(text: str, spans: list[Span], replacements: dict[str, str]) -> str:
    parts: list[str] = []
    pos = 0
    for span in spans:
        parts.append(text[pos : span.start])
        parts.append(replacements[span.kind])
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)


def redact(text: str, *, region: str = "DE", language: str = "en") -> tuple[str, int]:
    """Replace personal data by a placeholder in ``language`` ("de"/"en", default en).

    Returns the new text and the number of spans replaced.
    """
    spans = find_personal_data(text, region=region)
    if not spans:
        return text, 0
    lang = (language or "en").replace("_", "-").split("-")[0].lower()
    placeholders = PLACEHOLDERS.get(lang, PLACEHOLDERS["en"])
    return _replace(text, spans, placeholders), len(spans)


def mask(text: str, *, region: str = "DE") -> str:
    """Replace personal data by a fixed-width token that shows only its kind."""
    spans = find_personal_data(text, region=region)
    return _replace(text, spans, MASKS) if spans else text


def mask_value(value: str) -> str:
    """Mask a whole personal field (name, e-mail, phone): nothing of it is shown."""
    return _MASKED_VALUE if value else ""
