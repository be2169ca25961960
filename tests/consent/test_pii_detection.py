"""The shared personal-data detector: what it must always find, and what it must leave alone.

No database, no Django settings: chatbot_site.lib.pii is pure Python.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from unittest import mock

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from stdnum import iban as stdnum_iban
from stdnum import luhn

from chatbot_site.lib import pii
from chatbot_site.lib.pii import (
    MASKS,
    PLACEHOLDERS,
    Span,
    find_personal_data,
    mask,
    mask_value,
    redact,
)

EN = PLACEHOLDERS["en"]
DE = PLACEHOLDERS["de"]

# PII_MAX_EXAMPLES=5000 for a long hunt; the default keeps the file at a few seconds.
PROPERTY = settings(
    max_examples=int(os.environ.get("PII_MAX_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# --------------------------------------------------------------------------- #
# Strategies
# --------------------------------------------------------------------------- #

# Filler is letters only (with umlauts), so the surrounding text can never look
# like personal data on its own and the boundaries are clear.
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZäöüßÄÖÜéè"
words = st.text(alphabet=LETTERS, min_size=1, max_size=12)
filler = st.lists(words, max_size=8).map(" ".join)


def embed(before: str, token: str, after: str) -> str:
    return " ".join(part for part in (before, token, after) if part)


# --- e-mail ---------------------------------------------------------------- #

atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-+", min_size=1, max_size=12)
label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?", fullmatch=True)
tld = st.sampled_from(["de", "com", "org", "net", "info", "eu", "at", "ch", "co.uk", "berlin"])
realistic_emails = st.builds(
    lambda local, labels, top: ".".join(local) + "@" + ".".join(labels) + "." + top,
    st.lists(atom, min_size=1, max_size=3),
    st.lists(label, min_size=1, max_size=3),
    tld,
)
# Hypothesis' RFC 5322 addresses: odd local parts ("!#$%&'*/=^`{|}~"), long
# labels, punycode TLDs.
any_emails = st.one_of(realistic_emails, st.emails())

# --- phone numbers ------------------------------------------------------------ #

DE_AREA_CODES = ["30", "40", "89", "69", "221", "211", "711", "341", "351", "511", "6221", "7071"]
DE_MOBILE_PREFIXES = ["151", "152", "157", "160", "162", "170", "171", "172", "173", "176", "177"]


def _is_valid_de(nsn: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse("0" + nsn, "DE"))


de_landlines = st.builds(
    lambda area, sub: (area, sub),
    st.sampled_from(DE_AREA_CODES),
    st.from_regex(r"[2-9][0-9]{4,7}", fullmatch=True),
).filter(lambda p: _is_valid_de(p[0] + p[1]))
de_mobiles = st.builds(
    lambda prefix, sub: (prefix, sub),
    st.sampled_from(DE_MOBILE_PREFIXES),
    st.from_regex(r"[1-9][0-9]{6,7}", fullmatch=True),
).filter(lambda p: _is_valid_de(p[0] + p[1]))

DE_LAYOUTS = [
    "0{a} {s}",
    "0{a}{s}",
    "0{a}/{s}",
    "0{a}-{s}",
    "(0{a}) {s}",
    "+49 {a} {s}",
    "+49{a}{s}",
    "+49 ({a}) {s}",
    "+49 (0){a} {s}",
    "0049 {a} {s}",
]
german_phones = st.builds(
    lambda parts, layout: layout.format(a=parts[0], s=parts[1]),
    st.one_of(de_landlines, de_mobiles),
    st.sampled_from(DE_LAYOUTS),
)

REGIONS = ["DE", "AT", "CH", "GB", "FR", "NL", "BE", "IT", "ES", "PL", "SE", "DK", "US", "IE"]


@st.composite
def international_phones(draw) -> tuple[str, str]:
    """(formatted number, region it is written for): a varied example number."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(st.sampled_from([PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE]))
    example = phonenumbers.example_number_for_type(region, kind)
    nsn = str(example.national_number)
    tail = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    candidate = phonenumbers.parse(f"+{example.country_code}{nsn[:-3]}{tail}", None)
    candidate.italian_leading_zero = example.italian_leading_zero
    if not phonenumbers.is_valid_number(candidate):
        candidate = example
    style = draw(
        st.sampled_from(
            [PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164, PhoneNumberFormat.NATIONAL]
        )
    )
    return phonenumbers.format_number(candidate, style), region


