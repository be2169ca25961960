"""Postal addresses: a street with a house number, and the postcode and city after it.

Two shapes, both anchored on the house number so that a street name alone
("Lindenweg" in a product description) is never taken:

* German, Austrian and Swiss: the street, then the number ("Lindenweg 5",
  "Hauptstr. 12a", "Mariahilfer Straße 1", "Am Markt 3"), then optionally
  ", 20095 Hamburg" / "1060 Wien" / "CH-8001 Zürich".
* British and American: the number, then the street ending in a street word
  ("10 Downing Street", "1600 Pennsylvania Ave NW"), then optionally the city,
  a state and ZIP code or a UK postcode.

A postcode and city without a street ("Do you ship to 10115 Berlin?") is not
taken: alone it names a town, not a person's home.

Cost: each house-number candidate looks at a window of at most
_STREET_WINDOW characters before it and the tail patterns are anchored at its
end with bounded repetition, so the work per candidate is constant.
"""

from __future__ import annotations

import re

from .spans import Span

# German-language street words, as the last part of one word ("Lindenweg",
# "Bahnhofstrasse", "Karl-Marx-Allee") or as a word of their own ("Mariahilfer
# Straße").
_DE_SUFFIX = (
    r"stra(?:ß|ss)e|str\.|weg|gasse|gässli|platz|allee|ring|damm|ufer|chaussee|"
    r"steig|stieg|pfad|markt|graben|zeile|wall|kamp|twiete|gürtel|kai|lände|"
    r"promenade|anger|berg|hof|garten|feld|brücke|stiege|winkel"
)
_DE_STREET = re.compile(
    r"(?:"
    # one word ending in a street word; hyphenated names allowed
    rf"[A-ZÄÖÜ](?:[^\W\d_]|-){{0,40}}?(?i:{_DE_SUFFIX})"
    # two words: "Mariahilfer Straße", "Berliner Allee", "Alter Markt"
    rf"|[A-ZÄÖÜ][a-zäöüß]{{1,30}} (?:Stra(?:ß|ss)e|Str\.|Weg|Gasse|Platz|Allee|Ring|Damm|"
    r"Ufer|Chaussee|Zeile|Gürtel|Lände|Promenade)"
    # "Am Markt", "An der Alster", "Unter den Linden", "Im Winkel"
    r"|(?:Am|An der|An den|Auf dem|Auf der|Im|In der|In den|Zum|Zur|Unter den|Hinter der|"
    r"Vor dem|Bei der|Hinter dem|Alt-)[ ]?[A-ZÄÖÜ](?:[^\W\d_]|-){1,30}"
    r")[ \u00a0]$"
)
# The same, for a quick test before the regex: the word before the number ends
# in a street word (also "Mariahilfer Straße"), or the street starts with a
# preposition.
_SUFFIXES = tuple(_DE_SUFFIX.replace("(?:ß|ss)", "ß").replace("\\.", ".").split("|")) + ("strasse",)
_PREFIXES = (
    "Am ",
    "An ",
    "Auf ",
    "Im ",
    "In ",
    "Zum ",
    "Zur ",
    "Unter ",
    "Hinter ",
    "Vor ",
    "Bei ",
    "Alt-",
)
#: How far before a house number the street is looked for.
_STREET_WINDOW = 60

# Words that follow "Am", "Im", ... but are no street ("Am Montag 5 Stück").
_NOT_STREETS = frozenset(
    "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag Wochenende Januar Februar "
    "März Maerz April Mai Juni Juli August September Oktober November Dezember Jahr Jahre "
    "Monat Moment Augenblick Anfang Ende Preis Paket Warenkorb Shop Laden Lager Winter Sommer "
    "Herbst Frühling Frühjahr Ganzen Schnitt Voraus Internet Netz Onlineshop Abend Morgen "
    "Mittag Vormittag Nachmittag Rahmen Zuge Moment Auftrag Konto Katalog Angebot Durchschnitt "
    "Verhältnis Vergleich Gegensatz Jänner Feiertag".split()
)

