"""Addresses, cued names, dates of birth and national IDs in the one detector (issue 15).

Examples one kind at a time, what must stay, and the linear-time guarantee for
the new patterns (4,000 hostile characters under the adversarial cap). No
database, no Django settings.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot_site.lib.pii import MASKS, address, find_personal_data, mask, names, redact
from chatbot_site.lib.pii.ids import rvnr_is_valid
from tests.consent.test_pii_adversarial import ADVERSARIAL_CAP_S, cpu_seconds, tile
from tests.consent.test_redaction_corpus import load_corpus


def found(text: str) -> list[tuple[str, str]]:
    return [(s.kind, text[s.start : s.end]) for s in find_personal_data(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Anna Schmidt, Lindenweg 5, 20095 Hamburg", "Lindenweg 5, 20095 Hamburg"),
        ("Ich wohne Hauptstr. 12a.", "Hauptstr. 12a"),
        ("Mariahilfer Straße 1, 1060 Wien", "Mariahilfer Straße 1, 1060 Wien"),
        ("an Bahnhofstrasse 3, 8001 Zürich bitte", "Bahnhofstrasse 3, 8001 Zürich"),
        ("Am Markt 3 in Bremen", "Am Markt 3"),
        ("Karl-Marx-Allee 90, 10243 Berlin", "Karl-Marx-Allee 90, 10243 Berlin"),
        ("10 Downing Street, London SW1A 2AA", "10 Downing Street, London SW1A 2AA"),
        (
            "1600 Pennsylvania Ave NW, Washington, DC 20500",
            "1600 Pennsylvania Ave NW, Washington, DC 20500",
        ),
        (
            "Liefern an Goethestraße 12, 60311 Frankfurt am Main.",
            "Goethestraße 12, 60311 Frankfurt am Main",
        ),
    ],
)
def test_it_finds_addresses(text, expected):
    assert found(text) == [("address", expected)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mein Name ist Anna Schmidt und ich warte.", "Anna Schmidt"),
        ("ich heiße Jürgen.", "Jürgen"),
        ("Hallo, hier ist Malte.", "Malte"),
        ("Hi, my name is John Smith.", "John Smith"),
        ("Hello, this is Olivia Taylor from Leeds.", "Olivia Taylor"),
        ("I'm Jessica, the parcel is late.", "Jessica"),
        ("Danke!\nViele Grüße, Anna Schmidt", "Anna Schmidt"),
        ("Any news? Best regards, John", "John"),
        ("Thanks! Best, Chloe", "Chloe"),
        ("Bitte an Frau Johanna Keller.", "Johanna Keller"),
    ],
)
def test_it_finds_names_after_a_cue(text, expected):
    assert found(text) == [("name", expected)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("geboren am 12.03.1985", "12.03.1985"),
        ("geb. 1.7.62", "1.7.62"),
        ("Geburtsdatum: 17. März 1988", "17. März 1988"),
        ("date of birth: 1990-12-24", "1990-12-24"),
        ("DOB 05/17/1988", "05/17/1988"),
        ("I was born on March 12, 1985.", "March 12, 1985"),
    ],
)
def test_it_finds_dates_of_birth_after_a_cue(text, expected):
    assert found(text) == [("birth_date", expected)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Steuer-ID 36574261809", "36574261809"),
        ("IdNr. 36 574 261 809 bitte", "36 574 261 809"),
        ("SVNR 1237 010180", "1237 010180"),
        ("AHV 756.9217.0769.85", "756.9217.0769.85"),
        ("NINO AB 12 34 56 C", "AB 12 34 56 C"),
        ("my SSN is 536-90-4399", "536-90-4399"),
        ("RVNR 15 070649 C 103", "15 070649 C 103"),
    ],
)
def test_it_finds_national_ids(text, expected):
    assert found(text) == [("national_id", expected)]


@pytest.mark.parametrize(
    "text",
    [
        "Der Lindenweg-Couchtisch hat einen Kratzer.",
        "Ist der Lindenweg Sessel noch da? Er kostet 5 Euro.",
        "Wir bleiben am Marktplatz 3 Nächte.",
        "Am Montag 5 Pakete bekommen.",
        "I think this is Samsung's fault.",
        "This is Amazon's fault, not yours.",
        "Hier ist Ihre Bestellung 4711.",
        "Viele Grüße aus Berlin!",
        "Bestellt am 12.03.1985? Nein, am 12.03.2026.",
        "Steuer-ID 36574261808",  # check digit wrong
        "Bestellung 36574261809",  # a valid tax ID's digits, but no cue
        "Order 536904399 shipped",  # an SSN's digits without dashes or cue
        "RVNR 15 070649 C 104",  # check digit wrong
        "Kundennummer 0533344",  # a valid German phone number, labelled as something else
        "The Model 3 Mountain Bike is great.",
    ],
)
def test_it_leaves_look_alikes_alone(text):
    assert found(text) == []


def test_the_german_pension_number_check_digit():
    assert rvnr_is_valid("15070649C103")
    assert not rvnr_is_valid("15070649C102")
    assert not rvnr_is_valid("15073249C103")  # no 32nd day


def test_every_new_kind_has_a_placeholder_and_a_fixed_mask():
    text = "Mein Name ist Anna Schmidt, Lindenweg 5, 20095 Hamburg, geb. 12.03.1985, Steuer-ID 36574261809"
    redacted, count = redact(text, language="de")
    assert count == 4
    assert redacted == (
        "Mein Name ist [Name entfernt], [Adresse entfernt], geb. [Geburtsdatum entfernt], "
        "Steuer-ID [ID-Nummer entfernt]"
    )
    assert mask(text) == (
        f"Mein Name ist {MASKS['name']}, {MASKS['address']}, geb. {MASKS['birth_date']}, "
        f"Steuer-ID {MASKS['national_id']}"
    )


HOSTILE_UNITS = [
    "Frau ",
    "Frau Anna ",
    "Viele Grüße, ",
    "Hauptstr. 1 ",
    "Lindenweg 5, 20095 Hamburg ",
    "A 1 ",
    "Am Aa 1 ",
    "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1 ",
    "1 Aa Aa Aa Aa Aa ",
    "1 Street Street Street Street ",
    "geboren am 1.1.",
    "756.1234.5678.9 ",
    "AB 12 34 56 ",
    "12 345 678 901 ",
    "Steuer 12345678901 ",
    "15 070649 C 10",
    ". this is Aa Aa Aa ",
    "My name is Aa Bb Cc Dd ",
    "Aa-Aa-Aa-Aa-Aa-",
    "Best, Best, ",
    "DOB 1 ",
    "Zeile 1 Zeile 1 ",
]


@pytest.mark.parametrize("unit", HOSTILE_UNITS)
def test_hostile_text_for_the_new_patterns_is_fast(unit):
    elapsed = cpu_seconds(tile(unit))
    assert elapsed < ADVERSARIAL_CAP_S, (unit, elapsed)


PIECES = [
    "Frau ", "Am ", "Straße ", "str. ", "weg ", "Street ", "Ave ", "1 ", "12a ", "20095 ", "Aa ",
    "Anna ", "geb. ", "DOB ", "12.03.1985 ", "Steuer ", "756.", "AB ", "12 ", "C ", "-", ", ",
    ". ", "\n", "my name is ", "this is ", "Viele Grüße ", "NW ", "SW1A 2AA ", "DC ",
]  # fmt: skip


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(PIECES), st.integers(1, 200)), min_size=1, max_size=4))
def test_a_search_over_the_new_patterns_finds_no_slow_input(pieces):
    text = tile("".join(unit * count for unit, count in pieces))
    assert cpu_seconds(text) < ADVERSARIAL_CAP_S, pieces


def test_the_cue_gate_never_loses_a_name():
    """find_names skips texts without a cue piece; the full scan must agree on every text."""
    texts = [m["text"] for m in load_corpus()] + [
        f"{cue} Anna Schmidt"
        for cue in ("Mein Name ist", "Ich heiße", "My name is", "Herr", "Frau")
    ]
    for text in texts:
        assert names.find_names(text) == names._scan(text), text
    for cue in ("Hier ist", "This is", "I am", "I'm", "Viele Grüße,", "MfG", "LG", "Best regards,"):
        text = f"Danke. {cue} Anna Schmidt"
        assert names._scan(text), cue
        assert names.find_names(text) == names._scan(text), cue


def test_the_street_gate_never_loses_an_address(monkeypatch):
    """find_addresses skips numbers without a street word before them; without the gate
    (every word "ends in" the empty suffix) it must find the same."""
    texts = [m["text"] for m in load_corpus()]
    gated = [address.find_addresses(t) for t in texts]
    monkeypatch.setattr(address, "_SUFFIXES", ("",))
    assert [address.find_addresses(t) for t in texts] == gated