# --- IBAN ------------------------------------------------------------------------ #

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BBAN_SHAPES = {
    "DE": r"[0-9]{18}",
    "AT": r"[0-9]{16}",
    "NL": r"[A-Z]{4}[0-9]{10}",
    "FR": r"[0-9]{10}[0-9A-Z]{11}[0-9]{2}",
}


@st.composite
def valid_ibans(draw) -> str:
    country = draw(st.sampled_from(sorted(BBAN_SHAPES)))
    bban = draw(st.from_regex(BBAN_SHAPES[country], fullmatch=True))
    number = country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban
    assert stdnum_iban.is_valid(number)
    return number


def with_wrong_check_digits(number: str, offset: int) -> str:
    wrong = (int(number[2:4]) - 2 + offset) % 97 + 2  # another value in 02..98
    broken = number[:2] + f"{wrong:02d}" + number[4:]
    assert not stdnum_iban.is_valid(broken)
    return broken


def grouped(compact: str, size: int = 4, sep: str = " ") -> str:
    return sep.join(compact[i : i + size] for i in range(0, len(compact), size))


iban_layouts = st.sampled_from([lambda n: grouped(n), lambda n: n])
written_ibans = st.builds(lambda n, layout: layout(n), valid_ibans(), iban_layouts)

# --- payment cards -------------------------------------------------------------- #

CARD_PREFIXES = (
    [("4", n) for n in (13, 16, 19)]
    + [(str(p), 16) for p in range(51, 56)]
    + [(str(p), 16) for p in (2221, 2500, 2720)]
    + [("34", 15), ("37", 15)]
)


@st.composite
def card_numbers(draw) -> str:
    prefix, length = draw(st.sampled_from(CARD_PREFIXES))
    if prefix == "2500":  # anywhere in the 2221-2720 Mastercard range
        prefix = str(draw(st.integers(2221, 2720)))
    body_len = length - len(prefix) - 1
    body = draw(st.from_regex(rf"[0-9]{{{body_len}}}", fullmatch=True))
    partial = prefix + body
    number = partial + luhn.calc_check_digit(partial)
    assert luhn.is_valid(number) and len(number) == length
    return number


def layout_card(number: str, style: str) -> str:
    if style == "amex" and len(number) == 15:
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    if style == "spaces":
        return grouped(number)
    if style == "dashes":
        return grouped(number, sep="-")
    return number


written_cards = st.builds(
    layout_card, card_numbers(), st.sampled_from(["plain", "spaces", "dashes", "amex"])
)

# --- harmless numbers ------------------------------------------------------------ #

dates = st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31))
harmless_tokens = st.one_of(
    st.builds("Bestellung {}-{}".format, st.integers(1000, 9999), st.integers(1000, 9999)),
    st.builds("order #{}".format, st.integers(10_000_000, 99_999_999)),
    st.builds("Rechnung RE-{}-{:05d}".format, st.integers(2020, 2030), st.integers(0, 99_999)),
    st.builds(lambda d: d.strftime("%d.%m.%Y"), dates),
    st.builds(lambda d: d.isoformat(), dates),
    st.builds(lambda d: d.strftime("%d.%m."), dates),
    st.builds("{},{:02d} €".format, st.integers(0, 999), st.integers(0, 99)),
    st.builds(
        "EUR {}.{:03d},{:02d}".format, st.integers(1, 99), st.integers(0, 999), st.integers(0, 99)
    ),
    st.builds("${}.{:02d}".format, st.integers(0, 9999), st.integers(0, 99)),
    st.builds(
        "{:05d} {}".format,
        st.integers(1001, 99998),
        st.sampled_from(["Berlin", "Coswig", "Neuruppin", "Köln", "Dresden"]),
    ),
    st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59)),
    st.builds("{:02d}:{:02d} Uhr".format, st.integers(0, 23), st.integers(0, 59)),
    st.builds("{} Stück".format, st.integers(1, 500)),
    st.builds(
        with_wrong_check_digits,
        valid_ibans(),
        st.integers(1, 95),
    ).flatmap(lambda n: st.sampled_from([n, grouped(n)])),
)


# --------------------------------------------------------------------------- #
# Properties: personal data is always found
# --------------------------------------------------------------------------- #


