"""Phone numbers: phonenumbers' matcher in bounded windows, a splitter, a budget.

See the package docstring for the rules and the cost bounds."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import lru_cache

import phonenumbers
from phonenumbers import CountryCodeSource, Leniency, PhoneMetadata, PhoneNumberMatcher

from .spans import Span

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
