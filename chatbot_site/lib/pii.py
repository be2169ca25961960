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
from bisect import bisect_left, bisect_right
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
_CARD_LAYOUT_STARTS = frozenset(lay[:k] for lay in _CARD_LAYOUTS for k in range(1, len(lay)))


def _card_layout(lengths: tuple[int, ...]) -> bool:
    if len(lengths) == 1 or lengths in _CARD_LAYOUTS:
        return True
    return all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4


def _card_layout_may_grow(lengths: tuple[int, ...]) -> bool:
    """Whether more groups after these can still make a card layout."""
    return lengths in _CARD_LAYOUT_STARTS or all(n == 4 for n in lengths)


def _is_card(digits: str) -> bool:
    return digits[0] in "23456" and _plausible_card(digits) and _luhn.is_valid(digits)


def _find_cards(text: str, exclude: list[tuple[int, int]]) -> list[Span]:
    found: list[Span] = []
    k = 0  # exclude is sorted and disjoint: the first region that may still overlap
    for run in _DIGIT_GROUPS.finditer(text):
        run_start, run_end = run.span()
        if run_end - run_start < 13:
            continue
        groups = []
        for g in _GROUP.finditer(text, run_start, run_end):
            while k < len(exclude) and exclude[k][1] <= g.start():
                k += 1
            if k < len(exclude) and exclude[k][0] < g.end():
                continue  # the account part of an IBAN with a typo is not a card
            groups.append((g.start(), g.end()))
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
                if not _card_layout_may_grow(lengths):
                    break  # "0 0 0 ...": no longer group can be a card either
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

# Fewer digits than this is never taken as a phone number: the shortest country
# code plus national number anywhere has six, a German landline written with
# its 0 too. Shorter "valid" numbers are pagers that collide with postcodes
# ("01640 Coswig").
MIN_PHONE_DIGITS = 6
_MAX_PHONE_DIGITS = 17  # "00" + country code + the longest national number

# Work limits, so that a message costs time linear in its length. phonenumbers
# is the only costly step (one parse attempt, in its matcher or ours, costs
# 20-40 us); everything else is a fixed number of regex passes over the text.
# What a message may spend on phone numbers:
#: parse attempts (about 15 ms). A real phone number costs 1 to 4, a harmless
#: number that gets as far as phonenumbers 1 to 5: a chat message uses a few (the
#: benchmark corpus at most 2, a message with five numbers about 10), and a
#: message listing 120 phone numbers still fits.
PHONE_PARSE_BUDGET = 400
#: candidate spans the splitter below may weigh (a few us each). A run of digit
#: groups with n groups has at most 12 n; a real message needs a few dozen.
PHONE_SPLIT_BUDGET = 4000
#: the longest run of digits and phone punctuation handed to PhoneNumberMatcher
#: as one window. Its cost grows with the square of a run's length ("0 - 0 - 0
#: ..." of 4,000 characters costs it 110 ms); a written phone number, even two of
#: them joined by " / ", is far shorter. Longer runs are only split (below).
MAX_MATCHER_WINDOW = 80
# When a budget runs out, the rest of the message is not examined: every run not
# yet examined is reported as a phone number from the first place a number may
# start that has six digits after it (fail closed: digit noise is over-redacted,
# a real number is never let through). Only text that is mostly digits gets there.


class _OutOfBudget(Exception):
    """The message has used up its phone-number budget."""