@PROPERTY
@given(before=filler, email=any_emails, after=filler)
def test_it_redacts_every_email_address_inside_text(before, email, after):
    text = embed(before, email, after)
    redacted, count = redact(text)
    assert count == 1
    assert email not in redacted
    assert redacted == embed(before, EN["email"], after)


@PROPERTY
@given(before=filler, phone=german_phones, after=filler)
def test_it_redacts_every_german_phone_number_inside_text(before, phone, after):
    text = embed(before, phone, after)
    redacted, count = redact(text, region="DE", language="de")
    assert count == 1
    assert phone not in redacted
    assert redacted == embed(before, DE["phone"], after)


@PROPERTY
@given(before=filler, number=international_phones(), after=filler)
def test_it_redacts_international_phone_numbers_in_the_companys_region(before, number, after):
    phone, region = number
    # Written nationally, a number is only recognisable in its own country's
    # convention, which is why the company's country is the default region.
    use_region = region if not phone.startswith("+") else "DE"
    text = embed(before, phone, after)
    redacted, count = redact(text, region=use_region)
    assert count == 1
    assert phone not in redacted
    assert redacted == embed(before, EN["phone"], after)


@PROPERTY
@given(before=filler, number=written_ibans, after=filler)
def test_it_redacts_every_valid_iban_grouped_or_not(before, number, after):
    text = embed(before, number, after)
    redacted, count = redact(text, language="de")
    assert count == 1
    assert number not in redacted
    assert redacted == embed(before, DE["iban"], after)


@PROPERTY
@given(before=filler, card=written_cards, after=filler)
def test_it_redacts_every_luhn_valid_card_number(before, card, after):
    text = embed(before, card, after)
    redacted, count = redact(text)
    assert count == 1
    assert card not in redacted
    assert redacted == embed(before, EN["card"], after)


@PROPERTY
@given(
    before=filler,
    items=st.lists(
        st.one_of(any_emails, german_phones, written_ibans, written_cards), min_size=2, max_size=4
    ),
    glue=st.lists(words, min_size=4, max_size=4),
)
def test_it_redacts_several_items_in_one_message(before, items, glue):
    text = (
        before + " " + " ".join(f"{item} {word}" for item, word in zip(items, glue, strict=False))
    )
    redacted, count = redact(text)
    # Detections that touch merge into one span ("030 20000 x 0@0.de": the matcher
    # reads "x 0" as an extension), so the count can be lower, never higher.
    assert 1 <= count <= len(items)
    for item in items:
        assert item not in redacted


# --------------------------------------------------------------------------- #
# Properties: harmless numbers are left alone
# --------------------------------------------------------------------------- #


@PROPERTY
@given(before=filler, tokens=st.lists(harmless_tokens, min_size=1, max_size=4), after=filler)
def test_it_redacts_nothing_in_order_numbers_dates_prices_postcodes_and_times(
    before, tokens, after
):
    text = embed(before, " ".join(tokens), after)
    assert redact(text) == (text, 0)
    assert find_personal_data(text) == []


@PROPERTY
@given(
    items=st.lists(
        st.one_of(
            st.tuples(st.just(True), st.one_of(any_emails, german_phones, written_ibans)),
            st.tuples(st.just(True), written_cards),
            st.tuples(st.just(False), harmless_tokens),
        ),
        min_size=1,
        max_size=6,
    ),
    glue=st.lists(st.one_of(words, st.just(",")), min_size=6, max_size=6),
)
def test_it_redacts_personal_data_and_keeps_harmless_numbers_next_to_it(items, glue):
    text = " ".join(f"{item} {sep}" for (_, item), sep in zip(items, glue, strict=False))
    redacted, count = redact(text)
    personal_items = sum(personal for personal, _ in items)
    assert min(personal_items, 1) <= count <= personal_items
    for personal, item in items:
        if personal:
            assert item not in redacted
        else:
            assert item in redacted


@PROPERTY
@given(
    before=filler,
    number=st.builds(with_wrong_check_digits, valid_ibans(), st.integers(1, 95)),
    spaced=st.booleans(),
    after=filler,
)
def test_it_redacts_nothing_in_an_iban_with_a_wrong_check_digit(before, number, spaced, after):
    written = grouped(number) if spaced else number
    text = embed(before, written, after)
    assert redact(text) == (text, 0)