# Starts with its first digit and looks behind it, so the engine skips to digits fast.
_HOUSE_NUMBER = re.compile(
    r"[1-9](?<![\w.,/\-+].)\d{0,3}(?:[ ]?[a-hA-H](?![\w]))?(?:[ ]?[\-/][ ]?[1-9]\d{0,3}[a-h]?)?"
    r"(?![\w.,/\-]\d|[\w%€$£])"
)
# What follows a number but makes it no house number ("Hauptstr. 12 Uhr" is rare;
# "Warenkorb 5 Stück" is not).
_NOT_AFTER_NUMBER = re.compile(
    r"[ ]?(?:Uhr|Stück|Stk|Euro|EUR|€|Tage|Tagen|Wochen|Monate|Jahre|Mal|mal|x|kg|g|cm|mm|m|"
    r"ml|l|Prozent|%|Minuten|Min|Stunden|Std|Teile|Paar|Artikel|Pakete|Sendungen|items|"
    r"pieces|days|weeks|hours|minutes|times|pcs|Liter|Zoll|GB|TB|W|V|mAh|Nächte|Nacht|Personen|"
    r"Sterne|Zimmer|nights|people|stars|rooms)\b"
)

_DE_TAIL = re.compile(
    r",?[ ]{1,2}(?:(?:D|A|CH)-)?\d{4,5}[ ][A-ZÄÖÜ][\w.\-]{1,30}"
    r"(?:[ ](?:am|an der|im|in der|ob der|bei|an)[ ][A-ZÄÖÜ][\w.\-]{1,30})?"
)

_EN_SUFFIX = (
    r"Street|St\.?|Road|Rd\.?|Lane|Ln\.?|Avenue|Ave\.?|Close|Drive|Dr\.?|Way|Place|Pl\.?|"
    r"Square|Sq\.?|Gardens|Crescent|Terrace|Court|Ct\.?|Row|Hill|Grove|Mews|Walk|"
    r"Boulevard|Blvd\.?|Parkway|Pkwy\.?|Highway|Hwy\.?|Park|Green|Rise|Circle|Trail"
)
_EN_ADDRESS = re.compile(
    r"[1-9](?<![\w.,/\-+].)\d{0,4}[A-Za-z]?,?"
    r"(?:[ ](?:[A-Z][a-z'\-]{1,20}|\d{1,3}(?:st|nd|rd|th))){1,4}"
    rf"[ ](?:{_EN_SUFFIX})(?![\w])"
    r"(?:[ ](?:NW|NE|SW|SE|N|S|E|W)\b)?"
)
_EN_TAIL = re.compile(
    r"(?:,?[ ](?:Apt\.?|Apartment|Suite|Flat|Unit)[ ]?\w{1,5})?"
    r"(?:,[ ][A-Z][a-z'\-]{1,20}(?:[ ][A-Z][a-z'\-]{1,20}){0,2})?"  # city
    r"(?:,?[ ](?:[A-Z]{2}[ ]\d{5}(?:-\d{4})?"  # US state and ZIP code
    r"|[A-Z]{1,2}\d[A-Z\d]?[ ]?\d[A-Z]{2}))?"  # UK postcode
    r"(?![\w])"
)


def find_addresses(text: str) -> list[Span]:
    found: list[Span] = []
    last_end = 0
    for m in _EN_ADDRESS.finditer(text):
        tail = _EN_TAIL.match(text, m.end())
        end = tail.end() if tail else m.end()
        found.append(Span("address", m.start(), end))
        last_end = end
    covered = [(s.start, s.end) for s in found]
    k = 0
    for m in _HOUSE_NUMBER.finditer(text):
        start, end = m.span()
        while k < len(covered) and covered[k][1] <= start:
            k += 1
        if k < len(covered) and covered[k][0] < end:
            continue
        if start < 2 or _NOT_AFTER_NUMBER.match(text, end):
            continue
        window = text[max(0, start - _STREET_WINDOW) : start]
        if not (window[:-1].lower().endswith(_SUFFIXES) or any(p in window for p in _PREFIXES)):
            continue  # cheap: no street word before the number, no "Am", "Im", ...
        street = _DE_STREET.search(window)
        if street is None:
            continue
        words = street.group().split()
        if len(words) >= 2 and words[-1] in _NOT_STREETS:
            continue
        street_start = start - len(window) + street.start()
        if street_start < last_end:
            continue
        tail = _DE_TAIL.match(text, end)
        if tail:
            end = tail.end() - (text[tail.end() - 1] == ".")  # "… Frankfurt am Main."
        found.append(Span("address", street_start, end))
        last_end = end
    return found
