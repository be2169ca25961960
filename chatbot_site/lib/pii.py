# Invariant: this is the ONE personal-data detector. Redaction before storing a
# message (no consent) and masking in the operator console both call
# find_personal_data(); nothing else in the project decides what is personal data,
# so what is hidden from storage and what is hidden on screen can never disagree.
"""Find e-mail addresses, phone numbers, IBANs and payment card numbers in free text.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import CountryCodeSource, Leniency, PhoneMetadata, PhoneNumberMatcher
from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum import numdb as _numdb

__all__ = [
    "MASKS",
    "PLACEHOLDERS",
    "Span",
    "find_personal_data",
    "mask",
    "mask_value",
    "redact",
]

KINDS = ("iban", "card", "email", "phone")  # highest priority first
_PRIORITY = {kind: rank for rank, kind in enumerate(KINDS)}

PLACEHOLDERS: dict[str, dict[str, str]] = {
    "en": {
        "email": "[email removed]",
        "phone": "[phone number removed]",
        "iban": "[IBAN removed]",
        "card": "[card number removed]",
    },
    "de": {
        "email": "[E-Mail entfernt]",
        "phone": "[Telefonnummer entfernt]",
        "iban": "[IBAN entfernt]",
        "card": "[Kartennummer entfernt]",
    },
}

# Fixed-width tokens: a masked value leaks its kind, never its length.
MASKS: dict[str, str] = {
    "email": "[•••• email]",
    "phone": "[•••• phone]",
    "iban": "[•••• IBAN]",
    "card": "[•••• card]",
}

_MASKED_VALUE = "••••••"


@dataclass(frozen=True)
class Span:
    kind: str  # "email" | "phone" | "iban" | "card"
    start: int
    end: int


# --------------------------------------------------------------------------- #
# Pre-checks
# --------------------------------------------------------------------------- #

_ANY_DIGIT = re.compile(r"\d")

# --------------------------------------------------------------------------- #
# E-mail
# --------------------------------------------------------------------------- #

# Starts only where the previous character cannot belong to a local part, so a
# long word without "@" is scanned once, not once per character.
_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~\-])"
    # local part: every character RFC 5322 allows unquoted; dots anywhere, since
    # a typo ("max..muster@") is still somebody's address
    r"[\w!#$%&'*+/=?^`{|}~.\-]+"
    r"@"
    r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.)+"  # domain labels
    r"(?:[^\W\d_]{2,63}|[Xx][Nn]--[\w\-]{1,59})"  # TLD: letters (any script) or punycode
    r"(?![\w\-]|\.[^\W_])"  # do not stop in the middle of a longer domain
)


def _find_emails(text: str) -> list[Span]:
    return [Span("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]


# --------------------------------------------------------------------------- #
# IBAN
# --------------------------------------------------------------------------- #

_IBAN_HEAD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_IBAN_SPACES = frozenset(" \u00a0")
_IBAN_DB = _numdb.get("iban")


@cache
def _iban_length(country: str) -> int:
    """Total IBAN length for a country code, 0 if the country has no IBAN."""
    info = _IBAN_DB.info(country)
    bban = info[0][1].get("bban", "") if info else ""
    if not bban:
        return 0
    return 4 + sum(int(n) for n in re.findall(r"\d+", bban))


def _find_ibans(text: str) -> tuple[list[Span], list[tuple[int, int]]]:
    """Return (valid IBAN spans, regions of IBAN-shaped strings that are not valid)."""
    found: list[Span] = []
    invalid: list[tuple[int, int]] = []
    n = len(text)
    pos = 0
    while True:
        m = _IBAN_HEAD.search(text, pos)
        if m is None:
            break
        start = m.start()
        length = _iban_length(text[start : start + 2].upper())
        if not length:
            pos = start + 1
            continue
        # Consume the remaining characters, allowing one space between any two.
        need = length - 4
        i = m.end()
        chars = [text[start:i]]
        while need and i < n:
            ch = text[i]
            if ch in _ALNUM:
                chars.append(ch)
                need -= 1
                i += 1
            elif ch in _IBAN_SPACES and i + 1 < n and text[i + 1] in _ALNUM:
                i += 1
            else:
                break
        if need or (i < n and text[i] in _ALNUM):
            pos = start + 1
            continue
        if _iban.is_valid("".join(chars)):
            found.append(Span("iban", start, i))
        else:
            invalid.append((start, i))
        pos = i
    return found, invalid


# --------------------------------------------------------------------------- #
# Payment cards
# --------------------------------------------------------------------------- #

# Digit groups separated by a single space or dash, not glued to a word or "+".
_DIGIT_GROUPS = re.compile(r"(?<![\w+])[0-9]+(?:[ \-][0-9]+)*")
_GROUP = re.compile(r"[0-9]+")

_ANY_LEN = frozenset(range(13, 20))
_LEN_16_19 = frozenset(range(16, 20))
# (first prefix, last prefix, allowed lengths); prefixes compare as digit strings
# of the same width.
_CARD_RANGES: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),  # Visa
    (51, 55, frozenset({16})),  # Mastercard
    (2221, 2720, frozenset({16})),  # Mastercard 2-series
    (34, 34, frozenset({15})),  # American Express
    (37, 37, frozenset({15})),
    (6011, 6011, _LEN_16_19),  # Discover
    (644, 649, _LEN_16_19),
    (65, 65, _LEN_16_19),
    # Diners Club: issued with 14 or 16 digits. Not 17: Amazon order numbers
    # ("302-1234567-1234567") would collide.
    (36, 36, frozenset({14, 16})),
    (300, 305, frozenset({14, 16})),
    (3095, 3095, frozenset({16})),
    (38, 39, frozenset({16})),
    (3528, 3589, _LEN_16_19),  # JCB
    (62, 62, _LEN_16_19),  # UnionPay
    (2200, 2204, frozenset({16})),  # Mir
    (50, 50, _ANY_LEN),  # Maestro
    (56, 58, _ANY_LEN),
    (6304, 6304, _ANY_LEN),
    (6759, 6759, _ANY_LEN),
    (6761, 6763, _ANY_LEN),
)


def _plausible_card(digits: str) -> bool:
    n = len(digits)
    for low, high, lengths in _CARD_RANGES:
        if n in lengths:
            width = len(str(low))
            if low <= int(digits[:width]) <= high:
                return True
    return False


# How card numbers are printed: one block, blocks of four (the last may be
# shorter), or Amex/Diners 4-6-5 / 4-6-4. Two numbers that merely stand next to
# each other ("order #57870709 01001 Berlin") do not look like that.
_CARD_LAYOUTS = frozenset({(4, 6, 5), (4, 6, 4), (4, 3, 3, 3)})


def _card_layout(lengths: tuple[int, ...]) -> bool:
    if len(lengths) == 1 or lengths in _CARD_LAYOUTS:
        return True
    return all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4


def _is_card(digits: str) -> bool:
    return digits[0] in "23456" and _plausible_card(digits) and _luhn.is_valid(digits)


def _find_cards(text: str, exclude: list[tuple[int, int]]) -> list[Span]:
    found: list[Span] = []
    for run in _DIGIT_GROUPS.finditer(text):
        run_start, run_end = run.span()
        if run_end - run_start < 13:
            continue
        groups = [
            (g.start(), g.end())
            for g in _GROUP.finditer(text, run_start, run_end)
            # the account part of an IBAN with a typo is not a card
            if not any(s < g.end() and g.start() < e for s, e in exclude)
        ]
        if run_end < len(text) and (text[run_end].isalnum() or text[run_end] == "_"):
            if groups and groups[-1][1] == run_end:
                groups.pop()  # the last group runs into a word
        i = 0
        while i < len(groups):
            candidates = []
            digits = ""
            lengths: tuple[int, ...] = ()
            for j in range(i, len(groups)):
                if j > i and groups[j][0] - groups[j - 1][1] != 1:
                    break  # an excluded group sat in between
                digits += text[groups[j][0] : groups[j][1]]
                lengths += (groups[j][1] - groups[j][0],)
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and _card_layout(lengths):
                    candidates.append((j, digits))
            hit = next((j for j, digits in reversed(candidates) if _is_card(digits)), None)
            if hit is None:
                i += 1
            else:
                found.append(Span("card", groups[i][0], groups[hit][1]))
                i = hit + 1
    return found


# --------------------------------------------------------------------------- #
# Phone numbers
# --------------------------------------------------------------------------- #

# Superset of what PhoneNumberMatcher can see as one candidate: digits with at
# most four non-word characters between them.
_DIGIT_RUN = re.compile(r"[+(]*\d(?:\W{0,4}\d)*")
_NON_DIGITS = re.compile(r"\D+")
# Fewer digits than this is never taken as a phone number: the shortest country
# code plus national number anywhere has six, a German landline written with
# its 0 too. Shorter "valid" numbers are pagers that collide with postcodes
# ("01640 Coswig").
MIN_PHONE_DIGITS = 6


@lru_cache(maxsize=64)
def _required_trunk_prefix(region: str) -> str:
    """The trunk prefix ("0") if the region always writes it in national format."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or not metadata.national_prefix:
        return ""
    trunk = metadata.national_prefix
    required = any(
        fmt.national_prefix_formatting_rule
        and trunk in fmt.national_prefix_formatting_rule
        and not fmt.national_prefix_optional_when_formatting
        for fmt in metadata.number_format
    )
    return trunk if required else ""