@PROPERTY
@given(
    text=st.text(alphabet="0123456789 +-/().,:x", min_size=6, max_size=40),
    region=st.sampled_from(["DE", "AT", "GB", "US", "IT"]),
)
def test_it_finds_the_same_with_and_without_the_phone_pre_check(text, region):
    """The digit pre-check that skips PhoneNumberMatcher must never lose a number."""
    with_pre_check = find_personal_data(text, region=region)
    with mock.patch.object(pii.phone, "_may_contain_phone", return_value=True):
        assert find_personal_data(text, region=region) == with_pre_check


# --------------------------------------------------------------------------- #
# Examples, one kind at a time
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Schreib mir an max.mustermann@example.de bitte", "max.mustermann@example.de"),
        ("mail: Jürgen.Müller+chat@müller-bäcker.de.", "Jürgen.Müller+chat@müller-bäcker.de"),
        ("(anna_b@sub.mail.example.co.uk)", "anna_b@sub.mail.example.co.uk"),
        ("typo max..muster@example.com", "max..muster@example.com"),
    ],
)
def test_it_redacts_email_addresses(text, expected):
    redacted, count = redact(text)
    assert count == 1
    assert redacted == text.replace(expected, "[email removed]")


@pytest.mark.parametrize(
    "phone",
    [
        "+49 30 1234567",
        "030 12345678",
        "0151 23456789",
        "+49 (0)30 1234567",
        "030/123 456 78",
        "(0151) 23456789",
        "004915123456789",
        "+44 20 7946 0958",
        "+33 1 42 68 53 00",
        "+1 201-555-0123",
    ],
)
def test_it_redacts_phone_numbers(phone):
    assert redact(f"Ruf mich an unter {phone} danke") == (
        "Ruf mich an unter [phone number removed] danke",
        1,
    )


def test_it_redacts_two_phone_numbers_separated_only_by_a_space():
    # PhoneNumberMatcher alone finds neither of them.
    assert redact("Tel 030 1234567 0151 23456789 danke") == (
        "Tel [phone number removed] [phone number removed] danke",
        2,
    )


def test_it_redacts_a_phone_number_but_keeps_its_extension():
    assert redact("030 1234567 x 12") == ("[phone number removed] x 12", 1)
    assert redact("030 20000 x 01.01.2000") == ("[phone number removed] x 01.01.2000", 1)


def test_it_reads_national_numbers_in_the_companys_region():
    assert redact("call 020 7946 0958 today", region="GB") == (
        "call [phone number removed] today",
        1,
    )
    assert redact("call (201) 555-0123 today", region="US")[1] == 1


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "de89 3704 0044 0532 0130 00",
        "AT61 1904 3002 3457 3201",
        "NL91 ABNA 0417 1643 00",
        "FR14 2004 1010 0505 0001 3M02 606",
        "GB29 NWBK 6016 1331 9268 19",
    ],
)
def test_it_redacts_ibans(iban):
    assert redact(f"IBAN: {iban}, danke", language="de") == ("IBAN: [IBAN entfernt], danke", 1)


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555 5555 5555 4444",
        "2223 0031 2200 3222",
        "3782 822463 10005",
        "6011 1111 1111 1117",
    ],
)
def test_it_redacts_card_numbers(card):
    assert redact(f"Karte {card} bitte") == ("Karte [card number removed] bitte", 1)


def test_it_redacts_a_card_number_followed_by_its_security_code_but_keeps_the_code():
    assert redact("4111 1111 1111 1111 123") == ("[card number removed] 123", 1)


@pytest.mark.parametrize(
    "text",
    [
        "Bestellung 4711-2023",
        "order #12345678",
        "am 29.11.2026 um 14:30",
        "am 02.01.2000 um 09:30",
        "02.01.2000 14:30",
        "2026-11-29",
        "19,99 €",
        "EUR 1.299,00",
        "10115 Berlin",
        "01640 Coswig",
        "16816 Neuruppin",
        "Kundennummer 367459",
        "Kundennummer 4969012784",
        "Amazon 302-1234567-1234567",
        "Rechnung RE-2020-03300 10 Stück",
        "Rechnung RE-2020-02010 10,00 €",
        "EUR 1.000,02 01.01.2000",
        "order #57870709 01001 Berlin",
        "DE88 3704 0044 0532 0130 00",
        "4111 1111 1111 1112",  # fails Luhn
        "1234 5678 9012 3452",  # Luhn-valid, no card issuer starts with 1
        "Hallo, wie geht's?",
        "",
    ],
)
def test_it_redacts_nothing_harmless(text):
    assert redact(text) == (text, 0)
    assert mask(text) == text