class _Budget:
    __slots__ = ("parses", "steps")

    def __init__(self) -> None:
        self.parses = PHONE_PARSE_BUDGET
        self.steps = PHONE_SPLIT_BUDGET

    def spend_parses(self, count: int) -> None:
        if count > self.parses:
            self.parses = 0
            raise _OutOfBudget
        self.parses -= count

    def spend_step(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise _OutOfBudget


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


_NON_DIGITS = re.compile(r"\D+")


def _digit_count(value: str) -> int:
    return len(_NON_DIGITS.sub("", value))


# Dates and times that, read as digits, are valid phone numbers ("02.01.2000" is
# 0201 2000 in Essen). The matcher itself only rules out slash dates. Every
# form starts with a digit: the lookahead spares the lookbehinds everywhere else.
_DATE_OR_TIME = re.compile(
    r"(?=\d)(?:"
    r"(?<![\d.])(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?:\d{4}|\d{2})?(?!\.?\d)"
    r"|(?<![\d\-])\d{4}-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])(?!-?\d)"
    r"|(?<![\d/])\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})(?!/?\d)"
    r"|(?<![\d:])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?!:?\d)"
    r")"
)

_CENTS = re.compile(r"\d{1,2}(?!\d)")
_GLUE = frozenset("-./")
_DECIMALS = re.compile(r"[.,]\d{1,2}(?![\d.,])")


def _after_decimal_point(text: str, pos: int) -> bool:
    return pos >= 2 and text[pos - 1] in ".," and text[pos - 2].isdigit()


# What PhoneNumberMatcher can read as one candidate: digits joined by at most
# four characters of phone punctuation (phonenumbers' VALID_PUNCTUATION, and
# what its extension patterns join with: "x", "#", "~", ",", ":", ";", "="),
# with up to two "+" or bracket leads in front. The matcher is run on each such
# window (with the one character before and three after that it looks at), so
# its cost is bounded per window. On real text that finds what the matcher finds
# in the whole text (compared on the benchmark corpus and on generated messages);
# only an extension written as a word ("ext 12", "int 12") joins more, which can
# shift where the matcher cuts digit-and-punctuation noise next to it. A test
# keeps this class a superset of the installed phonenumbers' punctuation.
_PHONE_PUNCTUATION = (
    "\\-x\u2010-\u2015\u2212\u30fc\uff0d-\uff0f \u00a0\u00ad\u200b\u2060\u3000"
    "()\uff08\uff09\uff3b\uff3d.\\[\\]/~\u2053\u223c\uff5eXｘＸ+\uff0b"
    "#\uff03,:;=\t"
)
_WINDOW_RUN = re.compile(
    r"(?=[\d+\uff0b(\[\uff08\uff3b])"  # where a window can start: a digit or a lead
    rf"(?:[+\uff0b(\[\uff08\uff3b][{_PHONE_PUNCTUATION}]{{0,4}}){{0,2}}"
    rf"\d(?:[{_PHONE_PUNCTUATION}]{{0,4}}\d)*"
)
_LEADS = frozenset("+\uff0b(\uff08[\uff3b")
_WINDOW_BEFORE = 1  # the matcher checks the character before a candidate
_WINDOW_AFTER = 3  # ... and after it, and ":dd" after a time stamp

# Phone-like runs for the splitter below: tokens of digits (with "+", "(", ")")
# joined by short separators or extension markers ("x", "#", "~", "ext").
_PHONE_RUN = re.compile(
    r"(?<!\w)[+(]?\d[\d)]*"
    r"(?:(?:[ \t\-./]{1,3}|[ \t]*(?:[xX#~]|[eE][xX][tT]\.?)[ \t]*)[+(]?\d[\d)]*)*"
)
_PHONE_TOKEN = re.compile(r"[+(]?\d[\d)]*")
_EXTENSION_MARK = re.compile(r"[xX#~]")


class _PhoneContext:
    """What every phone candidate is checked against, computed once per text.

    Also the per-message memo of phonenumbers' answers (the same candidate is
    parsed once however often it repeats) and the budget they are paid from.
    Both live only as long as one call of find_personal_data().
    """

    def __init__(self, text: str, region: str, budget: _Budget) -> None:
        self.text = text
        self.region = region
        self.trunk = _required_trunk_prefix(region)
        self.budget = budget
        self._dates: tuple[list[int], list[int]] | None = None
        self._parsed: dict[str, phonenumbers.PhoneNumber | None] = {}
        self._matches: dict[str, list[tuple[int, int, str]]] = {}
        self._verdicts: dict[str, bool] = {}
        self._valid: dict[str, bool] = {}

    # -- dates ----------------------------------------------------------------

    def _date_spans(self) -> tuple[list[int], list[int]]:
        """Starts and ends of the dates and times in the text (sorted, disjoint)."""
        if self._dates is None:
            spans = [m.span() for m in _DATE_OR_TIME.finditer(self.text)]
            self._dates = [s for s, _ in spans], [e for _, e in spans]
        return self._dates

    def in_date(self, pos: int) -> bool:
        """Whether ``pos`` lies inside a date or a time."""
        starts, ends = self._date_spans()
        i = bisect_right(starts, pos) - 1
        return i >= 0 and pos < ends[i]

    def touches_date(self, start: int, end: int) -> bool:
        """Whether text[start:end] overlaps a date or a time."""
        starts, ends = self._date_spans()
        i = bisect_left(starts, end) - 1
        return i >= 0 and ends[i] > start

    # -- phonenumbers, paid from the budget -----------------------------------

    def parse(self, raw: str) -> phonenumbers.PhoneNumber | None:
        if raw not in self._parsed:
            self.budget.spend_parses(1)
            try:
                parsed = phonenumbers.parse(raw, self.region, keep_raw_input=True)
            except phonenumbers.NumberParseException:
                parsed = None
            self._parsed[raw] = parsed
        return self._parsed[raw]

    def match(self, window: str) -> list[tuple[int, int, str]]:
        """PhoneNumberMatcher's VALID matches in ``window``: (start, end, raw string)."""
        if window not in self._matches:
            tries = self.budget.parses
            if tries <= 0:
                raise _OutOfBudget
            matcher = PhoneNumberMatcher(
                window, self.region, leniency=Leniency.VALID, max_tries=tries
            )
            found = [(m.start, m.end, m.raw_string) for m in matcher]
            # Failed attempts count down max_tries; each match cost one parse more.
            # At 0 the matcher stops early, so the window was not fully examined.
            left = getattr(matcher, "_max_tries", 0)
            if left <= 0:
                self.budget.parses = 0
                raise _OutOfBudget
            self.budget.parses = max(0, left - len(found))
            self._matches[window] = found
        return self._matches[window]

    def is_valid(self, raw: str) -> bool:
        """phonenumbers.is_valid_number of a parsed candidate (memoised: up to 20 us)."""
        valid = self._valid.get(raw)
        if valid is None:
            parsed = self.parse(raw)
            self.budget.spend_parses(1)  # as much as a parse for +1 numbers (25 regions)
            valid = self._valid[raw] = parsed is not None and phonenumbers.is_valid_number(parsed)
        return valid

    def accept(self, start: int, end: int, raw: str, *, split: bool = False) -> bool:
        """Whether a VALID match is a phone number we report.

        ``split``: the candidate was cut out of a run by _split_run, which may
        not cut into a date or time at all; the matcher's own matches only may
        not start in one.
        """
        text = self.text
        if self.touches_date(start, end) if split else self.in_date(start):
            return False  # a date or a time ("02.01.2000" is a number in Essen)
        if _after_decimal_point(text, start) and _CENTS.match(text, start):
            return False  # "1.000,02 01.01.2000": starts with the cents of a price
        if _DECIMALS.match(text, end):
            return False  # "RE-2020-02010 10,00 €": ends in the euros of a price
        if not split and start >= 2 and text[start - 1] in _GLUE and text[start - 2].isdigit():
            return False  # "RE-2020-03300 10": the tail of an invoice number
        return self.number_ok(raw)

    def number_ok(self, raw: str) -> bool:
        """The checks on the number itself, once per distinct candidate."""
        verdict = self._verdicts.get(raw)
        if verdict is None:
            verdict = self._verdicts[raw] = self._number_ok(raw)
        return verdict

    def _number_ok(self, raw: str) -> bool:
        parsed = self.parse(raw)
        if parsed is None:
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


def _may_contain_phone(ctx: _PhoneContext, start: int, end: int) -> bool:
    """Whether text[start:end] can hold a phone number we would report.

    PhoneNumberMatcher and the splitter are only asked about runs that have six
    digits after a place where a number may start: "+", "(", the trunk prefix at
    the start of a digit group; not inside a date or a time.
    """
    text = ctx.text
    total = _digit_count(text[start:end])
    if total < MIN_PHONE_DIGITS:
        return False
    trunk = ctx.trunk
    if not trunk:
        return True
    seen = 0  # digits before position p
    for p in range(start, end):
        ch = text[p]
        if (
            ch in "+(" or (ch == trunk[0] and (p == start or not text[p - 1].isdigit()))
        ) and not ctx.in_date(p):
            return total - seen >= MIN_PHONE_DIGITS  # later starts have fewer digits left
        if ch.isdigit():
            seen += 1
    return False


def _fail_closed(ctx: _PhoneContext, start: int, end: int) -> Span | None:
    """The span reported for a run the budget did not allow to examine."""
    text = ctx.text
    total = _digit_count(text[start:end])
    seen = 0
    for p in range(start, end):
        ch = text[p]
        if total - seen < MIN_PHONE_DIGITS:
            return None
        if (
            ch in "+("
            or (ch.isdigit() and (not ctx.trunk or ch == ctx.trunk[0]))
            and (p == start or not text[p - 1].isdigit())
        ) and not ctx.in_date(p):
            return Span("phone", p, end)
        if ch.isdigit():
            seen += 1
    return None


def _find_phones(text: str, region: str, budget: _Budget) -> list[Span]:
    """Phone numbers in ``text``, in which everything already found is blanked out."""
    ctx = _PhoneContext(text, region, budget)
    unexamined: list[tuple[int, int]] = []
    # 1. PhoneNumberMatcher, window by window.
    matched: list[Span] = []
    for run in _WINDOW_RUN.finditer(text):
        start, end = run.span()
        if end - start > MAX_MATCHER_WINDOW or not _may_contain_phone(ctx, start, end):
            continue
        offset = max(0, start - _WINDOW_BEFORE)
        try:
            window = ctx.match(text[offset : end + _WINDOW_AFTER])
            matched += [
                Span("phone", offset + s, offset + e)
                for s, e, raw in window
                if start <= offset + s
                and offset + e <= end
                and ctx.accept(offset + s, offset + e, raw)
            ]
        except _OutOfBudget:
            unexamined.append((start, end))
    # 2. PhoneNumberMatcher reads a whole run of digits as one candidate and gives
    # up on runs it cannot split: "030 1234567 0151 23456789" (two numbers, one
    # space) yields nothing, "030 1234567#0151 23456789" only the first number
    # with "0151" as its extension. Such runs are split here.
    found = list(matched)
    starts = [s.start for s in matched]  # sorted, disjoint
    for run in _PHONE_RUN.finditer(text):
        run_start, run_end = run.span()
        if _digit_count(run.group()) < MIN_PHONE_DIGITS:
            continue
        tokens = [t.span() for t in _PHONE_TOKEN.finditer(text, run_start, run_end)]
        first = max(0, bisect_right(starts, run_start) - 1)
        covered = [s for s in matched[first : bisect_left(starts, run_end)] if run_start < s.end]
        if _all_covered(tokens, covered) or not _may_contain_phone(ctx, run_start, run_end):
            continue
        try:
            found += _split_run(ctx, tokens, run_start, run_end)
        except _OutOfBudget:
            unexamined.append((run_start, run_end))
    for start, end in unexamined:
        span = _fail_closed(ctx, start, end)
        if span is not None:
            found.append(span)
    return found


def _all_covered(tokens: list[tuple[int, int]], spans: list[Span]) -> bool:
    """Whether every token lies inside one of the (sorted, disjoint) spans."""
    k = 0
    for a, b in tokens:
        while k < len(spans) and spans[k].end < b:
            k += 1
        if k == len(spans) or not spans[k].start <= a:
            return False
    return True


def _split_run(
    ctx: _PhoneContext, tokens: list[tuple[int, int]], run_start: int, run_end: int
) -> list[Span]:
    """The phone numbers in a run of digit tokens, covering as many digits as possible."""
    text = ctx.text
    budget = ctx.budget
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

    # A small dynamic program over the tokens, from the last one back: cover as
    # many digits as possible. score[after][i] is the most digits a cover of
    # tokens i.. takes; "after" says whether token i-1 ended a number, which a
    # glued token needs. take[after][i] is the last token of the number that
    # starts at token i in that cover, or -1 if token i is skipped.
    score = {False: [0] * (n + 1), True: [0] * (n + 1)}
    take = {False: [-1] * (n + 1), True: [-1] * (n + 1)}
    for i in range(n - 1, -1, -1):
        skip = score[False][i + 1]
        best, best_j = skip, -1
        if may_start(i):
            count = 0
            for j in range(i, n):
                if j > i and not joinable[j - 1]:
                    break
                count += digits[j]
                if count > _MAX_PHONE_DIGITS:
                    break
                if count < MIN_PHONE_DIGITS:
                    continue
                budget.spend_step()
                total = count + score[True][j + 1]
                if total > best and _is_phone_in_run(
                    ctx, tokens[i][0], tokens[j][1], run_start, run_end
                ):
                    best, best_j = total, j
        # Token i may start a number only after another number if it is glued on.
        score[True][i], take[True][i] = best, best_j
        if glued(i):
            score[False][i], take[False][i] = skip, -1
        else:
            score[False][i], take[False][i] = best, best_j
    spans: list[Span] = []
    i, after = 0, False
    while i < n:
        j = take[after][i]
        if j < 0:
            i, after = i + 1, False
        else:
            spans.append(Span("phone", tokens[i][0], tokens[j][1]))
            i, after = j + 1, True
    return spans


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
    if before not in _LEADS and not ctx.is_valid(candidate):
        # The matcher (Leniency.VALID) takes only valid numbers: the cheaper
        # question first. Not when a "+" in front makes it another number.
        return False
    wanted = _digit_count(candidate)
    return any(_digit_count(raw) == wanted for _s, _e, raw in ctx.match(before + candidate + after))


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
        spans += _find_phones(_blank(text, taken), (region or "").upper(), _Budget())
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