def _digit_count(value: str) -> int:
    return len(_NON_DIGITS.sub("", value))


# Dates and times that, read as digits, are valid phone numbers ("02.01.2000" is
# 0201 2000 in Essen). The matcher itself only rules out slash dates.
_DATE_OR_TIME = re.compile(
    r"(?<![\d.])(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?:\d{4}|\d{2})?(?!\.?\d)"
    r"|(?<![\d\-])\d{4}-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])(?!-?\d)"
    r"|(?<![\d/])\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})(?!/?\d)"
    r"|(?<![\d:])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?!:?\d)"
)

_CENTS = re.compile(r"\d{1,2}(?!\d)")
_GLUE = frozenset("-./")
_DECIMALS = re.compile(r"[.,]\d{1,2}(?![\d.,])")


def _after_decimal_point(text: str, pos: int) -> bool:
    return pos >= 2 and text[pos - 1] in ".," and text[pos - 2].isdigit()


def _may_contain_phone(text: str, trunk: str, dates: list[tuple[int, int]]) -> bool:
    """Whether PhoneNumberMatcher (50-150 us once it has candidates to parse) can
    find anything we would report: a run with six digits from a place where a
    number may start ("+", "(", the trunk prefix; not inside a date or time)."""
    for run in _DIGIT_RUN.finditer(text):
        start, end = run.span()
        total = _digit_count(run.group())
        if total < MIN_PHONE_DIGITS:
            continue
        if not trunk:
            return True
        seen = 0  # digits before position p
        for p in range(start, end):
            ch = text[p]
            if (
                ch in "+(" or (ch == trunk[0] and (p == start or not text[p - 1].isdigit()))
            ) and not any(s <= p < e for s, e in dates):
                if total - seen >= MIN_PHONE_DIGITS:
                    return True
                break  # later starts have even fewer digits left
            if ch.isdigit():
                seen += 1
    return False