# --------------------------------------------------------------------------- #
# Placeholders, masking, overlaps
# --------------------------------------------------------------------------- #

SAMPLE = "a@b.de, 0151 23456789, DE89 3704 0044 0532 0130 00, 4111 1111 1111 1111"


def test_it_redacts_with_english_placeholders():
    assert redact(SAMPLE, language="en") == (
        "[email removed], [phone number removed], [IBAN removed], [card number removed]",
        4,
    )


def test_it_redacts_with_german_placeholders():
    assert redact(SAMPLE, language="de") == (
        "[E-Mail entfernt], [Telefonnummer entfernt], [IBAN entfernt], [Kartennummer entfernt]",
        4,
    )


@pytest.mark.parametrize("language", ["de-AT", "de_DE", "DE"])
def test_it_redacts_in_german_for_german_variants(language):
    assert redact("a@b.de", language=language) == ("[E-Mail entfernt]", 1)


@pytest.mark.parametrize("language", ["fr", "", "xx"])
def test_it_redacts_in_english_for_unknown_languages(language):
    assert redact("a@b.de", language=language) == ("[email removed]", 1)


def test_it_masks_every_kind_with_a_fixed_token():
    assert mask(SAMPLE) == "[•••• email], [•••• phone], [•••• IBAN], [•••• card]"
    assert set(MASKS) == set(pii.KINDS) == set(PLACEHOLDERS["en"]) == set(PLACEHOLDERS["de"])


def test_it_masks_without_leaking_the_length():
    assert mask("x a@b.de y") == mask("x a.very.long.address@example.co.uk y")
    assert mask("0151 23456789") == mask("+49 (0)30 1234567")


def test_it_masks_a_whole_field_value_completely():
    assert mask_value("Erika Mustermann") == "••••••"
    assert mask_value("x") == "••••••"
    assert mask_value("") == ""


def test_it_finds_sorted_non_overlapping_spans():
    spans = find_personal_data(SAMPLE)
    assert [s.kind for s in spans] == ["email", "phone", "iban", "card"]
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    assert SAMPLE[spans[0].start : spans[0].end] == "a@b.de"


def test_it_returns_frozen_spans():
    span = find_personal_data("a@b.de")[0]
    assert span == Span(kind="email", start=0, end=6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        span.kind = "phone"  # type: ignore[misc]


def test_it_prefers_iban_over_card_inside_it():
    bban = "4111111111111111" + "11"  # the account part holds a valid Visa number
    number = "DE" + stdnum_iban.calc_check_digits("DE00" + bban) + bban
    text = f"IBAN {grouped(number)} ok"
    assert [s.kind for s in find_personal_data(text)] == ["iban"]
    assert redact(text) == ("IBAN [IBAN removed] ok", 1)


def test_it_prefers_iban_over_phone_inside_it():
    text = "IBAN DE89 3704 0044 0532 0130 00"
    assert [s.kind for s in find_personal_data(text)] == ["iban"]


def test_it_prefers_card_over_email_sharing_the_digits():
    text = "4111111111111111@example.com"
    assert find_personal_data(text) == [Span("card", 0, len(text))]


def test_it_prefers_email_over_phone_inside_it():
    text = "+4915123456789@example.com"
    assert find_personal_data(text) == [Span("email", 0, len(text))]


def test_it_prefers_card_over_phone():
    text = "Karte 4111 1111 1111 1111"
    assert [s.kind for s in find_personal_data(text)] == ["card"]


def test_it_still_finds_a_card_right_after_a_mistyped_iban():
    text = "DE88 3704 0044 0532 0130 00 4111 1111 1111 1111"
    assert redact(text) == ("DE88 3704 0044 0532 0130 00 [card number removed]", 1)


def test_it_returns_text_without_digits_or_at_sign_untouched():
    text = "Guten Tag, ich hätte gern Informationen zu Ihren Öffnungszeiten."
    assert find_personal_data(text) == []
    assert redact(text, language="de") == (text, 0)
