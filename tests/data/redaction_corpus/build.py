"""Build corpus.jsonl: labelled chat messages for measuring the personal-data detector.

    .venv/bin/python tests/data/redaction_corpus/build.py   # rewrites corpus.jsonl (seeded)

Every message is composed from a hand-written template and hand-written value
lists below; the expected spans come from where the values were inserted, never
from the detector. See README.md.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from stdnum import ean, iban, luhn  # ean: the AHV number's check digit
from stdnum.at import vnr
from stdnum.ch import ssn as ch_ssn
from stdnum.de import idnr

HERE = Path(__file__).resolve().parent
SEED = 15
TARGET = 2400

FIRST_DE = """Anna Lena Lukas Jonas Marie Sophie Paul Felix Leonie Hannah Maximilian Jürgen Sabine
Katrin Dieter Ursula Wolfgang Monika Stefan Petra Andreas Birgit Thomas Claudia Matthias Julia
Tobias Franziska Florian Simone Sebastian Nadine Ralf Heike Uwe Karin Björn Svenja Malte Greta
Ole Frieda Johanna Emil Mats Lotte Ida Henrik Clara Moritz""".split()
FIRST_ATCH = """Florian Valentina Lukas Magdalena Elias Theresa Reto Ursina Beat Corinne Urs Nadja
Dominik Verena Alois Gerda Matthias Seraina Gian Fabienne""".split()
FIRST_EN = """James Oliver Harry George Amelia Olivia Isla Emily Charlotte Jack Thomas William
Sophie Grace Michael Jennifer Emma Noah Liam Ava Mia Ethan Mason Madison Abigail Tyler Brandon
Ashley Megan Ryan Chloe Daniel Jessica Christopher Lauren Matthew Hannah Joshua Samantha
Andrew Rachel""".split()
LAST_DE = """Schmidt Müller Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch
Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange
Schmitt Werner Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer
Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Vogel Friedrich Keller Günther
Frank Berger Winkler Roth Beck Lorenz Baumann Albrecht Ziegler Brandt Kuhn""".split()
LAST_ATCH = """Gruber Huber Bauer Wagner Pichler Steiner Moser Mayer Hofer Leitner Berger
Fuchs Eder Fischer Schmid Winkler Weber Schwarz Maier Brunner Meier Baumgartner Frei Keller
Gerber Bühler Zürcher Widmer Lüthi Kälin""".split()
LAST_EN = """Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts
Robinson Thompson Wright Walker White Edwards Hughes Green Hall Wood Harris Martin Jackson Clarke
Miller Davis Garcia Rodriguez Martinez Anderson Moore Lee Perez Lewis Young Allen King Scott
Baker Nelson Carter Mitchell Campbell Parker Collins Stewart Murphy Cook Morgan""".split()

STREETS_DE = """Lindenweg|Hauptstraße|Hauptstr.|Bahnhofstraße|Gartenstraße|Schulstraße|
Dorfstraße|Bergstraße|Birkenweg|Kirchstraße|Waldstraße|Ringstraße|Mühlenweg|Goethestraße|
Schillerstraße|Friedrichstraße|Rosenweg|Amselweg|Ahornweg|Eichendorffstraße|Am Markt|
Am Mühlbach|Im Winkel|An der Alster|Karl-Marx-Allee|Kastanienallee|Parkstraße|Feldweg|
Sonnenstraße|Lessingstr.|Hamburger Straße|Berliner Allee|Kölner Str.|Poststraße|Marktplatz|
Rathausplatz|Luisenstraße|Schlossallee|Uhlandstraße|Kurfürstendamm|Wilhelmstraße|Neuer Wall|
Jungfernstieg|Hohenzollernring|Am Sandtorkai|Elbchaussee|Fischerweg|Tulpenweg|Ulmenstraße|
Unter den Linden|Königsallee|Zeil|Sendlinger Straße|Leopoldstraße|Prinzregentenplatz""".replace(
    "\n", ""
).split("|")
STREETS_AT = """Mariahilfer Straße|Landstraßer Hauptstraße|Praterstraße|Wiedner Hauptstraße|
Ottakringer Straße|Getreidegasse|Herrengasse|Kärntner Straße|Linzer Gasse|Annenstraße|
Favoritenstraße|Thaliastraße|Schönbrunner Straße|Maria-Theresien-Straße""".replace("\n", "").split(
    "|"
)
STREETS_CH = """Bahnhofstrasse|Seestrasse|Dorfstrasse|Hauptstrasse|Kirchgasse|Rennweg|Limmatquai|
Marktgasse|Spitalgasse|Zürichstrasse|Bernstrasse|Gerechtigkeitsgasse|Seefeldstrasse|
Badenerstrasse|Langstrasse""".replace("\n", "").split("|")
CITIES_DE = [
    ("20095", "Hamburg"),
    ("10115", "Berlin"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("60311", "Frankfurt am Main"),
    ("70173", "Stuttgart"),
    ("40213", "Düsseldorf"),
    ("04109", "Leipzig"),
    ("01067", "Dresden"),
    ("30159", "Hannover"),
    ("28195", "Bremen"),
    ("90402", "Nürnberg"),
    ("44135", "Dortmund"),
    ("45127", "Essen"),
    ("24103", "Kiel"),
    ("79098", "Freiburg"),
    ("69117", "Heidelberg"),
    ("18055", "Rostock"),
    ("99084", "Erfurt"),
    ("66111", "Saarbrücken"),
]
CITIES_AT = [
    ("1060", "Wien"),
    ("1010", "Wien"),
    ("1030", "Wien"),
    ("5020", "Salzburg"),
    ("8010", "Graz"),
    ("4020", "Linz"),
    ("6020", "Innsbruck"),
    ("9020", "Klagenfurt"),
]
CITIES_CH = [
    ("8001", "Zürich"),
    ("3011", "Bern"),
    ("4051", "Basel"),
    ("1201", "Genf"),
    ("6003", "Luzern"),
    ("9000", "St. Gallen"),
    ("8400", "Winterthur"),
]
STREETS_UK = """Downing Street|Baker Street|Abbey Road|Church Lane|Victoria Road|Station Road|
High Street|Park Avenue|Mill Lane|Queen's Road|King Street|Oxford Road|Manor Close|
Elm Grove|Westbourne Terrace|Kensington Gardens|Albert Square|Chapel Walk|Orchard Way|
Meadow Drive""".replace("\n", "").split("|")
CITIES_UK = [
    ("London", "SW1A 2AA"),
    ("London", "NW1 6XE"),
    ("Manchester", "M1 1AE"),
    ("Leeds", "LS1 4DY"),
    ("Bristol", "BS1 5TR"),
    ("Edinburgh", "EH1 1YZ"),
    ("Cardiff", "CF10 1EP"),
    ("Liverpool", "L1 8JQ"),
    ("Oxford", "OX1 2JD"),
    ("Brighton", "BN1 1UG"),
]
STREETS_US = """Pennsylvania Ave NW|Main Street|Oak Street|Maple Avenue|Elm St|Sunset Blvd|
Washington Street|Park Ave|Lake Shore Drive|Broadway Ave|Cedar Lane|Pine Street|Market St|
Mission Street|Ocean Drive|Peachtree Road|Michigan Avenue|Highland Ave|Willow Way|
Jefferson Blvd""".replace("\n", "").split("|")
CITIES_US = [
    ("Washington", "DC", "20500"),
    ("Springfield", "IL", "62701"),
    ("Austin", "TX", "78701"),
    ("Portland", "OR", "97205"),
    ("Denver", "CO", "80202"),
    ("Boston", "MA", "02108"),
    ("Seattle", "WA", "98101"),
    ("Chicago", "IL", "60601"),
    ("Miami", "FL", "33101"),
    ("San Francisco", "CA", "94103"),
]

EMAILS = [
    "anna.schmidt@example.de",
    "j.doe+shop@mail.example.com",
    "lukas_m@web-mail.example",
    "petra.krueger@posteo.example.de",
    "m.huber@gmx.example.at",
    "reto.frei@bluewin.example.ch",
    "olivia.taylor@example.co.uk",
    "tyler99@example.net",
    "info@meyer-handwerk.example.de",
    "kontakt@familie-becker.example",
    "s.mueller1985@example.org",
    "jenny.w@example.io",
]
PHONES = [
    "030 12345678",
    "+49 171 2345678",
    "0171/2345678",
    "+44 20 7946 0958",
    "0151 23456789",
    "089 / 123 456 78",
    "+43 1 5123456",
    "+41 44 668 18 00",
    "0049 40 30 60 00",
    "(030) 901820",
    "0176-12345678",
    "+1 202 555 0143",
    "0221 2345678",
    "07071 123456",
    "+49 (0)69 2475 0",
]
IBANS = [
    "DE89 3704 0044 0532 0130 00",
    "GB82WEST12345698765432",
    "DE02120300000000202051",
    "AT61 1904 3002 3457 3201",
    "CH93 0076 2011 6238 5295 7",
    "DE44 5001 0517 5407 3249 31",
    "DE12 5001 0517 0648 4898 90",
    "AT48 3200 0000 1234 5864",
    "NL91 ABNA 0417 1643 00",
    "FR14 2004 1010 0505 0001 3M02 606",
]
CARDS = [
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "4012888888881881",
    "3782 822463 10005",
    "6011 1111 1111 1117",
    "5105 1051 0510 5100",
    "4242 4242 4242 4242",
    "3530111333300000",
    "2223 0031 2200 3222",
    "4000 0566 5566 5556",
]
DOB_DATES_DE = [
    "12.03.1985",
    "1.7.1962",
    "24.12.1990",
    "03.05.78",
    "17. März 1988",
    "29.02.1996",
    "8. August 1971",
    "1984-11-02",
    "30.06.2001",
    "15.01.1955",
]
DOB_DATES_EN = [
    "12/03/1985",
    "March 12, 1985",
    "7 July 1962",
    "1990-12-24",
    "3rd May 1978",
    "05/17/1988",
    "August 8, 1971",
    "29 February 1996",
    "11/02/1984",
    "Jan 15, 1955",
]
PRODUCTS = [
    "Lindenweg Sessel",
    "Anna Tischleuchte",
    "Paul Hewitt Armband",
    "Tom Tailor Jeans",
    "Galaxy S24",
    "Hauptstadt-Tasse",
    "Marie Kondo Box",
    "Jack Wolfskin Jacke",
    "Bergstraße Riesling",
    "Victoria Sponge Mix",
    "Oxford Hemd",
    "Lincoln Park Lampe",
    "Amelia Kleid",
    "Olivia Blazer",
    "Heidelberg Hocker",
    "Brooklyn Sofa",
]


def _rng_digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def national_ids(rng: random.Random) -> list[tuple[str, str]]:
    """(language hint, text with its cue) pairs; values chosen valid by python-stdnum."""
    out: list[tuple[str, str]] = []
    while len(out) < 8:
        v = rng.choice("123456789") + _rng_digits(rng, 10)
        if idnr.is_valid(v):
            out.append(("de", v if len(out) % 2 else f"{v[:2]} {v[2:5]} {v[5:8]} {v[8:]}"))
    while len(out) < 14:
        v = _rng_digits(rng, 3)
        birth = f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(40, 99)}"
        for c in "0123456789":
            if vnr.is_valid(v + c + birth):
                out.append(("de", f"{v}{c} {birth}"))
                break
    while len(out) < 20:
        body = "756" + _rng_digits(rng, 9)
        v = body + ean.calc_check_digit(body)
        assert ch_ssn.is_valid(v)
        out.append(("de", f"{v[:3]}.{v[3:7]}.{v[7:11]}.{v[11:]}"))
    out += [
        ("en", "AB 12 34 56 C"),
        ("en", "JG103759A"),
        ("en", "PE 92 04 31 D"),
        ("en", "536-90-4399"),
        ("en", "078-05-1121"),
        ("en", "212-09-9999"),
        ("de", "15 070649 C 103"),
        ("de", "65170839J003"),
    ]
    return out


def card_ok(v: str) -> bool:
    return luhn.is_valid(re.sub(r"\D", "", v))


assert all(iban.is_valid(v) for v in IBANS)
assert all(card_ok(v) for v in CARDS)

# Templates: {kind} is a personal value, {order}, {date}, {price}, {product}, {plz}
# are distractors. Lists per language.
DE_NEG = """Hallo, ich habe eine Frage zu meiner Bestellung {order}.
Wann kommt mein Paket? Bestellt am {date}, Bestellnummer {order}.
Ist der {product} noch lieferbar? Er kostet {price}.
Liefern Sie auch nach {plz}?
Die Rechnung RE-2026-{n5} ist doppelt abgebucht worden, bitte prüfen.
Danke für die schnelle Antwort!
Ich habe die Retoure am {date} abgeschickt, Sendungsnummer {order}.
Der {product} ist leider beschädigt angekommen, 2 Stück fehlen.
Gibt es den {product} auch in Größe 42?
Mein Gutschein über {price} funktioniert nicht.
Hier ist meine Bestellnummer: {order}
Hier ist das Foto vom Karton, Auftrag {order}.
Im Januar 2026 hatte ich schon mal bestellt, Kundennummer {n7}.
Am Montag 5 Pakete bekommen, aber nur 4 bestellt.
Die Lieferung zur Packstation 123 hat nicht geklappt.
Ich bin Stammkunde seit 2015 und sehr zufrieden.
Wie lange gilt das Angebot? Bis 31.12.2026?
Die Tracking-ID {n11} funktioniert nicht.
Können Sie mir die Rechnung vom {date} nochmal schicken?
Geht eine Rücksendung auch nach 30 Tagen?
Ich suche den Lindenweg-Bilderrahmen aus dem Katalog, Seite 12.
Ist die Bergstraße-Kollektion wieder da?
Viele Grüße und danke!
Danke, das hat geholfen.
Mein Geburtstag ist bald, kann ich bis {date} liefern lassen?
Die Artikelnummer ist {n10}, bitte um Info.
Wann öffnet die Filiale am Marktplatz? Um 9 Uhr?
Meine Bestellung {order} wurde zweimal berechnet: {price} und {price}.
Ich hätte gern einen Rückruf wegen meines Vertrags.
Das Paket liegt seit 3 Tagen im Paketshop in der Hauptstraße.
Funktioniert der Code SOMMER25 noch?
Die Lampe 'Anna' leuchtet nicht, Modell A-{n4}.
Ich habe 3 Mal angerufen und niemand ging ran.
Bitte stornieren Sie den Auftrag {order}.""".split("\n")
EN_NEG = """Hi, I have a question about order {order}.
When will my parcel arrive? I ordered it on {date}.
Is the {product} still in stock? It says {price} on the website.
Do you ship to {plz}? Thanks in advance.
Invoice INV-{n5} was charged twice, could you please check?
Thanks, that helped a lot!
How long does a return usually take? I sent it back on {date}.
I think this is Samsung's fault, not yours.
Is the {product} available in blue?
My voucher for {price} does not work, what can I do?
Here is my order number: {order}
This is the third time I'm asking about order {order}.
I'm not sure the size 10 fits, can I exchange it?
Is the Victoria Park store open on Sunday?
The tracking number {n11} shows nothing.
I ordered 2 items on {date} and got only 1.
Can you resend the invoice from {date}?
My birthday is next week, can it arrive by {date}?
Best regards and thanks again!
The item number is {n10}, please advise.
The Baker Street collection looks great, when is it back?
Order {order} was charged twice: {price} and {price}.
I am happy with the service, thank you.
Does the warranty cover 24 months?
This is urgent, the package has been stuck for 5 days.
My account shows 3 orders but I only placed 2.
Is the promo code WINTER20 still valid?
Could someone call me back about my subscription?""".split("\n")

DE_POS = {
    "email": [
        "Sie erreichen mich unter {email}, gern auch abends.",
        "Bitte schreiben Sie mir an {email}, danke!",
        "Meine neue Mailadresse ist {email}, bitte ändern.",
        "Rechnung bitte an {email} senden, Bestellung {order}.",
    ],
    "phone": [
        "Rufen Sie mich bitte unter {phone} an.",
        "Meine Nummer: {phone}, ab 17 Uhr erreichbar.",
        "Bei Rückfragen {phone} (mobil).",
        "Können Sie mich zurückrufen? {phone}",
    ],
    "iban": [
        "Meine Bankverbindung für die Erstattung: {iban}",
        "Bitte überweisen Sie den Betrag auf {iban}.",
        "IBAN: {iban}, Kontoinhaber wie Bestellung.",
    ],
    "card": [
        "Die Karte {card} wurde belastet, Bestellung {order}.",
        "Ich habe mit der Kreditkarte {card} bezahlt, aber nichts bekommen.",
    ],
    "address": [
        "Bitte liefern Sie an {address}.",
        "Meine neue Adresse: {address}",
        "Ich wohne jetzt in der {address}, bitte ändern Sie das.",
        "Das Paket sollte an {address} gehen, kam aber nicht an.",
        "Lieferadresse: {address}, Bestellung {order}.",
    ],
    "name": [
        "Hallo, mein Name ist {name} und ich habe eine Frage zur Bestellung {order}.",
        "Guten Tag, hier ist {name}. Wo bleibt mein Paket?",
        "Ich heiße {name} und habe am {date} bestellt.",
        "Wann kommt die Lieferung?\nViele Grüße\n{name}",
        "Bitte um Rückruf. Mit freundlichen Grüßen, {name}",
        "Danke für die Hilfe! Liebe Grüße, {name}",
        "Hallo, hier spricht {name}, ich warte noch auf die Gutschrift.",
    ],
    "birth_date": [
        "Ich bin geboren am {dob}, falls Sie das zur Prüfung brauchen.",
        "Geburtsdatum: {dob}, Kundennummer {n7}.",
        "Für die Ratenzahlung: geb. {dob}.",
    ],
    "national_id": [
        "Meine Steuer-ID ist {nid}, für die Rechnung.",
        "Sozialversicherungsnummer {nid}, bitte für das Formular.",
        "Hier die Identifikationsnummer: {nid}",
    ],
}
EN_POS = {
    "email": [
        "You can reach me at {email}, evenings are fine.",
        "Please email me at {email}, thanks!",
        "My new address for emails is {email}.",
        "Send the invoice to {email}, order {order}.",
    ],
    "phone": [
        "Please call me on {phone}.",
        "My number is {phone}, after 5pm is best.",
        "Call back at {phone} please.",
        "You can text me: {phone}",
    ],
    "iban": [
        "For the refund, my account is {iban}",
        "Please transfer the money to {iban}.",
        "IBAN {iban}, same name as the order.",
    ],
    "card": [
        "Card {card} was charged for order {order}.",
        "I paid with {card} but the payment failed.",
    ],
    "address": [
        "Please deliver to {address}.",
        "My new address is {address}",
        "The parcel should go to {address}, it never arrived.",
        "Shipping address: {address}, order {order}.",
    ],
    "name": [
        "Hi, my name is {name} and I have a question about order {order}.",
        "Hello, this is {name}. Where is my parcel?",
        "Hi there! I'm {first} and my order {order} is late.",
        "When will it arrive?\nBest regards,\n{name}",
        "Thanks for your help. Kind regards, {name}",
        "Any update? Cheers, {first}",
        "Good morning, my name's {name}, I ordered on {date}.",
    ],
    "birth_date": [
        "My date of birth is {dob}, for the account check.",
        "DOB: {dob}, customer since 2019.",
        "I was born on {dob}, if you need it.",
    ],
    "national_id": [
        "My SSN is {nid}, for the credit check.",
        "National Insurance number {nid}, for the form.",
        "Here is my tax ID: {nid}",
    ],
}


def person(rng: random.Random, lang: str) -> tuple[str, str]:
    region = rng.choice(["de", "atch"] if lang == "de" else ["en"])
    firsts = {"de": FIRST_DE, "atch": FIRST_ATCH, "en": FIRST_EN}[region]
    lasts = {"de": LAST_DE, "atch": LAST_ATCH, "en": LAST_EN}[region]
    first = rng.choice(firsts)
    return first, (first if rng.random() < 0.3 else f"{first} {rng.choice(lasts)}")


def address(rng: random.Random, lang: str) -> str:
    number = str(rng.randint(1, 180)) + (rng.choice("abc") if rng.random() < 0.15 else "")
    if lang == "de":
        form = rng.random()
        if form < 0.55:
            plz, city = rng.choice(CITIES_DE)
            street = rng.choice(STREETS_DE)
        elif form < 0.8:
            plz, city = rng.choice(CITIES_AT)
            street = rng.choice(STREETS_AT)
        else:
            plz, city = rng.choice(CITIES_CH)
            street = rng.choice(STREETS_CH)
        tail = rng.random()
        if tail < 0.25:
            return f"{street} {number}"
        return f"{street} {number}{',' if tail < 0.8 else ''} {plz} {city}"
    if rng.random() < 0.5:
        city, postcode = rng.choice(CITIES_UK)
        street = rng.choice(STREETS_UK)
        return f"{number} {street}" + (f", {city} {postcode}" if rng.random() < 0.7 else "")
    city, state, zipcode = rng.choice(CITIES_US)
    street = rng.choice(STREETS_US)
    return f"{number} {street}" + (f", {city}, {state} {zipcode}" if rng.random() < 0.7 else "")


def distractors(rng: random.Random, lang: str) -> dict[str, str]:
    plz, city = rng.choice(CITIES_DE + CITIES_AT + CITIES_CH)
    return {
        "order": rng.choice(
            [
                f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
                f"#{rng.randint(100000, 999999)}",
                f"A{rng.randint(10**7, 10**8 - 1)}",
                f"302-{_rng_digits(rng, 7)}-{_rng_digits(rng, 7)}",
            ]
        ),
        "date": rng.choice(
            [
                f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.2026",
                f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/2026",
                "Monday",
                "3 March",
            ]
        ),
        "price": f"{rng.randint(5, 499)},{rng.randint(0, 99):02d} €"
        if lang == "de"
        else f"£{rng.randint(5, 499)}.{rng.randint(0, 99):02d}",
        "product": rng.choice(PRODUCTS),
        "plz": f"{plz} {city}",
        "n4": _rng_digits(rng, 4),
        "n5": _rng_digits(rng, 5),
        "n7": _rng_digits(rng, 7),
        "n10": "1" + _rng_digits(rng, 9),
        "n11": "9" + _rng_digits(rng, 10),
    }


def compose(template: str, values: dict[str, tuple[str, str | None]]) -> dict:
    """Fill ``template``; values maps a field to (text, kind or None) and spans follow."""
    text, spans, pos = "", [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        text += template[pos : m.start()]
        value, kind = values[m.group(1)]
        if kind:
            spans.append({"kind": kind, "start": len(text), "end": len(text) + len(value)})
        text += value
        pos = m.end()
    text += template[pos:]
    return {"text": text, "spans": spans}


def message(rng: random.Random, ids: list[tuple[str, str]]) -> dict:
    lang = rng.choice(["de", "en"])
    d = distractors(rng, lang)
    values: dict[str, tuple[str, str | None]] = {k: (v, None) for k, v in d.items()}
    if rng.random() < 0.4:
        template = rng.choice(DE_NEG if lang == "de" else EN_NEG)
    else:
        kind = rng.choice(list(DE_POS))
        template = rng.choice((DE_POS if lang == "de" else EN_POS)[kind])
        first, name = person(rng, lang)
        values.update(
            {
                "email": (rng.choice(EMAILS), "email"),
                "phone": (rng.choice(PHONES), "phone"),
                "iban": (rng.choice(IBANS), "iban"),
                "card": (rng.choice(CARDS), "card"),
                "address": (address(rng, lang), "address"),
                "name": (name, "name"),
                "first": (first, "name"),
                "dob": (rng.choice(DOB_DATES_DE if lang == "de" else DOB_DATES_EN), "birth_date"),
                "nid": (rng.choice([v for hint, v in ids if hint == lang]), "national_id"),
            }
        )
    msg = compose(template, values)
    if rng.random() < 0.2:  # a second sentence, no personal data
        extra = compose(
            rng.choice(DE_NEG if lang == "de" else EN_NEG), {k: (v, None) for k, v in d.items()}
        )
        msg["text"] = extra["text"] + " " + msg["text"]
        msg["spans"] = [
            {
                **s,
                "start": s["start"] + len(extra["text"]) + 1,
                "end": s["end"] + len(extra["text"]) + 1,
            }
            for s in msg["spans"]
        ]
    msg["language"] = lang
    return msg


# Free messages written by hand: (text, [(kind, the personal value as it appears)]).
HANDWRITTEN: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Hallo! Anna Schmidt, Lindenweg 5, 20095 Hamburg. Wo bleibt mein Paket?",
        [("address", "Lindenweg 5, 20095 Hamburg")],
    ),
    (
        "hi, its me again lol. order still not here. i live at 42 Church Lane, Leeds LS1 4DY",
        [("address", "42 Church Lane, Leeds LS1 4DY")],
    ),
    ("Moin, hier ist Malte. Das Sofa passt nicht durch die Tür 😅", [("name", "Malte")]),
    (
        "Sehr geehrte Damen und Herren, mein Name lautet Ursula Gruber, geboren am 3.4.1951. "
        "Ich möchte mein Konto löschen.",
        [("name", "Ursula Gruber"), ("birth_date", "3.4.1951")],
    ),
    ("Please cancel everything. Regards, Megan", [("name", "Megan")]),
    ("Der Lindenweg-Couchtisch hat einen Kratzer, kann ich ihn zurückgeben?", []),
    ("Is Baker Street the nearest store? I want to pick up order #445812.", []),
    (
        "I'm Jessica, the parcel was left at 221 Baker Street, London NW1 6XE but I moved.",
        [("name", "Jessica"), ("address", "221 Baker Street, London NW1 6XE")],
    ),
    (
        "Grüezi, ich wohne an der Seestrasse 44, 8002 Zürich, und warte seit 2 Wochen.",
        [("address", "Seestrasse 44, 8002 Zürich")],
    ),
    (
        "Servus, Lieferung bitte an Praterstraße 17/4, 1020 Wien!",
        [("address", "Praterstraße 17/4, 1020 Wien")],
    ),
    ("Kundennummer 4711 0815, Bestellung vom 24.12.2025, bitte prüfen.", []),
    ("The date on the invoice (12/03/2026) is wrong.", []),
    ("Wir haben am 01.02.2026 geheiratet und möchten die Gutscheine einlösen.", []),
    ("Geht das Modell 'Emma' auch in 140x200?", []),
    ("Thanks! Best, Chloe", [("name", "Chloe")]),
    ("Bitte an Frau Johanna Keller weiterleiten, danke.", [("name", "Johanna Keller")]),
    ("The Abbey Road print (50x70) arrived torn.", []),
    ("Hauptstraße 1 ist unsere Filiale? Oder ist die geschlossen?", [("address", "Hauptstraße 1")]),
    ("My SSN? No, I won't give you that. Order 3391-2201.", []),
    ("Hier ist Ihre Bestellbestätigung als PDF?", []),
    ("This is Amazon's fault, not yours, sorry.", []),
    ("I'm Interested in the Galaxy S24, is it in stock?", []),
    ("Viele Grüße aus Berlin und schönes Wochenende!", []),
    ("Best regards from the whole family, and thanks.", []),
    ("Die Hauptstraße ist gesperrt, liefern Sie trotzdem?", []),
    ("Ist das Geburtstagsgeschenk bis zum 14.02.2026 da?", []),
    ("Das Model 3 Mountain Bike ist super, aber die Klingel fehlt.", []),
    ("Wir sind 4 Personen und bleiben am Marktplatz 3 Nächte, geht Abholung?", []),
    ("Größe 38, Farbe Rot, 2 Stück, Artikel 88213.", []),
    ("Der Rosenweg-Kalender 2027 ist ausverkauft?", []),
    ("Can I return the Oxford shirt after 30 days?", []),
    ("Ich habe 2 Bahnhofstraße-Poster bestellt, aber 3 bekommen.", []),
    ("Bestellt am 3. März 2026, geliefert am 9. März 2026.", []),
    ("This is fine, thanks. Order 5512-0042 can be closed.", []),
    ("Am Samstag 10 Uhr passt mir die Lieferung.", []),
    ("Der Artikel 'Lindenweg' hat 5 Sterne verdient.", []),
    ("I live on Park Avenue, do you deliver there?", []),
    ("Die Lieferung an die Packstation 145 in 20095 Hamburg klappt nicht.", []),
    ("Danke, Team! Ihr seid super.", []),
    ("Hallo, ich bin Kundin seit Jahren, Kundennummer 88-1234.", []),
    ("My tracking code is 1Z999AA10123456784, is that right?", []),
    ("Rechnungsnummer 2026-000123, Betrag 1.234,56 €.", []),
    ("Der Tisch 'Hamburg' in 160 x 90 cm, noch da?", []),
    ("Ich heiße Sie herzlich willkommen zu unserem Gewinnspiel? Nein, Spaß.", []),
    ("Mein Name ist Hase, ich weiß von nichts. Bestellung 4411-2093!", [("name", "Hase")]),
    ("hallo mein name ist jonas müller wo ist mein paket", [("name", "jonas müller")]),
    ("Hi this is sarah, pls call back", [("name", "sarah")]),
    (
        "Bitte an Hr. Dr. Thomas Wagner, Goethestraße 12, 60311 Frankfurt am Main.",
        [("name", "Thomas Wagner"), ("address", "Goethestraße 12, 60311 Frankfurt am Main")],
    ),
    (
        "Lieferung an: Familie Brandt, Am Mühlbach 7, 79098 Freiburg",
        [("name", "Brandt"), ("address", "Am Mühlbach 7, 79098 Freiburg")],
    ),
    (
        "Shipping to Apt 4B, 350 Fifth Avenue, New York, NY 10118 please",
        [("address", "350 Fifth Avenue, New York, NY 10118")],
    ),
    (
        "Anschrift: Kärntner Straße 21-23, 1010 Wien",
        [("address", "Kärntner Straße 21-23, 1010 Wien")],
    ),
    (
        "Kontakt: Sabine Huber, sabine.huber@example.at, +43 664 1234567",
        [
            ("name", "Sabine Huber"),
            ("email", "sabine.huber@example.at"),
            ("phone", "+43 664 1234567"),
        ],
    ),
    (
        "My wife Olivia placed the order, she is at 12 Elm Grove, Bristol BS1 5TR.",
        [("name", "Olivia"), ("address", "12 Elm Grove, Bristol BS1 5TR")],
    ),
    ("Geb.-Datum 02.09.1979, Kundennr. 55102", [("birth_date", "02.09.1979")]),
    ("I was born 4 July 1976 and I'm over 18, obviously.", [("birth_date", "4 July 1976")]),
    (
        "Die Erstattung bitte an DE89370400440532013000, Inhaber Lukas Becker.",
        [("iban", "DE89370400440532013000"), ("name", "Lukas Becker")],
    ),
    ("Ich bin Frieda, 82 Jahre alt, und komme mit dem Computer nicht klar.", [("name", "Frieda")]),
    ("Hello, I am Ethan Walker and I need the invoice again.", [("name", "Ethan Walker")]),
    (
        "Meine AHV-Nummer ist 756.1234.5678.97, für die Versicherung.",
        [("national_id", "756.1234.5678.97")],
    ),
]


# Written after the detector was tuned on everything above and never tuned on
# (one general fix, a title after a greeting, was made after seeing them):
# marked "set": "fresh", and reported separately by bench/redaction.py, as
# the closer estimate of recall on real messages.
FRESH: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Guten Abend, ich bin die Frau Meier aus der Kastanienallee 12 in 10435 Berlin.",
        [("name", "Meier"), ("address", "Kastanienallee 12 in 10435 Berlin")],
    ),
    ("hey its Tom here, the blender broke after 2 weeks", [("name", "Tom")]),
    (
        "Schicken Sie die Ware bitte an Ringstr. 4b, 24103 Kiel",
        [("address", "Ringstr. 4b, 24103 Kiel")],
    ),
    ("pls send to 77 Oak Street Apt 3, Portland, OR 97205", [("address", "77 Oak Street")]),
    ("Mein Mann heißt Gerd und hat bestellt.", [("name", "Gerd")]),
    ("Geboren bin ich am 5. Mai 1960, brauchen Sie das?", [("birth_date", "5. Mai 1960")]),
    ("My birthday is 14/02/1991 so the gift must arrive before.", [("birth_date", "14/02/1991")]),
    ("Unterschrift: Katharina Vogel", [("name", "Katharina Vogel")]),
    ("LG Jana", [("name", "Jana")]),
    ("cheers mate, Dave", [("name", "Dave")]),
    (
        "Ich wohne Auf der Höhe 3, 51429 Bergisch Gladbach",
        [("address", "Auf der Höhe 3, 51429 Bergisch Gladbach")],
    ),
    ("Anschrift Sonnenallee 221, Berlin", [("address", "Sonnenallee 221")]),
    ("I'm Sorry to bother you again about order 5541.", []),
    ("Hier ist Frau Dr. Lehmann, Praxis am Markt.", [("name", "Lehmann")]),
    ("Ist die Schlossallee im Monopoly-Set enthalten? 2 Stück bitte.", []),
    ("Do you still sell the Harry Potter box, item 4471?", []),
    ("Mit freundlichen Grüßen\nDr. Ingrid Sauer", [("name", "Ingrid Sauer")]),
    ("This is Kevin, my card ending 4242 was charged twice.", [("name", "Kevin")]),
    (
        "Please ship to: Flat 2, 18 Victoria Road, Cardiff CF10 1EP",
        [("address", "18 Victoria Road, Cardiff CF10 1EP")],
    ),
    ("Meine Steuernummer 21/815/08150 brauchen Sie nicht, oder?", []),
    ("Die Bestellung 2024 12345 678 ist falsch.", []),
    ("Am 24. Dezember 1980 geboren, also 45.", [("birth_date", "24. Dezember 1980")]),
    ("Hallo ich bin Lea und 12 Jahre alt, darf ich bestellen?", [("name", "Lea")]),
    ("The Jack Daniels gift set is sold out?", []),
    ("Lieferung an die Goethestraße, Hausnummer weiß ich nicht.", []),
]


def main() -> None:
    rng = random.Random(SEED)
    ids = national_ids(rng)
    messages = [message(rng, ids) for _ in range(TARGET)]
    for text, parts in HANDWRITTEN:
        spans = []
        for kind, part in parts:
            start = text.index(part)
            spans.append({"kind": kind, "start": start, "end": start + len(part)})
        messages.append({"text": text, "spans": spans, "language": "mixed"})
    for text, parts in FRESH:
        spans = []
        for kind, part in parts:
            start = text.index(part)
            spans.append({"kind": kind, "start": start, "end": start + len(part)})
        messages.append({"text": text, "spans": spans, "language": "mixed", "set": "fresh"})
    with open(HERE / "corpus.jsonl", "w", encoding="utf-8") as out:
        for msg in messages:
            out.write(json.dumps(msg, ensure_ascii=False) + "\n")
    print(f"{len(messages)} messages written")


if __name__ == "__main__":
    main()