# Phone-like runs for the fallback below: tokens of digits (with "+", "(", ")")
# joined by short separators or extension markers ("x", "#", "~", "ext").
_PHONE_RUN = re.compile(
    r"(?<!\w)[+(]?\d[\d)]*"
    r"(?:(?:[ \t\-./]{1,3}|[ \t]*(?:[xX#~]|[eE][xX][tT]\.?)[ \t]*)[+(]?\d[\d)]*)*"
)
_PHONE_TOKEN = re.compile(r"[+(]?\d[\d)]*")
_EXTENSION_MARK = re.compile(r"[xX#~]")
_MAX_PHONE_DIGITS = 17  # "00" + country code + the longest national number


class _PhoneContext:
    """What every phone candidate is checked against, computed once per text."""

    def __init__(self, text: str, region: str) -> None:
        self.text = text
        self.region = region
        self.trunk = _required_trunk_prefix(region)
        self.dates = [m.span() for m in _DATE_OR_TIME.finditer(text)]

    def accept(self, start: int, end: int, raw: str, *, split: bool = False) -> bool:
        """Whether a VALID match is a phone number we report.

        ``split``: the candidate was cut out of a run by _split_run, which may
        not cut into a date or time at all; the matcher's own matches only may
        not start in one.
        """
        text = self.text
        if any((s < end if split else s <= start) and start < e for s, e in self.dates):
            return False  # a date or a time ("02.01.2000" is a number in Essen)
        if _after_decimal_point(text, start) and _CENTS.match(text, start):
            return False  # "1.000,02 01.01.2000": starts with the cents of a price
        if _DECIMALS.match(text, end):
            return False  # "RE-2020-02010 10,00 €": ends in the euros of a price
        if not split and start >= 2 and text[start - 1] in _GLUE and text[start - 2].isdigit():
            return False  # "RE-2020-03300 10": the tail of an invoice number
        try:
            parsed = phonenumbers.parse(raw, self.region, keep_raw_input=True)
        except phonenumbers.NumberParseException:
            return False
        if parsed.extension:
            # "030 20000 x 01.01.2000": the matcher's extension can swallow the
            # next number; _split_run finds the number without it.
            return False
        if _digit_count(raw) < MIN_PHONE_DIGITS:
            return False
        source = parsed.country_code_source
        if source == CountryCodeSource.FROM_NUMBER_WITHOUT_PLUS_SIGN:
            return False  # "4969012784": an order number that starts with 49
        if (
            source == CountryCodeSource.FROM_DEFAULT_COUNTRY
            and self.trunk
            and not phonenumbers.normalize_digits_only(raw).startswith(self.trunk)
        ):
            return False  # "367459": Germans always write the 0
        return True


