"""IBANs (validated by python-stdnum) and payment card numbers (issuer range, layout, Luhn)."""

from __future__ import annotations

import re
from functools import cache

from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum import numdb as _numdb

from .spans import Span

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
