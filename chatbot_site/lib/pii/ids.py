"""National identification numbers, each validated by its check digit or format rules.

* German tax ID (steuerliche Identifikationsnummer): 11 digits, python-stdnum
  ``de.idnr``; written as one block only after a cue ("Steuer-ID", "IdNr",
  "tax ID", ...), or grouped "12 345 678 901" anywhere.
* German pension insurance number (Rentenversicherungsnummer): "65 170839 J 003",
  area, birth date, initial, serial and a check digit (not in python-stdnum;
  the check is implemented below, as the Deutsche Rentenversicherung defines it).
* Austrian social insurance number: "1237 010180", python-stdnum ``at.vnr``;
  as one block of 10 digits only after a cue.
* Swiss AHV number: "756.9217.0769.85", python-stdnum ``ch.ssn``.
* British National Insurance number: "AB 12 34 56 C" (format and the prefixes
  HMRC never issues; it has no check digit).
* US Social Security number: "536-90-4399", python-stdnum ``us.ssn``; without
  dashes only after a cue.

A number of the right shape that fails its check (an order number, a typo) is
left alone, so order and invoice numbers keep their digits.

Cost: one pass per pattern, every pattern a bounded number of characters; the
cue is looked for in the _CUE_WINDOW characters before a candidate only.
"""

from __future__ import annotations

import re

from stdnum.at import vnr as _at_vnr
from stdnum.ch import ssn as _ch_ssn
from stdnum.de import idnr as _de_idnr
from stdnum.us import ssn as _us_ssn

from .spans import Span

_CUE = re.compile(
    r"(?i)steuer|tax|identifikations|id-?nr|idnr|\bid\b|sozialversicherung|versicherungsnummer|"
    r"rentenversicherung|svnr|sv-nr|sv-nummer|\bvnr|ahv|\bssn\b|social[ ]security|"
    r"national[ ]insurance|\bnino\b|rvnr"
)
_CUE_WINDOW = 40

# Every pattern starts with its first digit and then looks behind it (2 characters)
# for a word or a longer number it would be glued to: a pattern that starts with a
# character class lets the regex engine skip quickly to the next digit.
_B = r"(?<![\w.\-/+].)"
_E = r"(?![\w\-/]|[.,]\d)"
_DE_IDNR_GROUPED = re.compile(rf"[1-9]{_B}\d[ ]\d{{3}}[ ]\d{{3}}[ ]\d{{3}}{_E}")
_DIGITS_10_11 = re.compile(rf"\d{_B}\d{{9,10}}{_E}")
_AT_VNR_GROUPED = re.compile(rf"\d{_B}\d{{3}}[ ]\d{{6}}{_E}")
_CH_AHV = re.compile(rf"7{_B}56[. ]?\d{{4}}[. ]?\d{{4}}[. ]?\d{{2}}{_E}")
_US_SSN = re.compile(rf"\d{_B}(?:\d{{2}}-\d{{2}}-\d{{4}}|\d{{8}}){_E}")
_GB_NINO = re.compile(
    r"(?<![\w])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"[ ]?\d{2}[ ]?\d{2}[ ]?\d{2}[ ]?[A-D](?![\w])"
)
_DE_RVNR = re.compile(rf"(\d{_B}\d)[ ]?(\d{{6}})[ ]?([A-Za-z])[ ]?(\d{{2}})[ ]?(\d){_E}")
_DIGIT = re.compile(r"\d")
#: Digits in a message below which no national ID can be in it.
_MIN_DIGITS = 6
_MIN_DIGITS_NUMERIC = 9
_RVNR_WEIGHTS = (2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1)


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _cued(text: str, start: int) -> bool:
    return _CUE.search(text, max(0, start - _CUE_WINDOW), start) is not None


def rvnr_is_valid(value: str) -> bool:
    """The check digit of a German Rentenversicherungsnummer ("65170839J003")."""
    m = _DE_RVNR.fullmatch(value)
    if m is None:
        return False
    area, birth, letter, serial, check = m.groups()
    day, month = int(birth[:2]), int(birth[2:4])
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return False
    digits = area + birth + f"{ord(letter.upper()) - 64:02d}" + serial
    total = sum(sum(divmod(int(d) * w, 10)) for d, w in zip(digits, _RVNR_WEIGHTS, strict=True))
    return total % 10 == int(check)


def _at_vnr_valid(digits: str) -> bool:
    day, month = int(digits[4:6]), int(digits[6:8])
    return 1 <= day <= 31 and 1 <= month <= 12 and _at_vnr.is_valid(digits)


def find_ids(text: str) -> list[Span]:
    found: list[Span] = []
    digits = len(_DIGIT.findall(text))
    if digits < _MIN_DIGITS:
        return found
    for m in _GB_NINO.finditer(text):
        found.append(Span("national_id", *m.span()))
    if digits < _MIN_DIGITS_NUMERIC:
        return found
    for m in _DE_IDNR_GROUPED.finditer(text):
        if _de_idnr.is_valid(_digits(m.group())):
            found.append(Span("national_id", *m.span()))
    for m in _AT_VNR_GROUPED.finditer(text):
        if _at_vnr_valid(_digits(m.group())):
            found.append(Span("national_id", *m.span()))
    for m in _DIGITS_10_11.finditer(text):
        digits = m.group()
        valid = _de_idnr.is_valid(digits) if len(digits) == 11 else _at_vnr_valid(digits)
        if valid and _cued(text, m.start()):
            found.append(Span("national_id", *m.span()))
    for m in _CH_AHV.finditer(text) if "756" in text else ():
        if _ch_ssn.is_valid(_digits(m.group())):
            found.append(Span("national_id", *m.span()))
    for m in _US_SSN.finditer(text):
        value = m.group()
        if _us_ssn.is_valid(value) and ("-" in value or _cued(text, m.start())):
            found.append(Span("national_id", *m.span()))
    for m in _DE_RVNR.finditer(text):
        if rvnr_is_valid(m.group().replace(" ", "")):
            found.append(Span("national_id", *m.span()))
    return found