def _find_phones(text: str, region: str) -> list[Span]:
    """Phone numbers in ``text``, in which everything already found is blanked out."""
    ctx = _PhoneContext(text, region)
    if not _may_contain_phone(text, ctx.trunk, ctx.dates):
        return []
    found = [
        Span("phone", m.start, m.end)
        for m in PhoneNumberMatcher(text, region, leniency=Leniency.VALID)
        if ctx.accept(m.start, m.end, m.raw_string)
    ]
    # PhoneNumberMatcher reads a whole run of digits as one candidate and gives up
    # on runs it cannot split: "030 1234567 0151 23456789" (two numbers, one
    # space) yields nothing, "030 1234567#0151 23456789" only the first number
    # with "0151" as its extension. Such runs are split here.
    for run in _PHONE_RUN.finditer(text):
        run_start, run_end = run.span()
        if _digit_count(run.group()) < MIN_PHONE_DIGITS:
            continue
        tokens = [t.span() for t in _PHONE_TOKEN.finditer(text, run_start, run_end)]
        covered = [s for s in found if s.start < run_end and run_start < s.end]
        if all(any(s.start <= a and b <= s.end for s in covered) for a, b in tokens):
            continue
        found += _split_run(ctx, tokens, run_start, run_end)
    return found


def _split_run(
    ctx: _PhoneContext, tokens: list[tuple[int, int]], run_start: int, run_end: int
) -> list[Span]:
    """The phone numbers in a run of digit tokens, covering as many digits as possible."""
    text = ctx.text
    n = len(tokens)
    digits = [_digit_count(text[a:b]) for a, b in tokens]
    joinable = [
        not _EXTENSION_MARK.search(text[tokens[i][1] : tokens[i + 1][0]])
        and "ext" not in text[tokens[i][1] : tokens[i + 1][0]].lower()
        for i in range(n - 1)
    ]

    def may_start(i: int) -> bool:
        first = tokens[i][0]
        return text[first] in "+(" or not ctx.trunk or text.startswith(ctx.trunk, first)

    def glued(i: int) -> bool:
        # "RE-2020-03300": the token continues a number joined by "-", "/" or "."
        first = tokens[i][0]
        return first >= 2 and text[first - 1] in _GLUE and text[first - 2].isdigit()

    checked: dict[tuple[int, int], bool] = {}

    def is_phone(i: int, j: int) -> bool:
        if (i, j) not in checked:
            checked[i, j] = _is_phone_in_run(ctx, tokens[i][0], tokens[j][1], run_start, run_end)
        return checked[i, j]

    # A small dynamic program over the tokens, from the last one back: cover as
    # many digits as possible. best[after][i] is the best cover of tokens i..;
    # "after" says whether token i-1 ended a number, which a glued token needs.
    Cover = tuple[int, tuple[Span, ...]]
    best: dict[bool, list[Cover]] = {False: [(0, ())] * (n + 1), True: [(0, ())] * (n + 1)}
    for i in range(n - 1, -1, -1):
        for after in (False, True):
            result = best[False][i + 1]
            if may_start(i) and (after or not glued(i)):
                count = 0
                for j in range(i, n):
                    if j > i and not joinable[j - 1]:
                        break
                    count += digits[j]
                    if count > _MAX_PHONE_DIGITS:
                        break
                    if count < MIN_PHONE_DIGITS:
                        continue
                    rest = best[True][j + 1]
                    if count + rest[0] > result[0] and is_phone(i, j):
                        span = Span("phone", tokens[i][0], tokens[j][1])
                        result = (count + rest[0], (span, *rest[1]))
            best[after][i] = result
    return list(best[False][0][1])


def _is_phone_in_run(
    ctx: _PhoneContext, start: int, end: int, run_start: int, run_end: int
) -> bool:
    """Whether text[start:end], cut out of a run, is a phone number we report."""
    text = ctx.text
    candidate = text[start:end]
    if not ctx.accept(start, end, candidate, split=True):
        return False
    # Probe the candidate alone, with its real neighbours outside the run (a
    # letter or a currency sign right after it makes it no phone number).
    before = "" if start == 0 else " " if start > run_start else text[start - 1]
    after = "" if end == len(text) else " " if end < run_end else text[end]
    wanted = _digit_count(candidate)
    return any(
        _digit_count(m.raw_string) == wanted
        for m in PhoneNumberMatcher(before + candidate + after, ctx.region, leniency=Leniency.VALID)
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
    if not has_at and not has_digit:
        return []

    spans: list[Span] = []
    invalid_ibans: list[tuple[int, int]] = []
    if has_digit:
        ibans, invalid_ibans = _find_ibans(text)
        spans += ibans
        spans += _find_cards(text, invalid_ibans)
    if has_at:
        spans += _find_emails(text)
    if has_digit:
        # Phone numbers come last and are looked for with everything found so far
        # (and IBANs with a typo) blanked out: digits of an IBAN or a card are
        # not read again, and the costly matcher often has nothing left to do.
        taken = [(span.start, span.end) for span in spans] + invalid_ibans
        spans += _find_phones(_blank(text, taken), (region or "").upper())
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
